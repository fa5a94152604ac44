"""Version 1 of the API: what people do in the browser, for CI. Views are thin; the work is done by
the same functions the pages call (portal.catalog.onboarding, portal.changes.workflow), and a refusal
of the workflow answers with its own code and sentence (portal.api.errors)."""

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework import permissions as drf_permissions
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from portal.access import permissions
from portal.api.errors import error_responses
from portal.api.pagination import KeysetPagination
from portal.api.renderers import JSONLinesRenderer
from portal.api.representation import service_rows, services_json
from portal.api.scopes import TokenLimits
from portal.api.serializers import (
    AuditEventSerializer,
    DeploymentSerializer,
    PolicyOverrideRequestSerializer,
    QueuedSerializer,
    RunLogSerializer,
    RunSerializer,
    ServiceChangeSerializer,
    ServiceSerializer,
)
from portal.audit.filters import PARAMETERS as AUDIT_FILTERS
from portal.audit.filters import filtered as audit_events
from portal.audit.models import Action, AuditEvent
from portal.catalog import rules
from portal.catalog.lookup import STATUS_FILTERS, service_named, services_in
from portal.catalog.models import Service
from portal.catalog.onboarding import change_service, decommission_service, register_service
from portal.changes import workflow
from portal.core import params
from portal.costs import policy as cost_policy
from portal.policy import checks as policy
from portal.runs.models import Run

READ_ERRORS = error_responses(400, 401, 403, 404)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 409)
SERVICE_NAME = OpenApiParameter(
    "name",
    {
        "type": "string",
        "pattern": rules.NAME_PATTERN.pattern.replace("\\Z", "$"),
        "minLength": rules.NAME_MIN_LENGTH,
        "maxLength": rules.NAME_MAX_LENGTH,
    },
    OpenApiParameter.PATH,
    description="The service's name; a malformed one is 400.",
)


