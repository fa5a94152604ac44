"""Changes in the API, as on their page: what is asked (its runs), whether the caller may approve or
discard it and why not, and the two decisions. The workflow decides (portal.changes.workflow); a refusal
is the answer, with its code."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.access import permissions
from portal.api.errors import error_responses
from portal.api.serializers import RunSummarySerializer
from portal.api.views import KnownQueryParameters
from portal.approvals import policy as approval_policy
from portal.changes import workflow
from portal.runs.models import Change

CHANGE_ID = OpenApiParameter("id", {"type": "string", "format": "uuid"}, OpenApiParameter.PATH, description="The change's id (a run's `change_id`).")


class RefusalSerializer(serializers.Serializer):
    """Why an action is not offered, as the page says it beside its button."""

    code = serializers.CharField(help_text="The code the action's request would be refused with.")
    detail = serializers.CharField(source="message")
    status = serializers.IntegerField(source="http_status", help_text="403 (who asks) or 409 (the state things are in).")


def refusal_json(refusal) -> dict | None:
    return None if refusal is None else RefusalSerializer(refusal).data


class ApprovalsSerializer(serializers.Serializer):
    """What the approval policy decided of the change once its plans had all finished."""

    needed = serializers.IntegerField(help_text="0: the portal approves it under its own name; 1 or 2: that many people, none the proposer.")
    rule = serializers.CharField(help_text="two_approvals, image_deploy or one_approval.")
    reason = serializers.CharField()
    given = serializers.ListField(child=serializers.CharField(), help_text="Who approved it so far, when it needs two.")


class ChangeSerializer(serializers.ModelSerializer):
    """A change and its runs, in the order they apply (a decommission's reversed). `context["user"]`
    is who reads it: `approval_refusal` and `discard_refusal` answer for them."""

    service = serializers.CharField(source="service.name", allow_null=True, read_only=True, help_text="Null for a platform change.")
    requested_by = serializers.CharField(source="requested_by.username", allow_null=True, read_only=True)
    runs = serializers.SerializerMethodField()
    approval_refusal = serializers.SerializerMethodField(help_text="Why you may not approve it now; null when you may.")
    discard_refusal = serializers.SerializerMethodField(help_text="Why you may not discard it now; null when you may.")
    approvals = serializers.SerializerMethodField(help_text="How many approvals it needs and why; null until its plans have all finished.")

    class Meta:
        model = Change
        fields = [
            "id",
            "title",
            "service",
            "outcome",
            "destroys",
            "platform_approval",
            "requested_by",
            "created_at",
            "settled_at",
            "runs",
            "approvals",
            "approval_refusal",
            "discard_refusal",
        ]

    def ordered_runs(self, change) -> list:
        if not hasattr(change, "_api_runs"):
            change._api_runs = change.runs_in_order()
        return change._api_runs

    @extend_schema_field(RunSummarySerializer(many=True))
    def get_runs(self, change) -> list:
        return RunSummarySerializer(self.ordered_runs(change), many=True).data

    @extend_schema_field(RefusalSerializer(allow_null=True))
    def get_approval_refusal(self, change) -> dict | None:
        return refusal_json(workflow.approval_refusal(change, self.context["user"], self.ordered_runs(change)))

    @extend_schema_field(ApprovalsSerializer(allow_null=True))
    def get_approvals(self, change) -> dict | None:
        return approval_policy.approvals_of(change)

    @extend_schema_field(RefusalSerializer(allow_null=True))
    def get_discard_refusal(self, change) -> dict | None:
        return refusal_json(workflow.discard_refusal(change, self.context["user"], self.ordered_runs(change)))


def change_json(change: Change, user) -> dict:
    change = Change.objects.select_related("service", "requested_by").get(pk=change.pk)
    return ChangeSerializer(change, context={"user": user}).data


def visible_change(user, pk) -> Change:
    """As the change page finds it: read by those who may read the runs of every workspace it touches."""
    change = get_object_or_404(Change.objects.select_related("service", "requested_by"), pk=pk)
    permissions.require(permissions.view_change(user, change))
    return change


@extend_schema(
    parameters=[CHANGE_ID],
    summary="A change",
    description="What its page shows: its runs in apply order, and whether you may approve or discard it now "
    "(`approval_refusal`, `discard_refusal`: the code and sentence the request would be refused with). 403 "
    "`no_role`, `other_team`, `platform` when you may not read the runs of one of its workspaces.",
    responses={200: ChangeSerializer, **error_responses(400, 401, 403, 404)},
)
class ChangeDetailView(KnownQueryParameters, APIView):
    def get(self, request, pk):
        return Response(change_json(visible_change(request.user, pk), request.user))


class ChangeDecisionView(KnownQueryParameters, APIView):
    decision = None

    def post(self, request, pk):
        change = visible_change(request.user, pk)
        self.decision(change, request.user)
        return Response(change_json(change, request.user), status=status.HTTP_202_ACCEPTED)


@extend_schema(
    parameters=[CHANGE_ID],
    summary="Approve a change",
    description="The change page's **Approve and apply**: approves every plan of the change and queues the "
    "applies, in order. A change the approval policy asks two approvals of (`approvals.needed`) waits after "
    "the first, which `approvals.given` lists. 403: `no_role`/`other_team`/`platform` (you may not read it), `not_approver`, "
    "`other_team`, `platform_permission`, `own_change`. 409: `already_approved`, `discarded`, `stale`, "
    "`cancelled`, `plan_failed`, `plan_running`, `nothing_to_approve`, `approved_by_you`, and the policy check's "
    "(`policy_blocked`) and the administrators' (`bootstrap_identity_needed`).",
    request=None,
    responses={202: ChangeSerializer, **error_responses(401, 403, 404, 409)},
)
class ChangeApproveView(ChangeDecisionView):
    decision = staticmethod(workflow.approve)


@extend_schema(
    parameters=[CHANGE_ID],
    summary="Discard a change",
    description="The change page's **Discard**: every plan that waits is discarded, nothing of it is applied. "
    "403 `not_allowed` unless you proposed it or may approve it (or `no_role`/`other_team`/`platform`: you "
    "may not read it); 409 `plan_running`, `not_discardable`.",
    request=None,
    responses={202: ChangeSerializer, **error_responses(401, 403, 404, 409)},
)
class ChangeDiscardView(ChangeDecisionView):
    decision = staticmethod(workflow.discard)
