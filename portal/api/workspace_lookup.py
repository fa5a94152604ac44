"""A workspace in the API's paths is its id (`GET /api/v1/workspaces/` lists them); each endpoint
asks the permission function of what it does with it."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter

from portal.access import permissions
from portal.workspaces.models import Workspace

# Ids are bigints: a longer number is no workspace (404), never a database error.
MAX_ID = 2**63 - 1

WORKSPACE_ID = OpenApiParameter(
    "id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, OpenApiParameter.PATH, description="The workspace's id (`GET /api/v1/workspaces/`)."
)


def workspace_for(user, pk, permission) -> Workspace:
    """The workspace, once `permission(user, workspace)` allows it (else 403 with its refusal)."""
    if not 0 < pk <= MAX_ID:
        raise Http404
    workspace = get_object_or_404(Workspace.objects.select_related("service__team"), pk=pk)
    permissions.require(permission(user, workspace))
    return workspace
