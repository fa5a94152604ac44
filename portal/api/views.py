"""Version 1 of the API: what people do in the browser, for CI. Views are thin; the work is done by
the same functions the pages call (portal.catalog.onboarding, portal.runs.queueing)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, permissions, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.errors import Conflict, error_responses
from portal.api.serializers import (
    DeploymentSerializer,
    QueuedSerializer,
    RunLogSerializer,
    RunSerializer,
    ServiceChangeSerializer,
    ServiceSerializer,
)
from portal.catalog.models import Service
from portal.catalog.onboarding import change_service, decommission_service, register_service
from portal.runs import queueing
from portal.runs.models import Run, RunStatus

READ_ERRORS = error_responses(401, 403, 404)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 409)


class ModelPermissions(permissions.DjangoModelPermissions):
    """The groups' model permissions, reads included (DRF checks only writes by default)."""

    perms_map = {**permissions.DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}


def queued(service: Service, change, http_status=status.HTTP_201_CREATED) -> Response:
    service = Service.objects.with_runs().get(pk=service.pk)
    runs = change.runs_in_order() if change else []
    return Response(QueuedSerializer({"service": service, "runs": runs}).data, status=http_status)


def busy_is_conflict(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except queueing.WorkspaceBusy as exc:
        raise Conflict(str(exc), code="workspace_busy")


@extend_schema_view(
    get=extend_schema(
        summary="List services",
        responses={200: ServiceSerializer(many=True), **error_responses(400, 401, 403, 404)},
    ),
    post=extend_schema(
        summary="Register a service",
        description="Same fields and rules as the form. Creates the service's workspaces and queues a plan "
        "of each as one change; an approver who is not the requester approves it.",
        request=ServiceSerializer,
        responses={201: QueuedSerializer, **WRITE_ERRORS},
    ),
)
class ServiceListView(generics.ListCreateAPIView):
    queryset = Service.objects.with_runs()
    serializer_class = ServiceSerializer
    permission_classes = [ModelPermissions]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        service, change = register_service(request.user, **serializer.validated_data)
        return queued(service, change)


@extend_schema_view(
    get=extend_schema(summary="A service", responses={200: ServiceSerializer, **READ_ERRORS}),
    patch=extend_schema(
        summary="Change sizing, desired count or health check",
        description="Renders the workspaces again and queues a plan; nothing is applied without approval. "
        "`runs` is empty when nothing changed.",
        request=ServiceChangeSerializer,
        responses={200: QueuedSerializer, **WRITE_ERRORS},
    ),
    delete=extend_schema(
        summary="Decommission a service",
        description="Queues destroy plans of the service's workspaces; they need approval like any other.",
        responses={202: QueuedSerializer, **error_responses(401, 403, 404, 409)},
    ),
)
class ServiceDetailView(generics.RetrieveUpdateDestroyAPIView):
    queryset = Service.objects.with_runs()
    serializer_class = ServiceSerializer
    permission_classes = [ModelPermissions]
    lookup_field = "name"
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def update(self, request, *args, **kwargs):
        service = self.get_object()
        serializer = ServiceChangeSerializer(service, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        change = busy_is_conflict(change_service, service, request.user, **serializer.validated_data)
        return queued(service, change, status.HTTP_200_OK)

    def destroy(self, request, *args, **kwargs):
        service = self.get_object()
        change = busy_is_conflict(decommission_service, service, request.user)
        return queued(service, change, status.HTTP_202_ACCEPTED)


@extend_schema(
    summary="Deploy an image tag",
    description="Queues plans that run the tag; `runs` is empty (200) when the service already runs it.",
    request=DeploymentSerializer,
    responses={201: QueuedSerializer, 200: QueuedSerializer, **WRITE_ERRORS},
)
class DeploymentView(APIView):
    queryset = Service.objects.all()  # for ModelPermissions: a deployment changes the service
    permission_classes = [ModelPermissions]

    def post(self, request, name):
        service = get_object_or_404(Service, name=name)
        serializer = DeploymentSerializer(service, data=request.data)
        serializer.is_valid(raise_exception=True)
        change = busy_is_conflict(change_service, service, request.user, **serializer.validated_data)
        return queued(service, change, status.HTTP_201_CREATED if change else status.HTTP_200_OK)

    def check_permissions(self, request):
        # POST maps to add_service in DjangoModelPermissions; deploying is a change.
        super().check_permissions(request)
        if not request.user.has_perm("catalog.change_service"):
            self.permission_denied(request, message="Deploying needs the permission to change services.")


def runs_queryset():
    return Run.objects.select_related("workspace", "requested_by", "approved_by")


@extend_schema(summary="A run", responses={200: RunSerializer, **READ_ERRORS})
class RunDetailView(generics.RetrieveAPIView):
    queryset = runs_queryset()
    serializer_class = RunSerializer
    permission_classes = [ModelPermissions]


@extend_schema(
    summary="Follow a run's log",
    parameters=[OpenApiParameter("offset", int, description="Characters already read; 0 for the whole log.")],
    responses={200: RunLogSerializer, **READ_ERRORS},
)
class RunLogView(generics.RetrieveAPIView):
    queryset = runs_queryset()
    permission_classes = [ModelPermissions]
    serializer_class = RunLogSerializer

    def retrieve(self, request, *args, **kwargs):
        run = self.get_object()
        offset = request.query_params.get("offset", "0")
        offset = int(offset) if offset.isdigit() else 0
        text = run.log[offset:]
        return Response({"status": run.status, "active": run.is_active, "text": text, "next_offset": offset + len(text)})


class RunActionView(generics.GenericAPIView):
    queryset = runs_queryset().select_related("change")
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = RunSerializer

    def accepted(self, run) -> Response:
        run.refresh_from_db()
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    summary="Approve a run's change",
    description="Approves every plan of the run's change (one approval per change) and queues the applies, "
    "in order. 403 without the approve permission or for the change's author; 409 when the run is not "
    "awaiting approval, another plan of its change has not finished, or the plan went stale.",
    request=None,
    responses={202: RunSerializer, **error_responses(401, 403, 404, 409)},
)
class RunApproveView(RunActionView):
    def post(self, request, pk):
        run = self.get_object()
        if not request.user.has_perm("runs.approve_run"):
            raise PermissionDenied("Approving needs the approvers' permission.")
        if run.change is None or request.user.pk in (run.requested_by_id, run.change.requested_by_id):
            raise PermissionDenied("A run is approved by someone other than its author.")
        if run.status != RunStatus.AWAITING_APPROVAL:
            raise Conflict(f"The run is {run.get_status_display().lower()}, not awaiting approval.", code="not_awaiting_approval")
        if not run.change.is_planned():
            raise Conflict("Another plan of this change has not finished; approve when all have.", code="change_not_planned")
        if not queueing.approve(run.change, request.user):
            raise Conflict("The run changed before the approval arrived; nothing was approved.", code="not_awaiting_approval")
        return self.accepted(run)


@extend_schema(
    summary="Discard a run's change",
    description="Discards every plan of the run's change that was not approved. 403 unless you requested it or "
    "may approve; 409 when the run is neither queued nor awaiting approval.",
    request=None,
    responses={202: RunSerializer, **error_responses(401, 403, 404, 409)},
)
class RunDiscardView(RunActionView):
    def post(self, request, pk):
        run = self.get_object()
        if request.user.pk != run.requested_by_id and not request.user.has_perm("runs.approve_run"):
            raise PermissionDenied("Only the run's author or an approver can discard it.")
        discardable = run.change is not None and run.status in (RunStatus.QUEUED, RunStatus.AWAITING_APPROVAL)
        if not discardable or not queueing.discard(run.change):
            raise Conflict(f"The run is {run.get_status_display().lower()}; only a queued plan or one awaiting approval can be discarded.", code="not_discardable")
        return self.accepted(run)


class NotFoundView(APIView):
    """Any other path under /api/: a JSON 404 like every other error, never Django's HTML page."""

    schema = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise NotFound("No such API endpoint; see /api/docs/.")
