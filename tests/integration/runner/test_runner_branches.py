"""The worker's own branches (portal/runner/execution.py), each driven with a fake terraform: what a plan
and an apply do when the identity is refused, the saved plan is missing or altered, the inputs changed
since the plan, terraform fails, is stopped or says nothing, or the portal itself fails.

The fake stands in at one seam, `portal.runner.execution.Terraform` (the class the worker runs every
command through), and writes, prints and answers what each test scripts. The runs, their saved plans
and their changes are real rows in PostgreSQL; no terraform, no worker process, no AWS call. What the
real terraform does under the same steps is in tests/e2e/runner/."""

import json
import zipfile

import pytest

from portal.changes import workflow
from portal.runner import execution
from portal.runner.terraform import TerraformError, TerraformStopped
from portal.runs.models import Change, Run, RunStatus, SavedPlan
from portal.workspaces.identities import Refusal, RunIdentity
from portal.workspaces.layout import iam_admins_path
from portal.workspaces.models import Workspace
from portal.workspaces.modules import module_digest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("parked_queue")]

PLAN_BYTES = b"a saved plan, as terraform writes it"
PLANS_TWO = "\n  # aws_ecr_repository.this will be created\n\nPlan: 2 to add, 0 to change, 1 to destroy.\n"
SHOW = {
    "resource_changes": [
        {
            "address": "aws_ecr_repository.this",
            "type": "aws_ecr_repository",
            "name": "this",
            "change": {"actions": ["create"], "before": None, "after": {"name": "x"}, "after_unknown": {}},
        }
    ]
}


class FakeTerraform:
    """Stands in for portal.runner.terraform.Terraform: the same constructor and the same three calls
    (init, run, capture), scripted by the test through `script`."""

    def __init__(self, script, workdir, on_output, *, stop=None, on_process=None):
        self.script, self.workdir, self.on_output, self.stop = script, workdir, on_output, stop

    def init(self, state_key, module=None, identity=None):
        self.script.calls.append(("init", state_key))

    def run(self, command, *args, **options):
        self.script.calls.append((command, args))
        self.on_output(f"$ terraform {command}\n")
        if command in self.script.failures:
            raise self.script.failures[command]
        if command == "plan":
            with open(options["out"], "wb") as plan:
                plan.write(self.script.plan_bytes)
            if self.script.cancel_during_plan:
                self.stop.set()  # a cancel that arrives while the command finishes
            return self.script.plan_output
        if command == "apply":
            with open(args[0], "rb") as plan:
                self.script.applied.append(plan.read())
        return ""

    def capture(self, command, *args, **options):
        self.script.calls.append((command, args))
        if command in self.script.failures:
            raise self.script.failures[command]
        if command == "show":
            return json.dumps(SHOW)
        if command == "output":
            return json.dumps({"repository_url": {"value": "x.dkr.ecr/x"}, "token": {"value": "s3cret", "sensitive": True}})
        raise AssertionError(f"the worker asked the fake for terraform {command}")


class Script:
    def __init__(self):
        self.calls, self.applied, self.failures = [], [], {}
        self.plan_output = PLANS_TWO
        self.plan_bytes = PLAN_BYTES
        self.cancel_during_plan = False

    def commands(self) -> list[str]:
        return [call[0] for call in self.calls]


@pytest.fixture
def terraform(monkeypatch):
    """The fake terraform at the worker's seam; the test scripts it, and reads what it was asked."""
    script = Script()
    monkeypatch.setattr(execution, "Terraform", lambda *args, **kwargs: FakeTerraform(script, *args, **kwargs))
    return script


def identity_of(run: Run, role: str = "admin") -> RunIdentity:
    return RunIdentity(
        service_type="ecr",
        role_arn=f"arn:aws:iam::123456789012:role/portal-ecr-{role}",
        state_role_arn="arn:aws:iam::123456789012:role/portal-ecr-state",
        session_name=f"portal-run-{run.pk}",
        state_key=run.workspace.state_key,
        shared_state_keys=(),
    )


@pytest.fixture
def identity(monkeypatch):
    """The run's identity without asking AWS for the account: an ecr administrator's roles."""
    monkeypatch.setattr(execution, "acting_as", identity_of)


@pytest.fixture
def no_policy_checks():
    """The plan's policy check (checkov, a receiver of plan_read) belongs to tests/e2e/policy."""
    from portal.policy import checks

    execution.plan_read.disconnect(dispatch_uid="portal.policy.check_plan")
    yield
    execution.plan_read.connect(checks.check_plan, dispatch_uid="portal.policy.check_plan")


@pytest.fixture
def proposed(people):
    """A proposed change of one ECR repository's workspace: its run queued for a plan."""
    workspace = Workspace.objects.create(path="ecs/ecr-repositories/art-service-branches", module="ecr-repository", variables={"name": "art-service-branches"})
    change = workflow.propose("One repository", [(workspace, workspace.variables)], people["admin"])
    return change.runs_in_order()[0]


