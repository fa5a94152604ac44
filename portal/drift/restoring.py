"""Planning to restore a drifted workspace: an ordinary change, refused as any other change of its
service is (portal.catalog.onboarding.active_locked), so it never supersedes a decommission."""

from django.db import transaction

from portal import audit
from portal.catalog.onboarding import active_locked
from portal.changes.workflow import Refused, propose
from portal.core.refusals import Refusal
from portal.drift.checks import applied_variables
from portal.runs.models import Change
from portal.workspaces.models import Workspace


def plan_to_restore(workspace: Workspace, user) -> Change:
    """ "Plan to restore": propose the last applied inputs again, once the latest check found drift.
    Refused (`no_drift`) otherwise; then as restore() refuses."""
    latest = workspace.drift_checks.first()
    variables = applied_variables(workspace)
    if latest is None or not latest.drifted or variables is None:
        raise Refused(Refusal("no_drift", "The latest drift check of this workspace found no drift."))
    return restore(workspace, variables, user)


@transaction.atomic
def restore(workspace: Workspace, variables: dict, user) -> Change:
    """Propose the workspace's last applied inputs again. Refused (Refused) while its service is being
    decommissioned or is decommissioned, and while a run plans or applies there."""
    if workspace.service_id is not None:
        active_locked(workspace.service)
    change = propose(f"Restore {workspace.path} after drift", [(workspace, variables)], user, service=workspace.service)
    latest = workspace.drift_checks.first()
    audit.record("drift.restore", user, workspace, change=change.pk, drift_check=latest.pk if latest else None)
    return change
