"""The drift check of one workspace: a plan against its state and AWS, as its type's identity.

Drift is what changed in AWS outside the portal *and* that the configuration would set back: an
attribute of a resource's `resource_drift` (AWS against the state) that the plan's own change of that
resource changes again, or that terraform names among the plan's `relevant_attributes` (an attribute
of another resource the changes depend on), and any resource deleted outside. What the provider
computes or another resource of the same configuration manages (a policy's `attachment_count`, a
role's `managed_policy_arns` beside attachment resources, a security group's inline rules beside rule
resources) changes in AWS after every apply and is not drift: the plan leaves it alone. A plan with
no changes (exit code 0) has no drift, whatever the refresh read. Terraform's own "Objects have
changed outside of Terraform" filters its drift report the same way.

It never touches the state (the plan is never applied here) nor the directory a user's run works in:
it renders the last applied inputs into a directory of its own under WORKSPACES_DIR/.drift/, so a
check and a run of the same workspace can happen at once. The plan runs with `-lock=false`: a plan
writes nothing to the state, and taking the state lock would make a user's plan or apply that starts
meanwhile fail on the lock. A check that overlapped a run is thrown away (the run may have been
changing AWS while terraform read it), and done again later.
"""

import json
import logging
import subprocess
import time
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections
from django.db.models import Q
from django.utils import timezone
from python_terraform import IsFlagged

from portal.core.masking import mask_secrets, secret_values
from portal.drift.models import DriftCheck
from portal.runner import plan_review
from portal.runner.terraform import Terraform, TerraformError
from portal.runs.models import ACTIVE_STATUSES, Run
from portal.workspaces.identities import Refusal, identity_for
from portal.workspaces.models import Workspace
from portal.workspaces.rendering import render

logger = logging.getLogger(__name__)

DRIFT_DIR = ".drift"
KEEP_CHECKS = 20  # per workspace; older ones are deleted
LOG_TAIL = 3000  # characters of terraform's output kept in a failed check's error
# A sweep plans every applied workspace in the background; its terraform runs at a lower CPU
# priority, so that a plan someone is waiting for gets the cores first (Linux's nice, 0 to 19).
NICENESS = 10


class CheckFailed(Exception):
    pass


def check_directory(workspace: Workspace) -> Path:
    return settings.WORKSPACES_DIR / DRIFT_DIR / workspace.path


def applied_variables(workspace: Workspace) -> dict | None:
    """The inputs the workspace was last applied with; None when it has none to check (never
    applied, or destroyed by its last apply)."""
    applied = Run.objects.last_applied(workspace)
    return applied.variables if applied else None


def check_job(workspace_id: int) -> None:
    """RQ entry point (the low-priority queue)."""
    close_old_connections()
    run_check(workspace_id)


def run_check(workspace_id: int) -> DriftCheck | None:
    """Check one workspace. None when there was nothing to check, or a run of the workspace
    overlapped the check."""
    workspace = Workspace.objects.select_related("service").filter(pk=workspace_id).first()
    if workspace is None:
        return None
    variables = applied_variables(workspace)
    if variables is None or workspace.runs.filter(status__in=ACTIVE_STATUSES).exists():
        return None
    started_at, started = timezone.now(), time.monotonic()
    output: list[str] = []
    try:
        drift, error = drift_plan(workspace, variables, output.append), ""
    except (CheckFailed, TerraformError) as exc:
        tail = mask_secrets("".join(output))[-LOG_TAIL:]
        drift, error = [], f"{exc}\n{tail}".strip()
    if workspace.runs.filter(Q(status__in=ACTIVE_STATUSES) | Q(finished_at__gte=started_at)).exists():
        logger.info("A run of %s overlapped its drift check; it is checked again later.", workspace.path)
        return None
    previous = workspace.drift_checks.first()
    check = DriftCheck.objects.create(
        workspace=workspace,
        checked_at=started_at,
        drifted=bool(drift),
        drift=drift,
        error=error,
        duration=round(time.monotonic() - started, 2),
    )
    stale = workspace.drift_checks.values_list("pk", flat=True)[KEEP_CHECKS:]
    DriftCheck.objects.filter(pk__in=list(stale)).delete()
    if check.drifted and not check.same_drift_as(previous):
        tell(check)
    return check


def drift_plan(workspace: Workspace, variables: dict, on_output) -> list[dict]:
    identity = identity_for(workspace, f"portal-drift-{workspace.pk}")  # stable: init is skipped when unchanged
    if isinstance(identity, Refusal):
        raise CheckFailed(identity.reason)
    directory = check_directory(workspace)
    render(workspace, variables, identity=identity, directory=directory)
    terraform = Terraform(directory, on_output, niceness=NICENESS)
    terraform.init(workspace.state_key, workspace.module, identity)
    plan_file = directory / "drift.tfplan"  # every input in clear: deleted at once
    try:
        code = plan_exit_code(terraform, plan_file)
        if code == 0:
            return []
        if code != 2:
            raise CheckFailed(f"terraform plan exited with code {code}")
        plan = json.loads(terraform.capture("show", str(plan_file), json=IsFlagged))
    finally:
        plan_file.unlink(missing_ok=True)
    return drifted_attributes(plan)


def plan_exit_code(terraform: Terraform, plan_file: Path) -> int:
    """`plan -detailed-exitcode`: 0 no changes, 1 error, 2 changes (Terraform.run would take 2 for a
    failure)."""
    argv = terraform.command("plan", input=False, detailed_exitcode=IsFlagged, lock=False, out=str(plan_file))
    terraform.on_output(f"$ terraform {' '.join(argv[1:])}\n")
    with terraform.supervised("plan", argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as process:
        terraform.on_output(mask_secrets(process.stdout.read()))
    return process.returncode


def top_level(path: str) -> str:
    """`tags.Team` -> `tags`, `ingress[0].from_port` -> `ingress`."""
    return path.split(".", 1)[0].split("[", 1)[0]


def drifted_attributes(plan: dict) -> list[dict]:
    """The drift that counts (see the module's docstring) as {address, attribute, before (the state),
    after (AWS)}, read by the plan review's own walk, masked as it masks."""
    set_back = {entry["address"]: plan_review.changed_paths(entry) for entry in plan.get("resource_changes", [])}
    relevant: dict[str, set[str]] = {}
    for reference in plan.get("relevant_attributes", []):
        path = reference.get("attribute") or []
        relevant.setdefault(reference["resource"], set()).add(str(path[0]) if path else "")
    found = []
    for entry in plan.get("resource_drift", []):
        change = plan_review.resource_change(entry)
        if change is None:
            continue
        if change.action == "destroy":
            found.append({"address": change.address, "attribute": "(the resource)", "before": "exists", "after": "deleted"})
            continue
        depended_on = relevant.get(change.address, set())
        for attribute in change.attributes:
            if attribute.path in set_back.get(change.address, ()) or "" in depended_on or top_level(attribute.path) in depended_on:
                found.append({"address": change.address, "attribute": attribute.path, "before": attribute.before, "after": attribute.after})
    return plan_review.masked(found, secret_values())


def tell(check: DriftCheck) -> None:
    from portal.notifications.events import notify

    workspace = check.workspace
    try:
        notify(
            "drift_found",
            service=workspace.service,
            payload={"drift": {"workspace": workspace.path, "check": check.pk, "checked_at": check.checked_at.isoformat(), "attributes": check.drift}},
        )
    except Exception:  # noqa: BLE001 - the check is recorded and shown either way
        logger.exception("Could not record the drift_found notification of %s.", workspace.path)
