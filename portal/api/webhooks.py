"""Webhooks in the API, as on the Webhooks pages: a service's (its team's developers add and remove
them) and the platform's (its admins'), each with its recent deliveries. A URL is checked by the
page's own form (WebhookForm: portal.notifications.targets.check), and saved by it."""

from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.access import permissions
from portal.api.errors import error_responses
from portal.api.form_bodies import FormBody, form_checked
from portal.api.views import SERVICE_NAME, KnownQueryParameters
from portal.catalog.lookup import service_named
from portal.notifications.forms import WebhookForm
from portal.notifications.models import Delivery, Event, Webhook
from portal.notifications.views import RECENT_DELIVERIES

WEBHOOK_ID = OpenApiParameter("id", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}, OpenApiParameter.PATH, description="The webhook's id.")


class DeliverySerializer(serializers.ModelSerializer):
    outcome_text = serializers.CharField(read_only=True, help_text="The last attempt in a sentence, as the page says it.")

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "status",
            "attempts",
            "response_code",
            "outcome",
            "outcome_text",
            "created_at",
            "last_attempt_at",
            "delivered_at",
            "next_attempt_at",
        ]


class WebhookSerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="service.name", allow_null=True, read_only=True, help_text="Null: the platform's.")
    events = serializers.ListField(child=serializers.ChoiceField(choices=Event.choices))
    secret_hint = serializers.CharField(read_only=True, help_text="The secret's last four characters.")
    created_by = serializers.CharField(source="created_by.username", allow_null=True, read_only=True)
    recent_deliveries = DeliverySerializer(many=True, read_only=True, help_text=f"The last {RECENT_DELIVERIES}, newest first.")

    class Meta:
        model = Webhook
        fields = ["id", "service", "url", "events", "active", "secret_hint", "created_by", "created_at", "recent_deliveries"]


class WebhookRequestSerializer(FormBody):
    url = serializers.CharField(help_text=WebhookForm.base_fields["url"].help_text, max_length=500)
    events = serializers.ListField(child=serializers.ChoiceField(choices=Event.choices), min_length=1)

    def checked(self, data):
        # The page's form: the same checks (the URL's every address), the same messages; it saves too.
        self.form = WebhookForm({"url": data.get("url"), "events": data.get("events")})
        return form_checked(self.form)


class CreatedWebhookSerializer(WebhookSerializer):
    secret = serializers.CharField(read_only=True, help_text="The HMAC-SHA256 key the deliveries are signed with: shown in this answer only.")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


def webhooks_of(service):
    webhooks = (
        Webhook.objects.for_service(service)
        .select_related("service", "created_by")
        .prefetch_related(Prefetch("deliveries", queryset=Delivery.objects.order_by("-created_at"), to_attr="all_deliveries"))
    )
    return webhooks


class WebhookList(KnownQueryParameters, generics.ListAPIView):
    """A service's webhooks, or the platform's (`service_of` answers None)."""

    serializer_class = WebhookSerializer
    query_parameters = ("page", "page_size")

    def service_of(self, request):
        return None

    def get_queryset(self):
        service = self.service_of(self.request)
        permissions.require(permissions.view_webhooks(self.request.user, service))
        return webhooks_of(service)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        for webhook in page:
            webhook.recent_deliveries = webhook.all_deliveries[:RECENT_DELIVERIES]
        return self.get_paginated_response(WebhookSerializer(page, many=True).data)

    def post(self, request, *args, **kwargs):
        service = self.service_of(request)
        # As on the page: who may not see a service's (or the platform's) webhooks hears that first.
        permissions.require(permissions.view_webhooks(request.user, service))
        permissions.require(permissions.manage_webhooks(request.user, service))
        body = WebhookRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        webhook = body.form.save(service, request.user)
        webhook.recent_deliveries = []
        return Response(CreatedWebhookSerializer(webhook).data, status=status.HTTP_201_CREATED)


WRITE_DESCRIPTION = (
    "The URL is checked as on the page: http(s), no credentials, port 80, 443 or 1024-65535, and every address "
    "its host resolves to public (or in PORTAL_NOTIFICATIONS_ALLOWED_NETWORKS); a refused URL is 400 with "
    "the reason under `fields.url`. The answer holds the signing `secret`, shown this once."
)


@extend_schema_view(
    get=extend_schema(
        summary="The platform's webhooks",
        description="Told of platform runs; each with its recent deliveries. 403 `no_role` (admins only).",
        responses={200: WebhookSerializer(many=True), **error_responses(400, 401, 403, 404)},
    ),
    post=extend_schema(
        summary="Add a platform webhook",
        description=f"{WRITE_DESCRIPTION} 403 `no_role` (admins only).",
        request=WebhookRequestSerializer,
        responses={201: CreatedWebhookSerializer, **error_responses(400, 401, 403)},
    ),
)
class PlatformWebhookListView(WebhookList):
    pass


@extend_schema_view(
    get=extend_schema(
        summary="A service's webhooks",
        description="Each with its recent deliveries. 403 `no_role`, `other_team` (when the catalogue is closed).",
        parameters=[SERVICE_NAME],
        responses={200: WebhookSerializer(many=True), **error_responses(400, 401, 403, 404)},
    ),
    post=extend_schema(
        summary="Add a webhook to a service",
        description=f"{WRITE_DESCRIPTION} 403 `no_role` (the developers' role), `other_team`.",
        parameters=[SERVICE_NAME],
        request=WebhookRequestSerializer,
        responses={201: CreatedWebhookSerializer, **error_responses(400, 401, 403, 404)},
    ),
)
class ServiceWebhookListView(WebhookList):
    def service_of(self, request):
        return service_named(self.kwargs["name"])


@extend_schema(
    parameters=[WEBHOOK_ID],
    summary="Remove a webhook",
    description="With its deliveries. 403 as adding one: `no_role`, `other_team`.",
    request=None,
    responses={204: None, **error_responses(401, 403, 404)},
)
class WebhookDetailView(KnownQueryParameters, APIView):
    def delete(self, request, pk):
        if not 0 < pk < 2**63:
            raise Http404  # no bigint: no webhook, never a database error
        webhook = get_object_or_404(Webhook.objects.select_related("service__team"), pk=pk)
        permissions.require(permissions.manage_webhooks(request.user, webhook.service))
        webhook.remove(request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
