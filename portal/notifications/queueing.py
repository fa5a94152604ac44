"""Queueing a delivery is a leaf: the job is named by its dotted path, on a queue of its own so that
a terraform apply never holds a notification back, nor a slow receiver a terraform worker."""

import django_rq
from django.conf import settings
from rq import Retry


def enqueue(delivery_id: int) -> None:
    intervals = list(settings.NOTIFICATIONS_RETRY_INTERVALS)
    queue = django_rq.get_queue(settings.NOTIFICATIONS_QUEUE)
    queue.enqueue(
        "portal.notifications.delivery.deliver",
        delivery_id,
        retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
        job_timeout=settings.NOTIFICATIONS_TIMEOUT * 3 + 30,
        failure_ttl=7 * 24 * 3600,
    )
