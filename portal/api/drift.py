"""Drift in the API, as the badge on a service's page (and the Platform page) shows it: the latest
checks of a workspace, "Check now" and "Plan to restore". The same functions decide
(portal.drift.scheduling.check_now, portal.drift.restoring.plan_to_restore) and the same permission
functions say who may (check_drift, restore_drift)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.access import permissions
from portal.api.changes import ChangeSerializer, change_json
from portal.api.errors import error_responses
from portal.api.views import KnownQueryParameters
from portal.api.workspace_lookup import WORKSPACE_ID, workspace_for
from portal.drift import scheduling
from portal.drift.checks import KEEP_CHECKS
from portal.drift.models import DriftCheck
from portal.drift.restoring import plan_to_restore


class DriftedAttributeSerializer(serializers.Serializer):
    address = serializers.CharField(help_text="The resource's address in the workspace.")
    attribute = serializers.CharField()
    before = serializers.JSONField(allow_null=True, help_text="As the state records it (sensitive values masked).")
    after = serializers.JSONField(allow_null=True, help_text="As AWS has it now (sensitive values masked).")


class DriftCheckSerializer(serializers.ModelSerializer):
    state = serializers.ChoiceField(choices=["in_sync", "drifted", "error"], read_only=True)
    drift = DriftedAttributeSerializer(many=True, read_only=True)

    class Meta:
        model = DriftCheck
        fields = ["id", "checked_at", "state", "drifted", "drift", "error", "duration"]


class DriftSerializer(serializers.Serializer):
    workspace = serializers.CharField(help_text="The workspace's path.")
    state = serializers.ChoiceField(choices=["unchecked", "in_sync", "drifted", "error"], help_text="The latest check's; `unchecked` before any.")
    checks = DriftCheckSerializer(many=True, help_text=f"Newest first; the last {KEEP_CHECKS} are kept.")


class CheckQueuedSerializer(serializers.Serializer):
    workspace = serializers.CharField()
    queued = serializers.BooleanField(help_text="False when a check of it waited or ran already.")


@extend_schema(
    parameters=[WORKSPACE_ID],
    summary="A workspace's drift",
    description="Its drift checks, newest first, as the drift badge shows them. 403 `no_role`, `other_team` (the "
    "catalogue is closed), `platform` (the platform's drift is its admins').",
    responses={200: DriftSerializer, **error_responses(400, 401, 403, 404)},
)
class DriftView(KnownQueryParameters, APIView):
    def get(self, request, pk):
        workspace = workspace_for(request.user, pk, permissions.view_drift)
        checks = list(workspace.drift_checks.all()[:KEEP_CHECKS])
        body = {"workspace": workspace.path, "state": checks[0].state if checks else "unchecked", "checks": checks}
        return Response(DriftSerializer(body).data)


@extend_schema(
    parameters=[WORKSPACE_ID],
    summary="Check a workspace's drift now",
    description="The badge's **Check now**: queues a drift check of the workspace (a plan, never applied) (a low-priority job); "
    "its result appears in `GET .../drift/`. 403 `no_role`, `other_team`, `platform`; 409 `not_applied` "
    "(nothing to check), `workspace_busy` (a run is going on).",
    request=None,
    responses={202: CheckQueuedSerializer, **error_responses(401, 403, 404, 409)},
)
class DriftCheckView(KnownQueryParameters, APIView):
    def post(self, request, pk):
        workspace = workspace_for(request.user, pk, permissions.check_drift)
        queued = scheduling.check_now(workspace, request.user)
        return Response({"workspace": workspace.path, "queued": queued}, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    parameters=[WORKSPACE_ID],
    summary="Plan to restore a drifted workspace",
    description="The badge's **Plan to restore**: proposes the workspace's last applied inputs again, as an "
    "ordinary change that is approved and applied like any other. 403 as changing its service (`no_role`, "
    "`other_team`) or the platform (`no_role`); 409 `no_drift` (the latest check found none), "
    "`decommissioning`, `decommissioned`, `workspace_busy`.",
    request=None,
    responses={201: ChangeSerializer, **error_responses(401, 403, 404, 409)},
)
class DriftRestoreView(KnownQueryParameters, APIView):
    def post(self, request, pk):
        workspace = workspace_for(request.user, pk, permissions.restore_drift)
        change = plan_to_restore(workspace, request.user)
        return Response(change_json(change, request.user), status=status.HTTP_201_CREATED)
