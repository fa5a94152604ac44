"""Module rollouts in the API, for the platform's admins: propose one, follow its waves, resume it
(portal.rollouts.rollout, the Platform page's Roll out and the rollout page's Resume)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.access import permissions
from portal.api.errors import error_responses
from portal.api.views import KnownQueryParameters
from portal.api.workspace_lookup import MAX_ID
from portal.rollouts.models import Rollout
from portal.rollouts.pages import state_of
from portal.rollouts.rollout import behind, propose_rollout, resume_rollout
from portal.workspaces.models import Workspace

ROLLOUT_ID = OpenApiParameter("pk", int, OpenApiParameter.PATH, description="The rollout's id.")


class WaveRunSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    workspace = serializers.CharField(source="workspace.path")
    status = serializers.CharField()
    to_add = serializers.IntegerField(allow_null=True)
    to_change = serializers.IntegerField(allow_null=True)
    to_destroy = serializers.IntegerField(allow_null=True)


class WaveSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    change = serializers.UUIDField(source="change.pk", help_text="The wave's change: approve it at /api/v1/changes/<id>/approve/.")
    state = serializers.CharField(help_text="Where the wave stands, in words.")
    replaced = serializers.BooleanField(help_text="Planned again in a later wave (resumed, or reading outputs an earlier wave changed).")
    reason = serializers.CharField(help_text="Why the wave is there beyond being behind; empty for most.")
    runs = WaveRunSerializer(many=True)


class LeftOutSerializer(serializers.Serializer):
    path = serializers.CharField()
    why = serializers.CharField()


class RolloutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    module = serializers.CharField()
    version = serializers.CharField(source="sha256", help_text="The SHA-256 of the module's files rolled out.")
    changelog = serializers.CharField()
    status = serializers.ChoiceField(choices=Rollout.Status.choices)
    halted_because = serializers.CharField(help_text="Why it halted and what to do next; empty unless halted.")
    proposed_by = serializers.CharField(source="proposed_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    waves = WaveSerializer(many=True)
    behind = serializers.ListField(child=serializers.CharField(), help_text="Workspaces still behind this version's module.")
    left_out = LeftOutSerializer(many=True, help_text="Workspaces behind that were left out, with why.")


class ProposeRolloutSerializer(serializers.Serializer):
    module = serializers.CharField(max_length=64, help_text="A folder of infra_modules/ that workspaces are made from, e.g. ecs-service.")

    def validate_module(self, value):
        if not Workspace.objects.filter(module=value).exists():
            raise serializers.ValidationError("No workspace is made from that module: pick one listed under Module versions.")
        return value


def rollout_json(rollout: Rollout, user) -> dict:
    rollout = Rollout.objects.select_related("proposed_by").get(pk=rollout.pk)
    waves = list(rollout.waves.select_related("change"))
    for wave in waves:
        wave.state = state_of(wave, user)
        wave.runs = list(wave.change.runs.select_related("workspace").order_by("workspace__apply_order", "workspace__path"))
    shown = {field.name: getattr(rollout, field.name) for field in Rollout._meta.concrete_fields}
    shown["waves"] = waves
    shown["behind"] = [workspace.path for workspace in behind(rollout.module)] if rollout.status != Rollout.Status.DONE else []
    return RolloutSerializer(shown).data


@extend_schema(
    summary="Propose a module rollout",
    description="The Platform page's **Roll out**: every workspace behind the module's current version planned at once with "
    "the inputs it was last applied with, in waves (PORTAL_ROLLOUT_WAVES), each a change approved once the one before it applied. "
    "400 for a module no workspace is made from; 403 `no_role` (admins only); 409 `never_applied`, `up_to_date`, "
    "`rollout_running`, `rollout_halted` (resume it), `all_busy`.",
    request=ProposeRolloutSerializer,
    responses={201: RolloutSerializer, **error_responses(400, 401, 403, 409)},
)
class RolloutListView(KnownQueryParameters, APIView):
    def post(self, request):
        permissions.require(permissions.roll_out(request.user))
        asked = ProposeRolloutSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        rollout = propose_rollout(asked.validated_data["module"], request.user)
        return Response(rollout_json(rollout, request.user), status=status.HTTP_201_CREATED)


@extend_schema(
    parameters=[ROLLOUT_ID],
    summary="A module rollout",
    description="Its waves, each with its change, its state and its runs' plans; what is still behind; what was left out. 403 `no_role` (admins only).",
    responses={200: RolloutSerializer, **error_responses(401, 403, 404)},
)
class RolloutView(KnownQueryParameters, APIView):
    def get(self, request, pk):
        permissions.require(permissions.manage_platform(request.user))
        rollout = get_object_or_404(Rollout, pk=pk if 0 < pk <= MAX_ID else 0)
        return Response(rollout_json(rollout, request.user))


@extend_schema(
    parameters=[ROLLOUT_ID],
    summary="Resume a halted rollout",
    description="The rollout page's **Resume**: what is left planned again in new waves. 403 `no_role`; 404; 409 `not_halted`, `module_changed`, `all_busy`.",
    request=None,
    responses={200: RolloutSerializer, **error_responses(401, 403, 404, 409)},
)
class RolloutResumeView(KnownQueryParameters, APIView):
    def post(self, request, pk):
        permissions.require(permissions.roll_out(request.user))
        rollout = get_object_or_404(Rollout, pk=pk if 0 < pk <= MAX_ID else 0)
        return Response(rollout_json(resume_rollout(rollout, request.user), request.user))