class Asks(drf_permissions.IsAuthenticated):
    """Who may is decided by the functions of portal.access.permissions, which every view below asks
    (as the pages ask them); DRF only makes sure someone is logged in. `may` is the function for a
    view about no one object."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        may = getattr(view, "may", None)
        if may is not None:
            permissions.require(may(request.user))
        return True


# A token's limits first (its scope, its service: portal.api.scopes), then what its user may.
PERMISSIONS = [TokenLimits, Asks]


def queued(service: Service, change, http_status=status.HTTP_201_CREATED) -> Response:
    service = Service.objects.with_runs().get(pk=service.pk)
    runs = change.runs_in_order() if change else []
    return Response(QueuedSerializer({"service": service, "runs": runs}).data, status=http_status)


class KnownQueryParameters:
    """Refuses query parameters the endpoint does not know: a typo (`?pagesize=`) should be heard
    about, not silently ignored."""

    query_parameters: tuple[str, ...] = ()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        unknown = sorted(set(request.query_params) - set(self.query_parameters) - {"format"})
        if unknown:
            known = ", ".join(self.query_parameters) or "none"
            raise ValidationError({name[:50]: [f"Unknown query parameter; this endpoint takes: {known}."] for name in unknown[:5]})


class ServiceLookup:
    """The service is found by name the same way the pages find it: a malformed name is 400."""

    def get_object(self):
        service = service_named(self.kwargs["name"], self.get_queryset())
        self.check_object_permissions(self.request, service)
        permissions.require(permissions.view_service(self.request.user, service))
        return service


@extend_schema_view(
    get=extend_schema(
        summary="List services",
        description="Active and decommissioning services by default; `status` filters by lifecycle.",
        parameters=[
            OpenApiParameter(
                "status", str, enum=list(STATUS_FILTERS), description="`live` (active and decommissioning, the default), `all`, or one lifecycle state."
            ),
            OpenApiParameter("team", str, description="A team's name, or `mine` for your teams; absent, every team you may read."),
        ],
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
class ServiceListView(KnownQueryParameters, generics.ListCreateAPIView):
    queryset = Service.objects.with_runs()
    serializer_class = ServiceSerializer
    permission_classes = PERMISSIONS
    token_actions = {"GET": "list", "POST": "register"}
    may = staticmethod(permissions.list_services)  # registering asks permissions.register_service too
    query_parameters = ("page", "page_size", "status", "team")

    def listed(self):
        params = self.request.query_params
        return services_in(params.get("status"), params.get("team"), self.request.user)

    def get_queryset(self):
        return self.listed().with_runs()

    def list(self, request, *args, **kwargs):
        # ServiceSerializer's JSON, built without DRF's per-field work (portal.api.representation).
        page = self.paginate_queryset(service_rows(self.listed()))
        return self.get_paginated_response(services_json(page))

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        service, change = register_service(request.user, **serializer.validated_data)
        return queued(service, change)


@extend_schema(parameters=[SERVICE_NAME])
@extend_schema_view(
    get=extend_schema(summary="A service", responses={200: ServiceSerializer, **READ_ERRORS}),
    patch=extend_schema(
        summary="Change sizing, desired count or health check",
        description="Proposes the applied declaration plus these fields as a new revision and queues its "
        "plans; nothing is applied, and the applied declaration does not move, until it is approved and "
        "applied. A change still waiting for approval is superseded. `runs` is empty when nothing changed.",
        request=ServiceChangeSerializer,
        responses={200: QueuedSerializer, **WRITE_ERRORS},
    ),
    delete=extend_schema(
        summary="Decommission a service",
        description="Queues destroy plans of the service's workspaces; they need approval like any other. "
        "The repository's images are deleted with it. The service is `decommissioning` until the change "
        "has applied, then `decommissioned`, and its name can be registered again.",
        responses={202: QueuedSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
)
class ServiceDetailView(KnownQueryParameters, ServiceLookup, generics.RetrieveUpdateDestroyAPIView):
    queryset = Service.objects.all()  # each method reads what it shows (retrieve, queued)
    serializer_class = ServiceSerializer
    permission_classes = PERMISSIONS
    token_actions = {"GET": "read", "PATCH": "change", "DELETE": "decommission"}
    lookup_field = "name"
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def retrieve(self, request, *args, **kwargs):
        # ServiceSerializer's JSON, built as the list builds it (portal.api.representation).
        service = self.get_object()
        return Response(services_json(service_rows(Service.objects.filter(pk=service.pk)))[0])

    def update(self, request, *args, **kwargs):
        service = self.get_object()
        serializer = ServiceChangeSerializer(service, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        change = change_service(service, request.user, **serializer.validated_data)
        return queued(service, change, status.HTTP_200_OK)

    def destroy(self, request, *args, **kwargs):
        service = self.get_object()
        change = decommission_service(service, request.user)
        return queued(service, change, status.HTTP_202_ACCEPTED)


@extend_schema(
    parameters=[SERVICE_NAME],
    summary="Deploy an image tag",
    description="Queues plans that run the tag; `runs` is empty (200) when the service already runs it.",
    request=DeploymentSerializer,
    responses={201: QueuedSerializer, 200: QueuedSerializer, **WRITE_ERRORS},
)
class DeploymentView(KnownQueryParameters, APIView):
    permission_classes = PERMISSIONS
    token_actions = {"POST": "deploy"}

    def post(self, request, name):
        service = service_named(name)
        self.check_object_permissions(request, service)
        permissions.require(permissions.view_service(request.user, service))
        serializer = DeploymentSerializer(service, data=request.data)
        serializer.is_valid(raise_exception=True)
        change = change_service(service, request.user, **serializer.validated_data)
        return queued(service, change, status.HTTP_201_CREATED if change else status.HTTP_200_OK)


def runs_queryset():
    return Run.objects.select_related("workspace__service__team", "requested_by", "approved_by", "change__revision__based_on")


class RunLookup:
    """A run is read by those who may read its workspace's runs (the team's, the platform's admins)."""

    def get_object(self):
        run = super().get_object()
        permissions.require(permissions.view_runs(self.request.user, run.workspace))
        return run


@extend_schema(summary="A run", responses={200: RunSerializer, **READ_ERRORS})
class RunDetailView(KnownQueryParameters, RunLookup, generics.RetrieveAPIView):
    queryset = runs_queryset()
    serializer_class = RunSerializer
    permission_classes = PERMISSIONS
    token_actions = {"GET": "read_runs"}


