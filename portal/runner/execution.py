"""What a worker does with a run: plan it, or apply exactly the plan that was approved. The step's
last move of the run and the change's next step (portal.changes.workflow.advance) commit together.

Any worker machine can take any step: the workspace is rendered from the run's inputs in the
database, and the plan is kept there too (portal.runs.plans). While a step runs it keeps a
heartbeat and listens for a cancel (portal.runner.attendance).
"""

import json
import logging
import re
import time
import traceback

from django.conf import settings
from django.db import close_old_connections, transaction
from django.dispatch import Signal
from python_terraform import IsFlagged

from portal.changes import workflow
from portal.core.masking import mask_secrets
from portal.runner import deploy_health, deployed_images, locks, plan_review, providers
from portal.runner.attendance import Attendance, persistently, worker_identity
from portal.runner.deploy_health import Health
from portal.runner.terraform import Terraform, TerraformError, TerraformStopped
from portal.runs import plans
from portal.runs.models import Run, RunStatus
from portal.workspaces.identities import Refusal, RunIdentity, identity_for
from portal.workspaces.modules import module_digest
from portal.workspaces.rendering import inputs_digest, render

logger = logging.getLogger(__name__)

FAILURE_HINTS = {
    "plan": "Fix the cause shown in the log, then change the service (or press Plan) to plan again.",
    "apply": "The state was not changed past the point shown in the log; plan again to see what is left.",
}
CANCEL_HINTS = {
    "plan": "Nothing was changed. Change the service (or press Plan) to plan again.",
    "apply": "What terraform had applied before it stopped is in the state; plan again to see what is left.",
}
TIMEOUT_HINT = (
    "What terraform had done before it stopped is in the state; plan again to see what is left "
    "(PORTAL_TERRAFORM_COMMAND_TIMEOUT sets how long a command may take)."
)


def execute_run(run_id: str) -> None:
    """RQ entry point. A job for a run that has moved on (discarded, already done) does nothing."""
    close_old_connections()
    run = persistently(lambda: Run.objects.select_related("workspace", "change").get(pk=run_id))
    if run.status == RunStatus.QUEUED:
        step, phase = plan, "plan"
    elif run.status == RunStatus.APPROVED:
        step, phase = apply, "apply"
    else:
        logger.info("Run %s is %s; nothing to do.", run.pk, run.status)
        return
    try:
        step(run)
    except TerraformStopped as exc:
        stopped(run, exc, phase)
    except TerraformError as exc:
        error = f"{exc}. {FAILURE_HINTS[phase]}"
        ended(run, lambda: run.fail(error))
    except Exception:
        # Masked before it is stored or logged: an exception's text can quote the environment. Not
        # raised on to RQ, which would keep the unmasked traceback in Redis; the run row says it all.
        masked = mask_secrets(traceback.format_exc())
        persistently(lambda: run.append_log(masked))
        error = f"The portal failed while running this step. {FAILURE_HINTS[phase]}"
        ended(run, lambda: run.fail(error))
        logger.error("Run %s failed in the portal itself:\n%s", run.pk, masked)


def stopped(run: Run, exc: TerraformStopped, phase: str) -> None:
    """The portal stopped terraform: a cancel, or a command past its timeout."""
    if exc.reason == "cancelled":
        run.refresh_from_db(fields=["cancelled_by"])
        who = run.cancelled_by.get_username() if run.cancelled_by else "someone"
        message = f"Cancelled by {who} during the {phase}: {exc}. {CANCEL_HINTS[phase]}"
        ended(run, lambda: run.cancel(message))
    else:
        message = f"{exc}. {TIMEOUT_HINT}"
        ended(run, lambda: run.fail(message))
    if exc.killed:
        # Killed, terraform could not release its lock; it is dead, so the lock is nobody's.
        persistently(lambda: locks.release_left_by(run, "its terraform was killed after the interrupt's grace period"))


