"""What a worker does with a run: plan it, or apply exactly the plan that was approved."""

import hashlib
import json
import logging
import traceback

from django.db import close_old_connections
from python_terraform import IsFlagged

from portal.runs.models import Run, RunStatus
from portal.runs.queueing import abandon_rest, queue_next_apply
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
        run.fail(f"{exc}. {failure_hint}")
    except Exception:
        run.append_log(traceback.format_exc())
        run.fail(f"The portal failed while running this step. {failure_hint}")
        raise
    finally:
        if step is apply and run.change is not None:
            continue_change(run)


def continue_change(run: Run) -> None:
    run.refresh_from_db()
    if run.status == RunStatus.APPLIED:
        queue_next_apply(run.change)
    else:
        abandon_rest(run.change, run)


def plan_file(run: Run):
    return run.workspace.directory / ".plans" / f"{run.pk}.tfplan"


def sha256_of(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plan(run: Run) -> None:
    if not run.start_planning():
        return
    workspace = run.workspace
    directory = render(workspace)
    terraform = Terraform(directory, run.append_log)
    terraform.init(workspace.state_key)
    out = plan_file(run)
    out.parent.mkdir(exist_ok=True)
    destroy = IsFlagged if run.kind == Run.Kind.DESTROY else None
    terraform.run("plan", input=False, out=str(out), destroy=destroy)
    summary = summarize(json.loads(terraform.capture("show", str(out), json=True)))
    run.record_plan(**summary, plan_sha256=sha256_of(out), inputs_sha256=inputs_digest(workspace))


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
    out = plan_file(run)
    if not out.exists() or sha256_of(out) != run.plan_sha256:
        run.mark_stale("The saved plan is missing or was altered since approval; plan again.")
        return
    if inputs_digest(workspace) != run.inputs_sha256:
        run.mark_stale("The workspace was rendered again since this plan was made; plan again.")
        return
    if not run.start_applying():
        return
    terraform = Terraform(workspace.directory, run.append_log)
    terraform.init(workspace.state_key)
    terraform.run("apply", str(out), input=False)
    outputs = json.loads(terraform.capture("output", json=True))
    run.finish_applied({name: o["value"] for name, o in outputs.items() if not o.get("sensitive")})
    out.unlink(missing_ok=True)
