from dataclasses import dataclass

from django import template

from portal.drift.models import DriftCheck
from portal.runs.models import Run
from portal.workspaces.models import Workspace

register = template.Library()


@dataclass(frozen=True)
class DriftRow:
    workspace: Workspace
    check: DriftCheck | None  # None: not checked yet


@register.simple_tag
def drift_rows(service=None) -> list[DriftRow]:
    """Each workspace of the service (None: the platform's) that AWS holds now, its last apply not a
    destroy, with its newest check: one that was never checked is offered a check at once, and a
    destroyed one (a decommissioned service's) is not shown in sync. Two queries."""
    # Narrowed to the service's (or the platform's) workspaces first: every workspace's last apply is many.
    workspaces = Workspace.objects.filter(service=service)
    applied = list(Workspace.objects.filter(pk__in=Run.objects.last_applied_per_workspace(workspaces).values("workspace_id")))
    checks = {check.workspace_id: check for check in DriftCheck.objects.latest_per_workspace().filter(workspace__in=applied)}
    return [DriftRow(workspace, checks.get(workspace.pk)) for workspace in sorted(applied, key=lambda workspace: workspace.apply_key)]