def reread(run: Run) -> Run:
    return Run.objects.select_related("change").get(pk=run.pk)


@pytest.fixture
def approved(proposed, terraform, identity, no_policy_checks, people):
    """The run planned by the fake and approved by another admin: queued for its apply."""
    execution.execute_run(str(proposed.pk))
    assert reread(proposed).status == RunStatus.AWAITING_APPROVAL
    workflow.approve(reread(proposed).change, people["other-admin"])
    run = reread(proposed)
    assert run.status == RunStatus.APPROVED
    terraform.calls.clear()
    return run


# --- the plan ----------------------------------------------------------------------------------------
def test_a_plan_records_terraforms_counts_keeps_the_plan_and_offers_it(proposed, terraform, identity, no_policy_checks):
    execution.execute_run(str(proposed.pk))

    run = reread(proposed)
    assert run.status == RunStatus.AWAITING_APPROVAL, run.log
    assert (run.to_add, run.to_change, run.to_destroy) == (2, 0, 1)
    assert terraform.commands() == ["init", "plan", "show"]
    assert bytes(SavedPlan.objects.get(run=run).content) == PLAN_BYTES
    assert [change["address"] for change in run.plan_changes] == ["aws_ecr_repository.this"]
    assert "Acting as the ecr administrator" in run.log
    assert run.module_sha256 == module_digest("ecr-repository"), "the version of the module the plan was made with"


def test_a_plan_with_no_changes_is_not_shown_to_the_review_and_offers_nothing(proposed, terraform, identity, no_policy_checks):
    terraform.plan_output = "\nNo changes. Your infrastructure matches the configuration.\n"

    execution.execute_run(str(proposed.pk))

    run = reread(proposed)
    assert run.status == RunStatus.NO_CHANGES, run.log
    assert "show" not in terraform.commands()


def test_a_plan_whose_output_says_nothing_of_what_it_plans_fails(proposed, terraform, identity, no_policy_checks):
    terraform.plan_output = "something else entirely\n"

    execution.execute_run(str(proposed.pk))

    run = reread(proposed)
    assert run.status == RunStatus.FAILED
    assert run.error == f"terraform plan finished without saying what it plans to do. {execution.FAILURE_HINTS['plan']}"


def test_a_plan_without_an_identity_for_its_type_fails_with_the_reason_and_runs_no_terraform(proposed, terraform):
    # The administrators declared name no ecr one: the real identity_for refuses, before any AWS call.
    Workspace.objects.create(path=iam_admins_path(), module="iam-service-admins", variables={"administrators": {"s3": {"name_patterns": ["*"]}}})

    execution.execute_run(str(proposed.pk))

    run = reread(proposed)
    assert run.status == RunStatus.FAILED
    assert "There is no ecr administrator" in run.error and "Administrators page" in run.error
    assert terraform.calls == []


def test_a_failing_terraform_fails_the_plan_with_what_to_do(proposed, terraform, identity):
    terraform.failures["plan"] = TerraformError("terraform plan exited with code 1")

    execution.execute_run(str(proposed.pk))

    run = reread(proposed)
    assert run.status == RunStatus.FAILED
    assert run.error == f"terraform plan exited with code 1. {execution.FAILURE_HINTS['plan']}"
    assert not SavedPlan.objects.filter(run=run).exists()


def test_a_policy_check_that_raises_fails_the_plan(proposed, terraform, identity, no_policy_checks):
    def broken_check(sender, run, plan, log, **kwargs):
        raise TerraformError("the check could not run")

    execution.plan_read.connect(broken_check, dispatch_uid="test-broken-check")
    try:
        execution.execute_run(str(proposed.pk))
    finally:
        execution.plan_read.disconnect(dispatch_uid="test-broken-check")

    run = reread(proposed)
    assert run.status == RunStatus.FAILED and "the check could not run" in run.error


def test_a_cancel_while_the_plan_finishes_cancels_the_run_and_offers_no_plan(proposed, terraform, identity, no_policy_checks):
    terraform.cancel_during_plan = True

    execution.execute_run(str(proposed.pk))

    run = reread(proposed)
    assert run.status == RunStatus.CANCELLED
    assert run.error.startswith("Cancelled by someone during the plan: terraform plan was cancelled")
    assert run.error.endswith(execution.CANCEL_HINTS["plan"])
    assert run.change.outcome == Change.Outcome.ABANDONED


def test_a_plan_stopped_at_its_timeout_fails_and_says_how_to_give_it_longer(proposed, terraform, identity, settings):
    terraform.failures["plan"] = TerraformStopped("plan", "timed_out", killed=False)

    execution.execute_run(str(proposed.pk))

    run = reread(proposed)
    assert run.status == RunStatus.FAILED
    assert "ran past its timeout" in run.error and "PORTAL_TERRAFORM_COMMAND_TIMEOUT" in run.error


