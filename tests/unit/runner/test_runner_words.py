"""What the runner says, from pure functions: how a dead work-horse died (portal/runner/worker.py), what
a stopped terraform command was and how it stopped (portal/runner/terraform.py). No database, no
terraform: the branches that move runs are in tests/integration/runner/test_runner_branches.py."""

import signal

import pytest

from portal.runner.terraform import TerraformStopped
from portal.runner.worker import death_signal


@pytest.mark.parametrize(
    "status, says",
    [
        (None, ""),
        (0, ""),  # exited, no signal
        (1 << 8, ""),  # exit code 1
        (signal.SIGKILL, ", killed by signal 9, as the out-of-memory killer does"),
        (signal.SIGTERM, ", killed by signal 15"),
    ],
)
def test_a_work_horses_death_names_the_signal_and_the_oom_killer_only_for_a_kill_9(status, says):
    assert death_signal(status) == says


@pytest.mark.parametrize(
    "reason, killed, says",
    [
        ("cancelled", False, "terraform apply was cancelled; it was interrupted and stopped"),
        ("cancelled", True, "terraform apply was cancelled; it did not stop within 7 s of the interrupt and was killed"),
        ("timed_out", False, "terraform apply ran past its timeout of 25 s; it was interrupted and stopped"),
    ],
)
def test_a_stopped_command_says_why_and_whether_it_had_to_be_killed(settings, reason, killed, says):
    settings.TERRAFORM_COMMAND_TIMEOUT, settings.TERRAFORM_INTERRUPT_GRACE = 25, 7

    stopped = TerraformStopped("apply", reason, killed)

    assert str(stopped) == says
    assert (stopped.reason, stopped.killed) == (reason, killed)
