"""A drift check's terraform runs below the runs people wait for: started by the real check
(`portal.drift.checks.run_check`) through the real runner, with a stand-in for the terraform binary that
writes down the CPU priority it was started with. A user's plan, through the same runner, keeps the
worker's own priority (tests/unit/runner/test_terraform_processes.py)."""

import os
import stat

import pytest

from portal.drift import checks
from portal.workspaces.identities import RunIdentity
from tests.integration.drift.test_drift import applied_workspace

pytestmark = pytest.mark.django_db

STAND_IN = """#!/bin/sh
echo "$1 $(cut -d' ' -f19 /proc/self/stat)" >> {record}
if [ "$1" = init ]; then mkdir -p .terraform; fi
exit 0
"""


def test_a_drift_checks_terraform_runs_at_a_lower_cpu_priority(monkeypatch, settings, tmp_path):
    record = tmp_path / "priorities"
    terraform = tmp_path / "terraform"
    terraform.write_text(STAND_IN.format(record=record))
    terraform.chmod(terraform.stat().st_mode | stat.S_IXUSR)
    settings.TERRAFORM_BIN = str(terraform)
    workspace = applied_workspace("ecs/ecr-repositories/nice")
    monkeypatch.setattr(
        checks,
        "identity_for",
        lambda workspace, session_name: RunIdentity(
            service_type="ecr",
            role_arn="arn:aws:iam::123456789012:role/portal-ecr-admin",
            state_role_arn="arn:aws:iam::123456789012:role/portal-ecr-state",
            session_name=session_name,
            state_key=workspace.state_key,
            shared_state_keys=(),
        ),
    )

    check = checks.run_check(workspace.pk)

    assert check is not None and check.error == "" and not check.drifted  # the stand-in's plan: exit 0, no changes
    own = os.getpriority(os.PRIO_PROCESS, 0)
    commands = [line.split() for line in record.read_text().splitlines()]
    assert [command for command, _ in commands] == ["init", "plan"]
    assert all(int(priority) == min(own + checks.NICENESS, 19) > own for _, priority in commands)
