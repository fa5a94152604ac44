"""The Administrators page in the API, for admins: the administrator of each AWS service type, and
proposing a change of them (portal.administrators.roster: add, change_scope, retire). A change of
the administrators is a change of their workspace, approved by another admin like any other."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.access import permissions
from portal.administrators import roster
from portal.administrators.forms import AddTypeForm, ScopeForm
from portal.api.errors import error_responses
from portal.api.form_bodies import FormBody, form_checked
from portal.api.serializers import RunSerializer, RunSummarySerializer
from portal.api.views import KnownQueryParameters, runs_queryset
from portal.workspaces.declared import declared_administrators

SERVICE_TYPE = OpenApiParameter(
    "service_type",
    {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$", "maxLength": 50},
    OpenApiParameter.PATH,
    description="An AWS service type, e.g. `ecs`; one that is not a slug is no path here (404).",
)
PATTERNS_HELP = 'Names of the resources it may manage, e.g. `["art-service-*"]`: lowercase letters, digits and hyphens, an optional trailing `*`.'


class AdministratorSerializer(serializers.Serializer):
    service_type = serializers.CharField()
    description = serializers.CharField()
    declared = serializers.BooleanField(help_text="Whether it is among the administrators as last applied.")
    name_patterns = serializers.ListField(child=serializers.CharField())
    user_name = serializers.CharField(allow_blank=True, help_text="Its IAM user; empty until applied.")
    role_arn = serializers.CharField(allow_blank=True, help_text="The role the portal assumes for its workspaces.")
    state_role_arn = serializers.CharField(allow_blank=True, help_text="The role that reads and writes their state.")
    summary = serializers.ListField(child=serializers.CharField(), help_text="One line per statement of its policy.")
    workspaces = serializers.SerializerMethodField(help_text="The paths of the workspaces that run with it.")
    pending = serializers.CharField(allow_blank=True, help_text="What the pending change does to it; empty when nothing.")
    editable = serializers.BooleanField(help_text="False for the iam administrator: its scope changes only through the bootstrap identity.")

    def get_workspaces(self, row) -> list[str]:
        return [workspace.path for workspace in row.workspaces]


class AdministratorsSerializer(serializers.Serializer):
    administrators = AdministratorSerializer(many=True)
    pending_run = RunSummarySerializer(allow_null=True, help_text="The administrators' change waiting or under way; null when none.")


def patterns_text(data) -> str:
    """The form's field takes the patterns as one string, as typed on the page."""
    patterns = data.get("name_patterns")
    if isinstance(patterns, list) and all(isinstance(p, str) for p in patterns):
        return ", ".join(patterns)
    raise ValidationError({"name_patterns": ['Give a list of name patterns, such as ["art-service-*"].']})


class AddAdministratorSerializer(FormBody):
    service_type = serializers.CharField(help_text="A known AWS service type without an administrator.")
    name_patterns = serializers.ListField(child=serializers.CharField(), help_text=PATTERNS_HELP)

    def checked(self, data):
        form = AddTypeForm({"service_type": data.get("service_type"), "name_patterns": patterns_text(data)}, declared=declared_administrators())
        return form_checked(form)


class ScopeSerializer(FormBody):
    name_patterns = serializers.ListField(child=serializers.CharField(), help_text=PATTERNS_HELP)

    def checked(self, data):
        return form_checked(ScopeForm({"name_patterns": patterns_text(data)}))


def manager(request):
    permissions.require(permissions.manage_administrators(request.user))


def planned(run, http_status=status.HTTP_201_CREATED) -> Response:
    return Response(RunSerializer(runs_queryset().get(pk=run.pk)).data, status=http_status)


PLANNED = (
    "Answers with the administrators workspace's run; another admin approves its change, then the iam "
    "administrator applies it. 403 `no_role` (admins only); 409 `no_change`, `iam_stays`, "
    "`iam_scope_is_bootstrap`, `type_in_use`, `workspace_busy`"
)


@extend_schema_view(
    get=extend_schema(
        summary="The administrators",
        description="One per known AWS service type (declared or not): its IAM user, roles, policy summary, "
        "workspaces, and what a pending change does to it. 403 `no_role` (admins only).",
        responses={200: AdministratorsSerializer, **error_responses(400, 401, 403)},
    ),
    post=extend_schema(
        summary="Add an administrator",
        description=f"Plans an administrator for a service type that has none. {PLANNED}; 400 for an unknown or "
        "declared type or a bad pattern, with the page's messages.",
        request=AddAdministratorSerializer,
        responses={201: RunSerializer, **error_responses(400, 401, 403, 409)},
    ),
)
class AdministratorListView(KnownQueryParameters, APIView):
    def get(self, request):
        manager(request)
        rows, pending, _ = roster.rows()
        return Response(AdministratorsSerializer({"administrators": rows, "pending_run": pending}).data)

    def post(self, request):
        manager(request)
        body = AddAdministratorSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return planned(roster.add(request.user, body.validated_data["service_type"], body.validated_data["name_patterns"]))


@extend_schema(parameters=[SERVICE_TYPE])
@extend_schema_view(
    patch=extend_schema(
        summary="Change an administrator's scope",
        description=f"Plans the administrator with these name patterns. {PLANNED}, `not_declared` (no such administrator); 400 for a bad pattern.",
        request=ScopeSerializer,
        responses={201: RunSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
    delete=extend_schema(
        summary="Retire an administrator",
        description=f"Plans the administrators without it. {PLANNED}, `not_declared`.",
        request=None,
        responses={202: RunSerializer, **error_responses(401, 403, 404, 409)},
    ),
)
class AdministratorDetailView(KnownQueryParameters, APIView):
    def patch(self, request, service_type):
        manager(request)
        if service_type not in declared_administrators():
            return planned(roster.change_scope(request.user, service_type, []))  # its refusal: not_declared
        body = ScopeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return planned(roster.change_scope(request.user, service_type, body.validated_data["name_patterns"]))

    def delete(self, request, service_type):
        manager(request)
        return planned(roster.retire(request.user, service_type), status.HTTP_202_ACCEPTED)
