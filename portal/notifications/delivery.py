"""Sending one delivery: sign, POST, record the attempt. Run by an RQ worker on the notifications
queue; a failed attempt raises so that RQ's Retry schedules the next one (with its interval)."""

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from datetime import timedelta

from django.utils import timezone
from rq import get_current_job

from django.conf import settings

from portal.notifications.models import Delivery

logger = logging.getLogger(__name__)

ERROR_MAX = 500


class DeliveryFailed(Exception):
    pass


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256 of `<timestamp>.<raw body>` keyed by the webhook's secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def body_of(delivery: Delivery) -> bytes:
    return json.dumps({"delivery": delivery.pk, **delivery.payload}, sort_keys=True, separators=(",", ":")).encode()


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a new address: following it could carry the signed body elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(NoRedirects)


def post(url: str, body: bytes, headers: dict) -> int:
    """The receiver's status code; raises DeliveryFailed with the reason for anything but a 2xx."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=settings.NOTIFICATIONS_TIMEOUT) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        if 300 <= exc.code < 400:
            raise DeliveryFailed(f"HTTP {exc.code}: redirects are not followed ({exc.headers.get('Location', '')})", exc.code)
        raise DeliveryFailed(f"HTTP {exc.code} {exc.reason}", exc.code)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryFailed(f"{type(reason).__name__}: {reason}", None)


def deliver(delivery_id: int) -> None:
    delivery = Delivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != Delivery.Status.PENDING:
        return  # removed with its webhook, or already settled
    job = get_current_job()
    last_attempt = job is None or not job.retries_left
    webhook = delivery.webhook
    body = body_of(delivery)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "art-service-portal-webhooks",
        "X-Portal-Event": delivery.event,
        "X-Portal-Delivery": str(delivery.pk),
        "X-Portal-Timestamp": timestamp,
        "X-Portal-Signature": signature(webhook.secret, timestamp, body),
    }
    now = timezone.now()
    attempt = {"attempts": delivery.attempts + 1, "last_attempt_at": now}
    try:
        code = post(webhook.url, body, headers)
    except DeliveryFailed as exc:
        error, code = exc.args
        if last_attempt:
            fields = {"status": Delivery.Status.FAILED, "next_attempt_at": None}
        else:
            fields = {"next_attempt_at": now + timedelta(seconds=job.get_retry_interval())}
        Delivery.objects.filter(pk=delivery.pk).update(
            response_code=code, error=error[:ERROR_MAX], **attempt, **fields
        )
        logger.warning("Delivery %s of %s to webhook %s failed (attempt %s): %s", delivery.pk, delivery.event, webhook.pk, attempt["attempts"], error)
        raise DeliveryFailed(error)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.DELIVERED, response_code=code, error="", next_attempt_at=None, delivered_at=now, **attempt
    )
