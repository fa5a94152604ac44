"""The badge's two buttons: check a workspace now, and plan to restore what drifted (an ordinary
change, approved and applied as any other). Who may is asked of portal.access.permissions; what
the state allows, of the functions the API calls too (scheduling.check_now, restoring.plan_to_restore)."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from portal.access import permissions
from portal.access.decorators import permission_required
from portal.changes.workflow import Refused
from portal.drift import scheduling
from portal.drift.restoring import plan_to_restore as propose_restore
from portal.workspaces.models import Workspace

# Refusals that say there is nothing to act on: a plain 409, whatever the request accepts.
NOTHING_THERE = {"not_applied", "no_drift"}


def page_of(workspace: Workspace):
    if workspace.is_platform:
        return redirect("platform:page")
    return redirect("catalog:service-detail", name=workspace.service.name)


def workspace_for(request, workspace_id, permission) -> Workspace:
    workspace = get_object_or_404(Workspace.objects.select_related("service__team"), pk=workspace_id)
    permissions.require(permission(request.user, workspace))
    return workspace


def refused(request, workspace: Workspace, refusal) -> HttpResponse:
    if refusal.code in NOTHING_THERE or request.headers.get("Accept", "").startswith("application/json"):
        return HttpResponse(refusal.message, status=refusal.http_status, content_type="text/plain")
    messages.error(request, refusal.message)
    return page_of(workspace)


@permission_required("catalog.view_service")
@require_POST
def check_now(request, workspace_id: int):
    workspace = workspace_for(request, workspace_id, permissions.check_drift)
    try:
        queued = scheduling.check_now(workspace, request.user)
    except Refused as exc:
        return refused(request, workspace, exc.refusal)
    messages.info(request, f"A drift check of {workspace.path} is {'queued' if queued else 'queued already'}.")
    return page_of(workspace)


@permission_required("catalog.view_service")
@require_POST
def plan_to_restore(request, workspace_id: int):
    workspace = workspace_for(request, workspace_id, permissions.restore_drift)
    try:
        change = propose_restore(workspace, request.user)
    except Refused as exc:
        return refused(request, workspace, exc.refusal)
    return redirect("changes:detail", change_id=change.pk)
