"""What a worker does with a run: plan it, or apply exactly the plan that was approved. The step's
last move of the run and the change's next step (portal.runs.workflow.advance) commit together."""

import json
import logging
import traceback

from django.db import close_old_connections, transaction
from python_terraform import IsFlagged

from portal.runs import plans, workflow
from portal.runs.masking import mask_secrets
from portal.runs.models import Run, RunStatus
from portal.runs.terraform import Terraform, TerraformError
from portal.workspaces.rendering import inputs_digest, render

logger = logging.getLogger(__name__)


def execute_run(run_id: str) -> None:
    """RQ entry point. A job for a run that has moved on (discarded, already done) does nothing."""
    close_old_connections()
    run = Run.objects.select_related("workspace", "change").get(pk=run_id)
    if run.status == RunStatus.QUEUED:
        step, failure_hint = plan, "Fix the cause shown in the log, then change the service to plan again."
    elif run.status == RunStatus.APPROVED:
        step, failure_hint = apply, "The state was not changed past the point shown in the log; plan again."
    else:
        logger.info("Run %s is %s; nothing to do.", run.pk, run.status)
        return
    try:
        step(run)
    except TerraformError as exc:
        error = f"{exc}. {failure_hint}"
        ended(run, lambda: run.fail(error))
    except Exception:
        # Masked before it is stored or logged: an exception's text can quote the environment. Not
        # raised on to RQ, which would keep the unmasked traceback in Redis; the run row says it all.
        masked = mask_secrets(traceback.format_exc())
        run.append_log(masked)
        ended(run, lambda: run.fail(f"The portal failed while running this step. {failure_hint}"))
        logger.error("Run %s failed in the portal itself:\n%s", run.pk, masked)


def ended(run: Run, move) -> None:
    """A step's last move of the run and its change's next step, in one transaction: whoever reads
    the run as planned, applied or failed also reads its change moved on (the service's applied
    declaration or lifecycle included)."""
    with transaction.atomic():
        move()
        if run.change_id is not None:
            workflow.advance(run.change)


def plan(run: Run) -> None:
    if not run.start_planning():
        return
    workspace = run.workspace
    directory = render(workspace, run.variables)
    terraform = Terraform(directory, run.append_log)
    terraform.init(workspace.state_key)
    out = plans.prepare(run)
    destroy = IsFlagged if run.kind == Run.Kind.DESTROY else None
    terraform.run("plan", input=False, out=str(out), destroy=destroy)
    plan_sha256 = plans.seal(out)
    summary = summarize(json.loads(terraform.capture("show", str(out), json=True)))
    inputs_sha256 = inputs_digest(workspace)
    ended(run, lambda: run.record_plan(**summary, plan_sha256=plan_sha256, inputs_sha256=inputs_sha256))


def summarize(plan_json: dict) -> dict[str, int]:
    """Count resources to add, change and destroy; a replacement counts as one add and one destroy."""
    counts = {"to_add": 0, "to_change": 0, "to_destroy": 0}
    for change in plan_json.get("resource_changes", []):
        actions = change["change"]["actions"]
        if "create" in actions:
            counts["to_add"] += 1
        if "delete" in actions:
            counts["to_destroy"] += 1
        if actions == ["update"]:
            counts["to_change"] += 1
    return counts


def apply(run: Run) -> None:
    workspace = run.workspace
    out = plans.plan_path(run)
    if not out.exists() or plans.sha256_of(out) != run.plan_sha256:
        ended(run, lambda: run.mark_stale("The saved plan is missing or was altered since approval; plan again."))
        return
    # Rendered again from the database: the inputs must be exactly those the plan was made from.
    render(workspace, run.variables)
    if inputs_digest(workspace) != run.inputs_sha256:
        ended(run, lambda: run.mark_stale("The workspace's inputs differ from those of the approved plan; plan again."))
        return
    if not run.start_applying():
        return
    terraform = Terraform(workspace.directory, run.append_log)
    terraform.init(workspace.state_key)
    terraform.run("apply", str(out), input=False)
    outputs = json.loads(terraform.capture("output", json=True))
    ended(run, lambda: run.finish_applied({name: o["value"] for name, o in outputs.items() if not o.get("sensitive")}))