def ended(run: Run, move) -> None:
    """A step's last move of the run and its change's next step, in one transaction: whoever reads
    the run as planned, applied or failed also reads its change moved on (the service's applied
    declaration or lifecycle included)."""

    def commit():
        with transaction.atomic():
            move()
            if run.change_id is not None:
                workflow.advance(run.change)

    persistently(commit)


def log_to(run: Run):
    return lambda text: persistently(lambda: run.append_log(text))


def acting_as(run: Run) -> RunIdentity | Refusal:
    """The identity the run's terraform acts with: its workspace type's roles."""
    return identity_for(run.workspace, f"portal-run-{run.pk}")


def announce(run: Run, identity: RunIdentity) -> None:
    log_to(run)(f"[portal] Acting as the {identity.label}: {identity.role_arn} (session {identity.session_name})\n")


def identity_fields(identity: RunIdentity) -> dict[str, str]:
    return {"identity_type": identity.service_type, "role_arn": identity.role_arn, "session_name": identity.session_name}


def plan(run: Run) -> None:
    identity = acting_as(run)
    if isinstance(identity, Refusal):
        ended(run, lambda: run.fail(identity.reason, from_statuses=[RunStatus.QUEUED]))
        return
    if not persistently(lambda: run.start_planning(**worker_identity(), **identity_fields(identity))):
        return
    workspace = run.workspace
    directory = render(workspace, run.variables, identity=identity)
    module_sha256 = module_digest(workspace.module)  # what terraform is about to read
    with Attendance(run) as attendance:
        terraform = Terraform(directory, log_to(run), stop=attendance.stop, on_process=attendance.on_process)
        announce(run, identity)
        terraform.init(workspace.state_key, workspace.module, identity)
        with plans.on_disk(run) as out:
            destroy = IsFlagged if run.kind == Run.Kind.DESTROY else None
            summary = summarize(terraform.run("plan", input=False, out=str(out), destroy=destroy))
            plan_sha256 = persistently(lambda: plans.store(run, out))
            plan_changes = read_review(run, terraform, out) if any(summary.values()) else []
        if attendance.cancelled:  # asked while the last command was finishing: the plan is not offered
            raise TerraformStopped("plan", "cancelled", killed=False)
    inputs_sha256 = inputs_digest(workspace)
    ended(
        run,
        lambda: run.record_plan(**summary, plan_sha256=plan_sha256, inputs_sha256=inputs_sha256, plan_changes=plan_changes, module_sha256=module_sha256),
    )


def read_review(run: Run, terraform: Terraform, plan_file) -> list[dict]:
    """The plan's resource changes for the reviewer, read from the plan file while it is on disk:
    `terraform show -json` prints every input in clear, so its output stays in memory and only the
    masked review is stored. Apps that check plans hear it first (`plan_read`); one that raises
    fails the plan, so a check that could not run never passes for one that did."""
    plan = json.loads(terraform.capture("show", str(plan_file), json=IsFlagged))
    plan_read.send(sender=Run, run=run, plan=plan, log=log_to(run))
    return plan_review.review(plan)


# Sent with a saved plan's `terraform show -json` (in memory; it holds every input in clear), the
# run, and `log` (appends to the run's log), before the plan is offered for approval.
plan_read = Signal()


# Terraform's own summary of a plan, at the start of a line (never inside the diff, which is indented).
PLAN_SUMMARY = re.compile(r"^Plan: (?P<counts>.*)\.$", re.MULTILINE)
NOTHING_TO_DO = ("No changes.", "without changing any real infrastructure")


def summarize(plan_output: str) -> dict[str, int]:
    """What the plan adds, changes and destroys, from terraform's own `Plan: ...` line (a replacement
    counts as one add and one destroy there). Read from the plan's output rather than from
    `terraform show -json`, which loads every provider's schema again: about 2 s per run."""
    counts = {"to_add": 0, "to_change": 0, "to_destroy": 0}
    lines = list(PLAN_SUMMARY.finditer(plan_output))
    if lines:
        for number, what in re.findall(r"(\d+) to (add|change|destroy)", lines[-1]["counts"]):
            counts[f"to_{what}"] = int(number)
    elif not any(phrase in plan_output for phrase in NOTHING_TO_DO):
        raise TerraformError("terraform plan finished without saying what it plans to do")
    return counts


