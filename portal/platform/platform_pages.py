"""The admins' Platform page: the platform workspaces, their latest runs, and planning one."""

from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.access import permissions
from portal.access.decorators import allowed
from portal.changes.workflow import Refused
from portal.platform import module_versions
from portal.platform.diagram import platform_picture
from portal.platform.provisioning import plan_workspace
from portal.runs.models import Run
from portal.workspaces.layout import applied_cluster_inputs, sync_platform_workspaces
from portal.workspaces.models import Workspace
from portal.workspaces.paths import state_bucket_path


@allowed(permissions.manage_platform)
def platform(request):
    return platform_page(request)


def platform_page(request, *, status: int = 200, **context):
    """The page, with `context` for what it includes (the cluster settings form sent back with its
    errors, portal.platform.cluster_pages)."""
    cluster_inputs = applied_cluster_inputs()  # read once for the workspaces and the capacity panel
    sync_platform_workspaces(cluster_inputs)
    latest_runs = Prefetch("runs", Run.objects.latest_per_workspace(), to_attr="latest_runs")
    workspaces = Workspace.objects.filter(service=None).prefetch_related(latest_runs)
    return render(
        request,
        "workspaces/platform.html",
        {
            "workspaces": workspaces,
            "state_bucket_path": state_bucket_path(),
            "picture": platform_picture(workspaces),
            "modules": module_versions.module_report(listed=module_versions.LISTED_BEHIND),
            "cluster_inputs": cluster_inputs,
            **context,
        },
        status=status,
    )


@allowed(permissions.manage_platform)
@require_POST
def plan_platform_workspace(request, workspace_id):
    workspace = get_object_or_404(Workspace, pk=workspace_id, service=None)
    try:
        change = plan_workspace(workspace, request.user)
    except Refused as exc:
        messages.error(request, exc.refusal.message)
        return redirect("platform:page")
    return redirect("runs:run-detail", run_id=change.runs_in_order()[0].pk)
