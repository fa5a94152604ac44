"""The Platform page in the API, for its admins: the platform's workspaces with their latest runs,
and planning one (portal.platform.provisioning.plan_workspace, the page's button)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.access import permissions
from portal.api.changes import ChangeSerializer, change_json
from portal.api.errors import error_responses
from portal.api.serializers import RunSummarySerializer
from portal.api.views import KnownQueryParameters, runs_queryset
from portal.api.workspace_lookup import MAX_ID, WORKSPACE_ID
from portal.api.workspaces import WorkspaceSummarySerializer
from portal.platform.provisioning import plan_workspace
from portal.workspaces.layout import sync_platform_workspaces
from portal.workspaces.models import Workspace
from portal.workspaces.paths import state_bucket_path


class PlatformWorkspaceSerializer(WorkspaceSummarySerializer):
    latest_run = RunSummarySerializer(allow_null=True)

    class Meta(WorkspaceSummarySerializer.Meta):
        fields = [*WorkspaceSummarySerializer.Meta.fields, "latest_run"]


class PlatformSerializer(serializers.Serializer):
    state_bucket = serializers.CharField(help_text="The state bucket's workspace path: made by `manage.py bootstrap_state`, never planned here.")
    workspaces = PlatformWorkspaceSerializer(many=True, help_text="In apply order.")


@extend_schema(
    summary="The platform",
    description="Its workspaces in apply order, each with its latest run, as the Platform page shows them "
    "(the workspaces the settings call for are made first, as the page makes them). 403 `no_role` (admins only).",
    responses={200: PlatformSerializer, **error_responses(400, 401, 403)},
)
class PlatformView(KnownQueryParameters, APIView):
    def get(self, request):
        permissions.require(permissions.manage_platform(request.user))
        sync_platform_workspaces()
        workspaces = list(Workspace.objects.filter(service=None).in_apply_order())
        for workspace in workspaces:
            workspace.latest_run = runs_queryset().filter(workspace=workspace).newest_first().first()
        return Response(PlatformSerializer({"state_bucket": state_bucket_path(), "workspaces": workspaces}).data)


@extend_schema(
    parameters=[WORKSPACE_ID],
    summary="Plan a platform workspace",
    description="The Platform page's **Plan**: a change of the workspace with its inputs, approved by another "
    "admin like any platform change. 403 `no_role` (admins only); 404 for a service's workspace; 409 "
    "`state_bucket` (made by `manage.py bootstrap_state`), `workspace_busy`.",
    request=None,
    responses={201: ChangeSerializer, **error_responses(401, 403, 404, 409)},
)
class PlatformPlanView(KnownQueryParameters, APIView):
    def post(self, request, pk):
        permissions.require(permissions.manage_platform(request.user))
        workspace = get_object_or_404(Workspace, pk=pk if 0 < pk <= MAX_ID else 0, service=None)
        change = plan_workspace(workspace, request.user)
        return Response(change_json(change, request.user), status=status.HTTP_201_CREATED)
