"""The badge's two buttons: check a workspace now, and plan to restore what drifted (an ordinary
change, approved and applied as any other)."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from portal.access import permissions
from portal.access.decorators import permission_required
from portal.drift import checks, scheduling
from portal.runs.models import ACTIVE_STATUSES
from portal.drift.restoring import restore
from portal.runs.workflow import Refused
from portal.workspaces.models import Workspace


def page_of(workspace: Workspace):
    if workspace.is_platform:
        return redirect("platform:page")
    return redirect("catalog:service-detail", name=workspace.service.name)


def workspace_for(request, workspace_id, may) -> Workspace:
    """The workspace, when `may` (a function of portal.access.permissions) lets the user act on it."""
    workspace = get_object_or_404(Workspace.objects.select_related("service__team"), pk=workspace_id)
    permissions.require(may(request.user, workspace))
    return workspace


def refused(request, workspace: Workspace, message: str) -> HttpResponse:
    if request.headers.get("Accept", "").startswith("application/json"):
        return HttpResponse(message, status=409, content_type="text/plain")
    messages.error(request, message)
    return page_of(workspace)


@permission_required("catalog.view_service")
@require_POST
def check_now(request, workspace_id: int):
    workspace = workspace_for(request, workspace_id, permissions.check_drift)
    if checks.applied_variables(workspace) is None:
        return HttpResponse("This workspace has not been applied, so there is nothing to check.", status=409)
    if workspace.runs.filter(status__in=ACTIVE_STATUSES).exists():
        return refused(request, workspace, f"{workspace.path} has a run going on; check it once that has ended.")
    queued = scheduling.check_asked(workspace, request.user)
    messages.info(request, f"A drift check of {workspace.path} is {'queued' if queued else 'queued already'}.")
    return page_of(workspace)


@permission_required("catalog.view_service")
@require_POST
def plan_to_restore(request, workspace_id: int):
    workspace = workspace_for(request, workspace_id, permissions.restore_drift)
    latest = workspace.drift_checks.first()
    variables = checks.applied_variables(workspace)
    if latest is None or not latest.drifted or variables is None:
        return HttpResponse("The latest drift check of this workspace found no drift.", status=409)
    try:
        change = restore(workspace, variables, request.user)
    except Refused as exc:
        return refused(request, workspace, exc.refusal.message)
    return redirect("changes:detail", change_id=change.pk)
