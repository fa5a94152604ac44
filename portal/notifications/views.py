"""A service's webhooks (its team's developers add and remove them) and the platform's (its admins'),
each with its recent deliveries; portal.access.permissions.manage_webhooks decides."""

from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.access import permissions
from portal.access.decorators import allowed, permission_required
from portal.catalog.lookup import service_named
from portal.notifications.forms import WebhookForm
from portal.notifications.models import Delivery, Webhook

RECENT_DELIVERIES = 20


@permission_required("catalog.view_service")
def service_webhooks(request, name):
    service = service_named(name)
    permissions.require(permissions.view_webhooks(request.user, service))
    return webhooks_page(request, service, refusal=permissions.manage_webhooks(request.user, service))


@allowed(permissions.manage_platform)
def platform_webhooks(request):
    return webhooks_page(request, None, refusal=permissions.manage_webhooks(request.user, None))


def webhooks_page(request, service, *, refusal):
    """`refusal`: why the user may not add or remove this page's webhooks; None when they may."""
    may_edit = refusal is None
    form = WebhookForm(request.POST or None)
    created = None
    if request.method == "POST":
        permissions.require(refusal)
        if form.is_valid():
            # The secret is rendered in this response only: not in a message, not in a redirect.
            created = form.save(service, request.user)
            form = WebhookForm()
    webhooks = Webhook.objects.for_service(service).prefetch_related(
        Prefetch("deliveries", queryset=Delivery.objects.order_by("-created_at"), to_attr="all_deliveries")
    )
    for webhook in webhooks:
        webhook.recent_deliveries = webhook.all_deliveries[:RECENT_DELIVERIES]
    status = 400 if form.is_bound and form.errors else 200
    context = {
        "service": service,
        "webhooks": webhooks,
        "form": form,
        "created": created,
        "may_edit": may_edit,
        "refusal": refusal,
    }
    return render(request, "notifications/webhooks.html", context, status=status)


@require_POST
@permission_required("catalog.view_service")
def webhook_remove(request, webhook_id):
    webhook = get_object_or_404(Webhook.objects.select_related("service"), pk=webhook_id)
    permissions.require(permissions.manage_webhooks(request.user, webhook.service))
    webhook.remove(request.user)
    messages.success(request, f"Webhook {webhook.url} removed, with its deliveries.")
    if webhook.service is None:
        return redirect("notifications:platform")
    return redirect("notifications:service", name=webhook.service.name)
