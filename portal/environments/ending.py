"""Environments that end: a service registered with an end (Service.ends_at) is announced to its
team's webhooks a while before (`service_ending`), and at its end the portal proposes its
decommission under its own name; the approval policy decides whether anyone must approve it
(portal.approvals: `ended_environments`). Swept by the workers between jobs, and by
`manage.py end_environments`."""

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal.catalog.models import Lifecycle, Service
from portal.catalog.onboarding import decommission_at_its_end
from portal.core.refusals import Refused
from portal.notifications.events import notify
from portal.notifications.models import Event

logger = logging.getLogger(__name__)


@dataclass
class Swept:
    warned: list[str] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # "name: why"


def sweep(now: datetime | None = None) -> Swept:
    now = now or timezone.now()
    swept = Swept()
    due = Service.objects.filter(status=Lifecycle.ACTIVE, ends_at__isnull=False)
    for service in due.filter(ends_at__lte=now + settings.ENVIRONMENT_WARN_BEFORE, ends_at__gt=now, end_warned_at=None):
        warn(service, now)
        swept.warned.append(service.name)
    for service in due.filter(ends_at__lte=now):
        try:
            change = decommission_at_its_end(service)
        except Refused as exc:  # being decommissioned already, or no longer active
            swept.refused.append(f"{service.name}: {exc.refusal.message}")
            continue
        swept.ended.append(f"{service.name}: {change.pk}")
    return swept


@transaction.atomic
def warn(service: Service, now: datetime) -> None:
    if not Service.objects.filter(pk=service.pk, end_warned_at=None).update(end_warned_at=now):
        return  # another worker warned first
    notify(
        Event.SERVICE_ENDING,
        service=service,
        payload={
            "ends_at": service.ends_at.isoformat(),
            "url": settings.BASE_URL + reverse("catalog:service-detail", args=[service.name]),
            "then": "The portal proposes the service's decommission at its end; the approval policy says who approves it.",
        },
    )


# None until this process's first sweep: the monotonic clock counts from the machine's boot, so a
# zero here would hold the first sweep back on a machine started less than an interval ago.
LAST_SWEPT: dict[str, float | None] = {"at": None}


def on_maintenance(sender, worker, **kwargs) -> None:
    """worker_maintained: at most once every ENVIRONMENT_SWEEP_INTERVAL seconds per worker."""
    last = LAST_SWEPT["at"]
    if last is not None and time.monotonic() - last < settings.ENVIRONMENT_SWEEP_INTERVAL:
        return
    LAST_SWEPT["at"] = time.monotonic()
    try:
        swept = sweep()
    except Exception:
        logger.exception("The sweep of environments that end failed; the next pass tries again.")
        return
    for line in swept.ended:
        logger.info("Proposed the decommission of %s (its end has come).", line)
