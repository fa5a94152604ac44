import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone


class Event(models.TextChoices):
    AWAITING_APPROVAL = "awaiting_approval", "A run awaits approval"
    APPLIED = "applied", "A run applied"
    FAILED = "failed", "A run failed"
    DRIFT_FOUND = "drift_found", "Drift found"


def validate_webhook_url(url: str) -> None:
    """http or https only, and no user:password@ in it: the secret is the HMAC key, and a URL is shown
    on pages and stored in clear."""
    URLValidator(schemes=["http", "https"])(url)
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise ValidationError("A webhook URL must not carry credentials (user:password@); the signature authenticates the portal.")


def validate_events(events) -> None:
    if not isinstance(events, list) or not events:
        raise ValidationError("Choose at least one event.")
    unknown = sorted(set(events) - set(Event.values))
    if unknown:
        raise ValidationError(f"Unknown events: {', '.join(unknown)}. Allowed: {', '.join(Event.values)}.")


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookQuerySet(models.QuerySet):
    def for_service(self, service):
        """A service's webhooks; service None: the platform's."""
        return self.filter(service__isnull=True) if service is None else self.filter(service=service)

    def listening(self, event: str, service):
        return self.for_service(service).filter(active=True, events__contains=[event])


class Webhook(models.Model):
    """Where the portal POSTs run events, signed with `secret` (HMAC-SHA256). The secret is stored in
    clear, as Run.variables is, because the portal must sign with it; it is shown once, on creation."""

    service = models.ForeignKey(
        "catalog.Service",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhooks",
        help_text="Null: a platform webhook, told of platform runs.",
    )
    url = models.URLField(max_length=500, validators=[validate_webhook_url])
    events = models.JSONField(default=list, validators=[validate_events])
    secret = models.CharField(max_length=100, default=new_secret, editable=False)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="webhooks_created"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = WebhookQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:  # never the secret
        return f"<Webhook {self.pk} {self.url}>"

    @property
    def secret_hint(self) -> str:
        return self.secret[-4:]


class Delivery(models.Model):
    """One event told to one webhook: each attempt is recorded here (the row is the truth, not Redis)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32, choices=Event.choices)
    payload = models.JSONField()
    attempts = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
