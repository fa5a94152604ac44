"""Which run moves are told, to whom, and with what payload; `notify` is the one way in (the drift
detector, when it exists, calls it with drift_found)."""

import logging

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal.notifications.models import Delivery, Event, Webhook

logger = logging.getLogger(__name__)

# One notification per run (not per change): a change of two runs awaiting approval is told twice,
# each with its workspace and the change it belongs to, so a receiver can group them by change id.
EVENT_OF_STATUS = {
    "awaiting_approval": Event.AWAITING_APPROVAL,
    "applied": Event.APPLIED,
    "applied_unhealthy": Event.APPLIED,  # applied all the same: the run's status in the payload says unhealthy
    "failed": Event.FAILED,
}


def listen() -> None:
    from portal.runs.models import run_moved

    run_moved.connect(run_moved_receiver, dispatch_uid="portal.notifications.run_moved")


def run_moved_receiver(sender, run, status, **kwargs) -> None:
    event = EVENT_OF_STATUS.get(str(status))
    if event is None:
        return
    try:
        workspace = run.workspace
        notify(event, service=workspace.service, payload=run_payload(run, workspace))
    except Exception:  # noqa: BLE001 - a notification must never break the run workflow that moved the run
        logger.exception("Could not record the %s notification of run %s.", event, run.pk)


def link(name: str, **kwargs) -> str:
    """The address of one of the portal's pages, as a receiver's reader opens it (settings.BASE_URL)."""
    return settings.BASE_URL + reverse(name, kwargs=kwargs)


def run_payload(run, workspace) -> dict:
    return {
        "run": {
            "id": str(run.pk),
            "url": link("runs:run-detail", run_id=run.pk),
            "change_url": link("changes:detail", change_id=run.change_id) if run.change_id else None,
            "status": run.status,
            "kind": run.kind,
            "workspace": workspace.path,
            "change": str(run.change_id) if run.change_id else None,
            "plan": run.plan_summary,
            "error": run.error or None,
        }
    }


def notify(event: str, service=None, payload: dict | None = None) -> list[Delivery]:
    """Record one delivery for each active webhook of `service` (None: the platform's) that listens
    to `event`, and queue each once the rows are committed. Returns the deliveries."""
    if event not in Event.values:
        raise ValueError(f"Unknown event {event!r}; one of {', '.join(Event.values)}.")
    webhooks = list(Webhook.objects.listening(event, service))
    if not webhooks:
        return []
    body = {
        "event": event,
        "occurred_at": timezone.now().isoformat(),
        "service": service.name if service is not None else None,
        **(payload or {}),
    }
    deliveries = Delivery.objects.bulk_create([Delivery(webhook=hook, event=event, payload=body) for hook in webhooks])
    for delivery in deliveries:
        transaction.on_commit(lambda pk=delivery.pk: queue_delivery(pk))
    return deliveries


def queue_delivery(delivery_id: int) -> None:
    from portal.notifications.queueing import enqueue

    try:
        enqueue(delivery_id)
    except Exception:  # noqa: BLE001 - Redis away: the delivery stays pending, visible as such; the run goes on
        logger.exception("Could not queue delivery %s; it stays pending.", delivery_id)