@extend_schema(
    summary="Follow a run's log",
    parameters=[OpenApiParameter("offset", {"type": "integer", "minimum": 0}, description="Characters already read; 0 for the whole log.")],
    responses={200: RunLogSerializer, **error_responses(400, 401, 403, 404)},
)
class RunLogView(KnownQueryParameters, RunLookup, generics.RetrieveAPIView):
    queryset = runs_queryset()
    permission_classes = PERMISSIONS
    token_actions = {"GET": "read_runs"}
    serializer_class = RunLogSerializer
    query_parameters = ("offset",)

    def retrieve(self, request, *args, **kwargs):
        run = self.get_object()
        text, next_offset = run.log_from(params.whole_number(request.query_params, "offset", default=0))
        return Response({"status": run.status, "active": run.is_active, "text": text, "next_offset": next_offset})


class RunActionView(KnownQueryParameters, generics.GenericAPIView):
    """Approve or discard the run's change: the workflow decides, its refusal is the answer."""

    queryset = runs_queryset()
    permission_classes = PERMISSIONS
    serializer_class = RunSerializer
    action = None

    def post(self, request, pk):
        run = self.get_object()
        if run.change is None:
            raise workflow.Refused(workflow.Refusal("no_change", "This run belongs to no change; there is nothing to decide."))
        self.action(run.change, request.user)
        run = self.get_queryset().get(pk=run.pk)
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    summary="Approve a run's change",
    description="Approves every plan of the run's change (one approval per change) and queues the applies, "
    "in order. 403: `not_approver`, `own_change` (the proposer cannot approve), `platform_permission` (a "
    "platform change needs a platform admin). 409: `plan_running`, `plan_failed` (a failed plan blocks the "
    "whole change), `discarded`, `stale`, `already_approved`, `nothing_to_approve`.",
    request=None,
    responses={202: RunSerializer, **error_responses(401, 403, 404, 409)},
)
class RunApproveView(RunActionView):
    action = staticmethod(workflow.approve)
    token_actions = {"POST": "approve"}


@extend_schema(
    summary="Discard a run's change",
    description="Discards every plan of the run's change that waits for approval; nothing of it is applied, and "
    "the service's applied declaration stays as it was. 403 (`not_allowed`) unless you proposed it or may approve "
    "it; 409 while a plan runs (`plan_running`) or when nothing waits (`not_discardable`).",
    request=None,
    responses={202: RunSerializer, **error_responses(401, 403, 404, 409)},
)
class RunDiscardView(RunActionView):
    action = staticmethod(workflow.discard)
    token_actions = {"POST": "discard"}


@extend_schema(
    summary="Override the policy check of a run's change",
    description="Records an approver's written reason for letting the change's blocking policy findings through "
    "(one override per change); the change may then be approved. Same rules as approving: 403 `not_approver`, "
    "`own_change` (the proposer cannot override), `platform_permission`; 409 `nothing_to_override`, "
    "`already_overridden`, and the approval's own (`plan_running`, `discarded`...); 400 when the reason is "
    "shorter than 20 characters.",
    request=PolicyOverrideRequestSerializer,
    responses={201: RunSerializer, **error_responses(400, 401, 403, 404, 409)},
)
class RunPolicyOverrideView(RunActionView):
    token_actions = {"POST": "override_policy"}

    def post(self, request, pk):
        run = self.get_object()
        if run.change is None:
            raise workflow.Refused(workflow.Refusal("no_change", "This run belongs to no change; there is nothing to decide."))
        body = PolicyOverrideRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        policy.override(run.change, request.user, body.validated_data["reason"])
        return Response(RunSerializer(self.get_queryset().get(pk=run.pk)).data, status=status.HTTP_201_CREATED)


@extend_schema(
    summary="Lift the cost policy's hold on a run's change",
    description="Records an admin's written reason for letting a change be approved whose monthly increase is above "
    "PORTAL_COST_HOLD_ABOVE, or whose plan could not be priced (one override per change). 403 `no_role` (not an admin), "
    "`own_change` (the proposer cannot); 409 `nothing_to_override`, `already_overridden`, `not_pending`; 400 when the "
    "reason is shorter than 20 characters.",
    request=PolicyOverrideRequestSerializer,
    responses={201: RunSerializer, **error_responses(400, 401, 403, 404, 409)},
)
class RunCostOverrideView(RunActionView):
    token_actions = {"POST": "override_cost"}

    def post(self, request, pk):
        run = self.get_object()
        if run.change is None:
            raise workflow.Refused(workflow.Refusal("no_change", "This run belongs to no change; there is nothing to decide."))
        body = PolicyOverrideRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        cost_policy.override(run.change, request.user, body.validated_data["reason"])
        return Response(RunSerializer(self.get_queryset().get(pk=run.pk)).data, status=status.HTTP_201_CREATED)