def test_the_portal_failing_mid_step_fails_the_run_and_logs_the_traceback_masked(proposed, terraform, identity, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-of-the-runner")
    terraform.failures["plan"] = RuntimeError("boom with s3cr3t-of-the-runner in it")

    execution.execute_run(str(proposed.pk))

    run = reread(proposed)
    assert run.status == RunStatus.FAILED
    assert run.error == f"The portal failed while running this step. {execution.FAILURE_HINTS['plan']}"
    assert "RuntimeError: boom" in run.log and "s3cr3t-of-the-runner" not in run.log


def test_a_job_for_a_run_that_moved_on_does_nothing(proposed, terraform):
    workflow.discard(proposed.change, proposed.change.requested_by)
    before = reread(proposed)

    execution.execute_run(str(proposed.pk))

    assert reread(proposed).status == before.status and terraform.calls == []


# --- the apply ---------------------------------------------------------------------------------------
def test_an_apply_applies_exactly_the_saved_plan_and_keeps_only_the_outputs_that_are_not_sensitive(approved, terraform):
    execution.execute_run(str(approved.pk))

    run = reread(approved)
    assert run.status == RunStatus.APPLIED, run.log
    assert terraform.applied == [PLAN_BYTES]
    assert terraform.commands() == ["init", "apply", "output"]
    assert run.outputs == {"repository_url": "x.dkr.ecr/x"}
    assert not SavedPlan.objects.filter(run=run).exists(), "a plan is deleted once its run has ended"


def test_an_apply_whose_saved_plan_is_missing_is_stale_and_runs_no_terraform(approved, terraform):
    SavedPlan.objects.filter(run=approved).delete()

    execution.execute_run(str(approved.pk))

    run = reread(approved)
    assert run.status == RunStatus.STALE
    assert "saved plan is missing or was altered" in run.error
    assert terraform.calls == []


def test_an_apply_whose_saved_plan_was_altered_is_stale_and_runs_no_terraform(approved, terraform):
    SavedPlan.objects.filter(run=approved).update(content=b"another plan")

    execution.execute_run(str(approved.pk))

    run = reread(approved)
    assert run.status == RunStatus.STALE and "saved plan is missing or was altered" in run.error
    assert terraform.calls == []


@pytest.mark.parametrize("hashes", [True, False])
def test_a_plan_saved_with_checksums_in_its_lock_file_is_stale_at_its_apply(proposed, terraform, identity, no_policy_checks, people, tmp_path, hashes):
    """Made before the portal pinned its providers: terraform would refuse to apply it with the lock
    file the workspace has now, which has none (portal.runner.providers)."""
    lock = '# lock\nprovider "registry.terraform.io/hashicorp/aws" {\n  version = "5.100.0"\n'
    lock += '  hashes = [\n    "h1:edXOJWE4ORX8Fm+dpVpICzMZJat4AX0VRCAy/xkcOc0=",\n  ]\n}\n' if hashes else "}\n"
    with zipfile.ZipFile(tmp_path / "plan.zip", "w") as plan:
        plan.writestr("tfplan", b"the plan")
        plan.writestr(".terraform.lock.hcl", lock)
    terraform.plan_bytes = (tmp_path / "plan.zip").read_bytes()
    execution.execute_run(str(proposed.pk))
    workflow.approve(reread(proposed).change, people["other-admin"])
    terraform.calls.clear()

    execution.execute_run(str(proposed.pk))

    run = reread(proposed)
    if hashes:
        assert run.status == RunStatus.STALE
        assert run.error == "The saved plan was made before the portal pinned its providers' checksums; plan again."
        assert terraform.calls == []
    else:
        assert run.status == RunStatus.APPLIED, run.log
        assert terraform.applied == [terraform.plan_bytes]


def test_an_apply_without_an_identity_for_its_type_is_stale_with_the_reason(approved, terraform, monkeypatch):
    monkeypatch.setattr(execution, "acting_as", lambda run: Refusal("There is no ecr administrator."))

    execution.execute_run(str(approved.pk))

    run = reread(approved)
    assert run.status == RunStatus.STALE
    assert run.error == "There is no ecr administrator. Plan again once it has one."
    assert terraform.calls == []


def test_an_apply_whose_inputs_changed_since_the_plan_is_stale_and_runs_no_terraform(approved, terraform, monkeypatch):
    # The roles the run acts as are part of its rendered inputs: other roles than the plan's.
    monkeypatch.setattr(execution, "acting_as", lambda run: identity_of(run, role="other-admin"))

    execution.execute_run(str(approved.pk))

    run = reread(approved)
    assert run.status == RunStatus.STALE
    assert "inputs differ from those of the approved plan" in run.error
    assert terraform.calls == []


def test_a_failing_apply_fails_with_what_to_do(approved, terraform):
    terraform.failures["apply"] = TerraformError("terraform apply exited with code 1")

    execution.execute_run(str(approved.pk))

    run = reread(approved)
    assert run.status == RunStatus.FAILED
    assert run.error == f"terraform apply exited with code 1. {execution.FAILURE_HINTS['apply']}"
    assert run.change.outcome == Change.Outcome.ABANDONED
