"""Where the action being recorded comes from: the request being served, if any. The middleware sets
it for the request's duration; a worker or a command has none, so their events have no address."""

import ipaddress
import uuid
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Origin:
    address: str | None
    request_id: uuid.UUID
    request: object  # the HttpRequest: its user is read when an event is recorded (DRF sets it late)

    @property
    def user(self):
        user = getattr(self.request, "user", None)
        return user if user is not None and user.is_authenticated else None


_origin: ContextVar[Origin | None] = ContextVar("audit_origin", default=None)


def current_origin() -> Origin | None:
    return _origin.get()


def valid_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_address(meta) -> str | None:
    """REMOTE_ADDR; behind PORTAL_TRUSTED_PROXY_COUNT proxies, the address the outermost trusted
    proxy saw (that many entries from the right of X-Forwarded-For). Entries further left are
    whatever the client wrote, so they are never believed."""
    remote = valid_ip(meta.get("REMOTE_ADDR", "") or "")
    trusted = settings.PORTAL_TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    hops = [hop for hop in (meta.get("HTTP_X_FORWARDED_FOR", "") or "").split(",") if hop.strip()]
    if len(hops) < trusted:
        return remote
    return valid_ip(hops[-trusted]) or remote


def request_address(request) -> str | None:
    """The client's address of a request, as the audit trail records it (django-axes counts failed
    logins per this address too)."""
    return client_address(request.META)


class AuditOriginMiddleware:
    """Sets the origin of the actions this request records (address, a request id)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _origin.set(Origin(client_address(request.META), uuid.uuid4(), request))
        try:
            return self.get_response(request)
        finally:
            _origin.reset(token)
