"""What a terraform leaves in its process group when it is killed or exits on a second interrupt: its
provider plugins, still running. The recovery pass kills them once terraform itself has stopped, and
nothing else: not a group whose leader runs, not a group with anything but terraform's in it. Real
processes, named as terraform's are."""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from portal.runner.terraform import command_name, group_alive, group_members, reap_group, running


@pytest.fixture
def named(tmp_path):
    """`sleep` under another name: what `ps` and /proc show as the program's name."""

    def copy(name: str) -> str:
        path = tmp_path / name
        shutil.copy(shutil.which("sleep"), path)
        return str(path)

    return copy


def left_by_a_leader(program: str, *, leader_stays: bool = False) -> int:
    """A process group whose leader (a shell, as terraform would be) starts `program` in it, then
    exits (or stays); the group's id."""
    script = f"'{program}' 300 & " + ("sleep 300" if leader_stays else "exit 0")
    leader = subprocess.Popen(["sh", "-c", script], start_new_session=True)
    if not leader_stays:
        leader.wait()
    name = Path(program).name
    assert within(lambda: any(command_name(pid) == name for pid in group_members(leader.pid))), f"{name} to start"
    return leader.pid


def within(condition, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def stopped(pgid: int) -> bool:
    """Nothing of the group runs (a killed orphan may stay a zombie until init reaps it)."""
    return within(lambda: not any(running(pid) for pid in group_members(pgid)))


def test_the_providers_left_by_a_stopped_terraform_are_killed(named):
    pgid = left_by_a_leader(named("terraform-provider-aws_v5.100.0_x5"))
    assert group_alive(pgid) and not running(pgid), "the leader gone, its provider left"

    assert reap_group(pgid) is True
    assert stopped(pgid)
    assert reap_group(pgid) is False, "nothing left the second time"


def test_a_group_whose_leader_runs_is_left_to_the_interrupt(named):
    pgid = left_by_a_leader(named("terraform-provider-aws_v5.100.0_x5"), leader_stays=True)
    try:
        assert reap_group(pgid) is False
        assert group_alive(pgid)
    finally:
        os.killpg(pgid, signal.SIGKILL)


def test_a_group_with_anything_but_terraform_in_it_is_not_killed(named):
    pgid = left_by_a_leader(named("not-terraform"))
    try:
        assert reap_group(pgid) is False
        assert group_alive(pgid)
    finally:
        os.killpg(pgid, signal.SIGKILL)


def test_the_sessions_sweep_finds_what_still_works_in_its_workspaces(named, tmp_path):
    """tests/processes.working_in, asked at the end of every session (tests/conftest.py): terraform's
    processes carry no session mark, so they are found by the folder they work in."""
    from tests.processes import working_in

    workspace = tmp_path / "workspaces" / "ecs" / "ecr-repositories" / "left"
    workspace.mkdir(parents=True)
    stray = subprocess.Popen([named("terraform-provider-aws_v5.100.0_x5"), "300"], cwd=workspace, start_new_session=True)
    try:
        # Popen returns once the child has closed its descriptors in exec, a moment before the kernel
        # sets its new command line: on a busy machine /proc showed it empty.
        assert within(lambda: any(p["cmdline"] for p in working_in(str(tmp_path / "workspaces")))), "the stray's command line"
        found = working_in(str(tmp_path / "workspaces"))
        assert [p["pid"] for p in found] == [stray.pid] and "terraform-provider-aws" in found[0]["cmdline"]
        assert working_in(str(tmp_path / "elsewhere")) == []
    finally:
        stray.kill()
        stray.wait()


def test_the_recovery_pass_kills_providers_whose_terraform_is_gone_and_only_those(named, tmp_path, settings):
    """A worker stopped during a drift check leaves its terraform's providers running, and no run
    records that terraform: the pass finds them by what they are (a provider plugin, working in the
    portal's workspaces, whose parent is no terraform) and kills them. A provider whose terraform
    still runs, or one working elsewhere, is left alone."""
    from portal.runner.recovery import reap_orphaned_providers

    settings.WORKSPACES_DIR = tmp_path / "workspaces"
    settings.TERRAFORM_BIN = "terraform"
    check = settings.WORKSPACES_DIR / ".drift" / "ecs" / "ecr-repositories" / "left"
    check.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    provider = named("terraform-provider-aws_v5.100.0_x5")
    shutil.copy(shutil.which("sh"), tmp_path / "terraform")

    def started(cwd, leader: list[str]) -> int:
        """The provider's pid, started by `leader` in `cwd`."""
        process = subprocess.Popen([*leader, f"'{provider}' 300 & echo $!; wait"], cwd=cwd, stdout=subprocess.PIPE, text=True, start_new_session=True)
        return int(process.stdout.readline())

    orphan = started(check, ["sh", "-c"])
    # Its terraform (here a shell) gone: the provider is reparented.
    parent = psutil_parent(orphan)
    os.kill(parent, signal.SIGKILL)
    assert within(lambda: psutil_parent(orphan) != parent), "the provider to be reparented"
    working = started(check, [str(tmp_path / "terraform"), "-c"])
    outside = started(elsewhere, ["sh", "-c"])
    os.kill(psutil_parent(outside), signal.SIGKILL)
    try:
        assert command_name(psutil_parent(working)) == "terraform"

        assert reap_orphaned_providers() == [orphan]
        assert within(lambda: not running(orphan))
        assert running(working) and running(outside)
        assert reap_orphaned_providers() == [], "nothing left the second time"
    finally:
        for pid in (orphan, working, outside):
            try:
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass


def psutil_parent(pid: int) -> int:
    return psutil.Process(pid).ppid()