@extend_schema(
    summary="Cancel a run",
    description="A run that waits for a worker (`queued`, `approved`) ends `cancelled` at once and the rest of its "
    "change is abandoned. A run that plans or applies is stopped by its worker: terraform gets an interrupt, "
    "writes its state and releases its lock (it is killed after PORTAL_TERRAFORM_INTERRUPT_GRACE seconds if it "
    "has not stopped); `cancel_requested_at` is set at once and the run ends `cancelled` a moment later. "
    "403 (`not_allowed`) unless you requested it, may approve it or are an admin; 409 when it waits for approval "
    "or has ended (`not_cancellable`, discard the change instead) or a cancel was asked already (`cancel_requested`).",
    request=None,
    responses={202: RunSerializer, **error_responses(401, 403, 404, 409)},
)
class RunCancelView(RunActionView):
    token_actions = {"POST": "cancel"}

    def post(self, request, pk):
        run = workflow.cancel(self.get_object(), request.user)
        return Response(RunSerializer(self.get_queryset().get(pk=run.pk)).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    summary="The audit trail",
    description="Every action taken in the portal, newest first: who, when, from which address, on what. "
    "Admins only (403 otherwise). Filters combine; a date is a whole day (UTC), a date and time is exact. "
    "`?format=jsonl`: the whole selection, unpaginated, as JSON lines (one event per line, streamed); "
    "the page's export `/audit/export.jsonl` is the same.",
    parameters=[
        OpenApiParameter("action", str, enum=["", *Action.values], description="One kind of action; empty: any."),
        OpenApiParameter("format", str, enum=["json", "jsonl"], description="`jsonl`: every selected event, unpaginated, one per line."),
        OpenApiParameter("actor", {"type": "string", "maxLength": 150}, description="A username, exactly."),
        OpenApiParameter("team", {"type": "string", "maxLength": 63}, description="A team's name, exactly: events on its services, changes, runs."),
        OpenApiParameter("object_type", {"type": "string", "maxLength": 100}, description="e.g. `catalog.service`."),
        OpenApiParameter("object_id", {"type": "string", "maxLength": 64}, description="The object's id."),
        OpenApiParameter("since", {"type": "string", "maxLength": 40}, description="From this date or date-time on (ISO 8601)."),
        OpenApiParameter("until", {"type": "string", "maxLength": 40}, description="Up to and including this date, or before this date-time."),
    ],
    responses={
        (200, "application/json"): AuditEventSerializer(many=True),
        (200, "application/jsonl"): OpenApiResponse(OpenApiTypes.STR, description="One event per line, as in `results`."),
        **READ_ERRORS,
    },
)
class AuditListView(KnownQueryParameters, generics.ListAPIView):
    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventSerializer
    permission_classes = PERMISSIONS
    token_actions = {"GET": "read_audit"}
    may = staticmethod(permissions.view_audit)
    query_parameters = ("page", "page_size", "older", "newer", *AUDIT_FILTERS)
    pagination_class = KeysetPagination
    renderer_classes = [*api_settings.DEFAULT_RENDERER_CLASSES, JSONLinesRenderer]

    def initial(self, request, *args, **kwargs):
        if request.query_params.get("format") == "":
            raise ValidationError({"format": ["Give `json` or `jsonl`, or leave the parameter out."]})
        super().initial(request, *args, **kwargs)

    def get_queryset(self):
        return audit_events(self.request.query_params)[1]

    def list(self, request, *args, **kwargs):
        if request.accepted_renderer.format != JSONLinesRenderer.format:
            return super().list(request, *args, **kwargs)
        # ?format=jsonl: every selected event, unpaginated, streamed from the database in chunks.
        # The paging parameters mean nothing here, but a malformed one is still refused as in JSON.
        self.paginator.get_page_size(request)
        self.paginator.get_page_number(request, None)
        self.paginator.check_places(request, AuditEvent)
        return StreamingHttpResponse(self.get_queryset().json_lines(), content_type="application/jsonl; charset=utf-8")


class NotFoundView(APIView):
    """Any other path under /api/: a JSON 404 like every other error, never Django's HTML page."""

    schema = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise NotFound("No such API endpoint; see /api/docs/.")
