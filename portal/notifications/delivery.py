"""Sending one delivery: check where it goes, sign, POST, record the attempt. Run by an RQ worker on
the notifications queue; a failed attempt raises so that RQ's Retry schedules the next one (with its
interval), except a refusal of the portal's own: the address is not allowed, and waiting changes nothing."""

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta

import urllib3
from django.conf import settings
from django.utils import timezone
from rq import get_current_job

from portal.notifications.models import Delivery
from portal.notifications.targets import Target, TargetRefused, Unresolvable, check

logger = logging.getLogger(__name__)

ERROR_MAX = 500
Outcome = Delivery.Outcome


class DeliveryFailed(Exception):
    pass


class AttemptFailed(Exception):
    """An attempt that did not deliver: its outcome, a detail in the portal's own words, the status."""

    def __init__(self, outcome: str, detail: str, code: int | None = None):
        super().__init__(outcome, detail, code)
        self.outcome, self.detail, self.code = outcome, detail, code


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256 of `<timestamp>.<raw body>` keyed by the webhook's secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def body_of(delivery: Delivery) -> bytes:
    return json.dumps({"delivery": delivery.pk, **delivery.payload}, sort_keys=True, separators=(",", ":")).encode()


def pool_for(target: Target, address: str) -> urllib3.HTTPConnectionPool:
    """A connection pool to the checked address itself, never to the name: urllib3 resolving the name
    again would let DNS answer differently after the check (rebinding). HTTPS still speaks to the name:
    SNI and the certificate's name are the host's, verified against the system's CAs (or
    PORTAL_NOTIFICATIONS_CA_BUNDLE)."""
    common = {"timeout": urllib3.Timeout(total=settings.NOTIFICATIONS_TIMEOUT), "maxsize": 1, "retries": False}
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            target.port,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=settings.NOTIFICATIONS_CA_BUNDLE or None,
            **common,
        )
    return urllib3.HTTPConnectionPool(address, target.port, **common)


def unreachable(exc: Exception) -> str:
    """Why no answer came, as one of a few fixed phrases: an exception's text names addresses, ports
    and what answered there, and a delivery's record is shown to everyone who may see the service."""
    if isinstance(exc, urllib3.exceptions.SSLError):
        return "the TLS handshake or the certificate's name failed"
    if isinstance(exc, urllib3.exceptions.NewConnectionError):  # before TimeoutError: urllib3 makes it one
        cause = exc.__cause__ or exc.__context__
        return "the connection was refused" if isinstance(cause, ConnectionRefusedError) else "no connection could be made"
    if isinstance(exc, urllib3.exceptions.TimeoutError):
        return f"no answer within {settings.NOTIFICATIONS_TIMEOUT} s"
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return "the connection broke off"
    return "no connection could be made"


def post(url: str, body: bytes, headers: dict) -> int:
    """The receiver's 2xx status code; raises AttemptFailed otherwise. The URL is checked again here,
    and the POST goes to the addresses this check resolved (the first that answers), with the URL's
    host in the Host header. Redirects are not followed: the signed body goes nowhere else."""
    try:
        target = check(url)
    except TargetRefused as exc:
        raise AttemptFailed(Outcome.PORTAL_REFUSED, exc.refusal.message) from None
    except Unresolvable:
        raise AttemptFailed(Outcome.UNREACHABLE, "the name does not resolve") from None
    reason = "no connection could be made"
    for address in target.addresses:
        pool = pool_for(target, address)
        try:
            response = pool.urlopen("POST", target.path, body=body, headers={**headers, "Host": target.host_header}, redirect=False, assert_same_host=False)
        except urllib3.exceptions.HTTPError as exc:
            logger.info("Webhook %s: no answer from %s: %r", target.host, address, exc)  # for operators, never a page
            reason = unreachable(exc)
            continue
        finally:
            pool.close()
        if 200 <= response.status < 300:
            return response.status
        detail = "redirects are not followed" if 300 <= response.status < 400 else ""
        raise AttemptFailed(Outcome.RECEIVER_REFUSED, detail, response.status)
    raise AttemptFailed(Outcome.UNREACHABLE, reason)


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
    except AttemptFailed as exc:
        final = last_attempt or exc.outcome == Outcome.PORTAL_REFUSED
        if final:
            fields = {"status": Delivery.Status.FAILED, "next_attempt_at": None}
        else:
            fields = {"next_attempt_at": now + timedelta(seconds=job.get_retry_interval())}
        Delivery.objects.filter(pk=delivery.pk).update(response_code=exc.code, outcome=exc.outcome, error=exc.detail[:ERROR_MAX], **attempt, **fields)
        failed = Delivery(outcome=exc.outcome, error=exc.detail, response_code=exc.code)
        logger.warning(
            "Delivery %s of %s to webhook %s failed (attempt %s): %s", delivery.pk, delivery.event, webhook.pk, attempt["attempts"], failed.outcome_text
        )
        if final and exc.outcome == Outcome.PORTAL_REFUSED:
            return  # no retry: the address is not allowed, and a later attempt would be refused alike
        raise DeliveryFailed(failed.outcome_text) from exc
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.DELIVERED, response_code=code, outcome=Outcome.DELIVERED, error="", next_attempt_at=None, delivered_at=now, **attempt
    )
