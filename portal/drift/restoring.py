"""Planning to restore a drifted workspace: an ordinary change, refused as any other change of its
service is (portal.catalog.onboarding.active_locked), so it never supersedes a decommission."""

from django.db import transaction

from portal import audit
from portal.catalog.onboarding import active_locked
from portal.runs.models import Change
from portal.runs.workflow import propose
from portal.workspaces.models import Workspace


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