def apply(run: Run) -> None:
    workspace = run.workspace
    with plans.on_disk(run) as out:
        if not persistently(lambda: plans.restore(run, out)):
            ended(run, lambda: run.mark_stale("The saved plan is missing or was altered since approval; plan again."))
            return
        if providers.planned_with_checksums(out):
            ended(run, lambda: run.mark_stale("The saved plan was made before the portal pinned its providers' checksums; plan again."))
            return
        identity = acting_as(run)
        if isinstance(identity, Refusal):
            ended(run, lambda: run.mark_stale(f"{identity.reason} Plan again once it has one."))
            return
        # Rendered again from the database: the inputs, and the roles acted as, must be exactly
        # those the plan was made with.
        render(workspace, run.variables, identity=identity)
        if inputs_digest(workspace) != run.inputs_sha256:
            ended(run, lambda: run.mark_stale("The workspace's inputs differ from those of the approved plan; plan again."))
            return
        if not persistently(lambda: run.start_applying(**worker_identity(), **identity_fields(identity))):
            return
        with Attendance(run) as attendance:
            terraform = Terraform(workspace.directory, log_to(run), stop=attendance.stop, on_process=attendance.on_process)
            announce(run, identity)
            terraform.init(workspace.state_key, workspace.module, identity)
            terraform.run("apply", str(out), input=False)
            outputs = json.loads(terraform.capture("output", json=True))
            outputs = {name: o["value"] for name, o in outputs.items() if not o.get("sensitive")}
            if workspace.module == "ecs-service" and run.kind != Run.Kind.DESTROY:
                deployed_images.keep_deployed_image(run.variables, log_to(run))
            health = wait_for_health(run, outputs, identity, attendance)
    finish_apply(run, outputs, health)


def finish_apply(run: Run, outputs: dict, health: Health | None) -> None:
    """Applied; healthy, unchecked (None), or not healthy with the reason and what to do next."""
    if health is None or health.healthy:
        ended(run, lambda: run.finish_applied(outputs))
    else:
        ended(run, lambda: run.finish_applied_unhealthy(outputs, unhealthy_error(health)))


def wait_for_health(run: Run, outputs: dict, identity: RunIdentity | None, attendance: Attendance) -> Health | None:
    """A service's apply is done once its deployment is healthy (portal.runner.deploy_health); None
    when there is nothing to wait for: not a service, a destroy, or the wait is off."""
    if run.workspace.module != "ecs-service" or run.kind == Run.Kind.DESTROY:
        return None
    log = log_to(run)
    if settings.DEPLOY_HEALTH_TIMEOUT == 0:
        log("[portal] The deploy's health was not checked: PORTAL_DEPLOY_HEALTH_TIMEOUT is 0.\n")
        return None
    log(
        f"[portal] Applied; waiting up to {settings.DEPLOY_HEALTH_TIMEOUT} s for a healthy deployment "
        f"(targets required: {'yes' if settings.DEPLOY_HEALTH_REQUIRE_TARGETS else 'no'}).\n"
    )
    deadline = time.monotonic() + settings.DEPLOY_HEALTH_TIMEOUT
    return deploy_health.wait_until_healthy(outputs, identity, deadline, log=log, stop=attendance.stop)


def unhealthy_error(health: Health) -> str:
    return mask_secrets(
        f"Applied, but the deployment did not report healthy: {health.reason}. What was declared is in AWS, "
        "so the change counts as applied. Read the service's ECS events and its tasks' logs; "
        "then change the service to fix it, or propose going back to the last healthy revision."
    )
