"""How the portal starts terraform (portal/runner/terraform.py `spawn`), seen from the started process
itself: a real child (`sh`, standing in for terraform) reports its own CPU priority and the Go runtime
setting it was given. No terraform, no server."""

import os
import subprocess

import pytest

from portal.runner.terraform import spawn

REPORT = 'echo "$(cut -d" " -f19 /proc/self/stat) ${GOGC:-unset}"'


def reported(tmp_path, **options) -> tuple[int, str]:
    process = spawn(["sh", "-c", REPORT], tmp_path, stdout=subprocess.PIPE, **options)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    nice, gogc = out.split()
    return int(nice), gogc


def own_niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, 0)


def test_terraform_gets_the_portals_gogc_and_the_callers_priority_by_default(tmp_path, settings):
    settings.TERRAFORM_GOGC = 250
    assert reported(tmp_path) == (own_niceness(), "250")


def test_background_work_runs_terraform_at_a_lower_priority_and_its_children_inherit_it(tmp_path):
    before = own_niceness()
    nice, _ = reported(tmp_path, niceness=10)
    assert nice == min(own_niceness() + 10, 19)
    # What the provider plugins see: a grandchild, as terraform starts them.
    process = spawn(["sh", "-c", f"sh -c '{REPORT}'"], tmp_path, niceness=10, stdout=subprocess.PIPE)
    out, _ = process.communicate(timeout=30)
    assert int(out.split()[0]) == min(own_niceness() + 10, 19)
    assert own_niceness() == before, "the portal's own priority is left alone"


def test_with_autogroups_the_background_sessions_group_is_lowered_too(tmp_path):
    """Linux schedules each session's autogroup against the others by the group's nice (sched(7)); a
    terraform in a session of its own is only yielding to others when its group is lowered."""
    if not os.path.exists("/proc/self/autogroup"):
        pytest.skip("this kernel has no autogroups; the process's nice is what counts")
    process = spawn(["cat", "/proc/self/autogroup"], tmp_path, niceness=10, stdout=subprocess.PIPE)
    out, _ = process.communicate(timeout=30)
    assert out.split()[-1] == "10", out
    process = spawn(["cat", "/proc/self/autogroup"], tmp_path, stdout=subprocess.PIPE)
    out, _ = process.communicate(timeout=30)
    assert out.split()[-1] == "0", out
