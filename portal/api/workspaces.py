"""Workspaces in the API, as their page shows them: the active run and what waits behind it, the
workers' queue, the Terraform lock on the state and the admins' force-unlock. The page's functions
read the lock and the queue and remove the lock (portal.platform.workspace_pages); who may read a
workspace is who may read its runs (permissions.view_runs), who may unlock is asked by force_unlock."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.access import permissions
from portal.api.changes import RefusalSerializer
from portal.api.errors import error_responses
from portal.api.serializers import RunSummarySerializer
from portal.api.views import KnownQueryParameters, runs_queryset
from portal.api.workspace_lookup import WORKSPACE_ID, workspace_for
from portal.catalog.lookup import service_named
from portal.platform.workspace_pages import UnlockForm, force_unlock, read_lock, unlock_refusal
from portal.runner import locks
from portal.runs import queueing
from portal.runs.models import LockRelease
from portal.workspaces.models import Workspace

RECENT = 10  # runs and lock releases, as the page shows them


class WorkspaceSummarySerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="service.name", allow_null=True, help_text="Null for a platform workspace.")
    state_key = serializers.CharField()

    class Meta:
        model = Workspace
        fields = ["id", "path", "module", "service", "state_key", "apply_order"]


class StateLockSerializer(serializers.Serializer):
    id = serializers.CharField()
    operation = serializers.CharField(source="operation_display", help_text="e.g. `apply`, `plan`.")
    who = serializers.CharField(help_text="`user@host` of the terraform that took it.")
    created = serializers.DateTimeField(allow_null=True)
    version = serializers.CharField(help_text="Terraform's version.")


class LockReleaseSerializer(serializers.ModelSerializer):
    released_by = serializers.CharField(source="released_by.username", allow_null=True, help_text="Null: the portal released it.")
    run = serializers.UUIDField(source="run_id", allow_null=True)

    class Meta:
        model = LockRelease
        fields = ["lock_id", "holder", "operation", "locked_at", "released_by", "released_at", "reason", "run"]


class WorkspaceDetailSerializer(WorkspaceSummarySerializer):
    active_run = RunSummarySerializer(allow_null=True, help_text="The run planning, applying or waiting there; null when none.")
    behind = RunSummarySerializer(many=True, help_text="The active run's change's other runs still to come, in order.")
    queue_position = serializers.IntegerField(allow_null=True, help_text="The active run's place in the workers' queue (1: next).")
    lock = StateLockSerializer(allow_null=True, help_text="The Terraform lock on its state; null when unlocked or unreadable.")
    lock_problem = serializers.CharField(allow_blank=True, help_text="Why the lock could not be read; empty when it was.")
    lock_held_by_active_run = serializers.BooleanField()
    unlock_refusal = RefusalSerializer(allow_null=True, help_text="Why you may not remove the lock now; null when you may.")
    releases = LockReleaseSerializer(many=True, help_text=f"The last {RECENT} locks removed, newest first.")
    recent_runs = RunSummarySerializer(many=True, help_text=f"The last {RECENT} runs, newest first.")

    class Meta(WorkspaceSummarySerializer.Meta):
        fields = [
            *WorkspaceSummarySerializer.Meta.fields,
            "active_run",
            "behind",
            "queue_position",
            "lock",
            "lock_problem",
            "lock_held_by_active_run",
            "unlock_refusal",
            "releases",
            "recent_runs",
        ]


def workspace_json(workspace: Workspace, user) -> dict:
    """What the workspace page shows (portal.platform.workspace_pages.workspace_page), as JSON."""
    lock, problem = read_lock(workspace)
    active = runs_queryset().filter(workspace=workspace).active().first()
    behind = [run for run in active.change.runs_in_order() if run.pk != active.pk and run.is_active] if active and active.change_id else []
    queue = queueing.waiting_runs()
    position = next((index for index, run in enumerate(queue, start=1) if active and run.pk == active.pk), None)
    workspace.active_run = active
    workspace.behind = behind
    workspace.queue_position = position
    workspace.lock = lock
    workspace.lock_problem = problem
    workspace.lock_held_by_active_run = bool(lock and active and locks.taken_by(active, lock))
    workspace.unlock_refusal = unlock_refusal(workspace, user, lock, lock.id if lock else "")
    workspace.releases = workspace.lock_releases.select_related("released_by")[:RECENT]
    workspace.recent_runs = runs_queryset().filter(workspace=workspace).newest_first()[:RECENT]
    return WorkspaceDetailSerializer(workspace).data


@extend_schema(
    summary="List workspaces",
    description="The workspaces whose runs you may read (a service's: its team's and the admins'; the "
    "platform's: its admins'), by path. `service` narrows to one service's (a malformed name is 400, an "
    "unknown one 404; 403 `other_team` when you may not read its runs).",
    parameters=[OpenApiParameter("service", str, description="A service's name.")],
    responses={200: WorkspaceSummarySerializer(many=True), **error_responses(400, 401, 403, 404)},
)
class WorkspaceListView(KnownQueryParameters, generics.ListAPIView):
    serializer_class = WorkspaceSummarySerializer
    query_parameters = ("page", "page_size", "service")

    def get_queryset(self):
        user = self.request.user
        workspaces = Workspace.objects.select_related("service__team").order_by("path")
        name = self.request.query_params.get("service")
        if name is not None:
            service = service_named(name)
            # Reading a service's workspaces is reading their runs: the same answer for each of them.
            permissions.require(permissions.view_runs(user, Workspace(service=service)))
            return workspaces.filter(service=service)
        permissions.require(permissions.view_queue(user))  # the role to read runs at all
        if permissions.is_admin(user):
            return workspaces
        # What view_runs allows, as a query: the workspaces of the user's teams' services.
        return workspaces.filter(service__team_id__in=permissions.team_ids(user))


@extend_schema(
    parameters=[WORKSPACE_ID],
    summary="A workspace",
    description="What its page shows: the active run and the runs of its change behind it, its place in the "
    "workers' queue, the Terraform lock on its state (or why it could not be read), whether you may remove "
    "it, the locks removed before, the recent runs. 403 `no_role`, `other_team`, `platform`.",
    responses={200: WorkspaceDetailSerializer, **error_responses(400, 401, 403, 404)},
)
class WorkspaceDetailView(KnownQueryParameters, APIView):
    def get(self, request, pk):
        return Response(workspace_json(workspace_for(request.user, pk, permissions.view_runs), request.user))


class UnlockSerializer(serializers.Serializer):
    lock_id = serializers.CharField(max_length=64, help_text="The lock's id as `GET` shows it: a changed lock is refused.")
    confirm = serializers.BooleanField(help_text="true: removing a lock that a live terraform holds can corrupt the state.")

    def validate(self, data):
        # The page's form, so both refuse the same input with the same messages.
        form = UnlockForm({"lock_id": data["lock_id"], "confirm": "on" if data["confirm"] else ""})
        if not form.is_valid():
            raise ValidationError({name: list(messages) for name, messages in form.errors.items()})
        return form.cleaned_data


@extend_schema(
    parameters=[WORKSPACE_ID],
    summary="Remove a workspace's state lock",
    description="The admins' force-unlock: removes the Terraform lock `lock_id` from the workspace's state and "
    "records who did. 403 `no_role` (an admin only; or `other_team`/`platform`: you may not read the "
    "workspace); 409 `no_lock`, `lock_changed` (look again), `lock_in_use` (its run's worker is alive: cancel "
    "the run instead), `lock_unreadable`; 400 without `confirm: true`.",
    request=UnlockSerializer,
    responses={200: LockReleaseSerializer, **error_responses(400, 401, 403, 404, 409)},
)
class WorkspaceUnlockView(KnownQueryParameters, APIView):
    def post(self, request, pk):
        workspace = workspace_for(request.user, pk, permissions.view_runs)
        body = UnlockSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        release = force_unlock(workspace, request.user, body.validated_data["lock_id"])
        return Response(LockReleaseSerializer(release).data)


class QueuedRunSerializer(serializers.Serializer):
    position = serializers.IntegerField(help_text="1: the next run a worker takes.")
    run = serializers.UUIDField(source="run.pk")
    workspace = serializers.CharField(source="run.workspace.path")
    kind = serializers.CharField(source="run.kind")
    status = serializers.CharField(source="run.status")


@extend_schema(
    summary="The workers' queue",
    description="The runs whose jobs wait for a worker, the next first, as the workspace pages show them. 403 `no_role`; a page past the end is 404.",
    responses={200: QueuedRunSerializer(many=True), **error_responses(400, 401, 403, 404)},
)
class QueueView(KnownQueryParameters, generics.ListAPIView):
    serializer_class = QueuedRunSerializer
    query_parameters = ("page", "page_size")

    def get_queryset(self):
        permissions.require(permissions.view_queue(self.request.user))
        return [{"position": index, "run": run} for index, run in enumerate(queueing.waiting_runs(), start=1)]
