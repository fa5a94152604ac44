import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models, transaction
from django.utils import timezone

from portal import audit
from portal.core.choices import Colour, ColouredChoices
from portal.notifications.targets import TargetRefused, Unresolvable, check


class Event(models.TextChoices):
    AWAITING_APPROVAL = "awaiting_approval", "A run awaits approval"
    APPLIED = "applied", "A run applied"
    FAILED = "failed", "A run failed"
    DRIFT_FOUND = "drift_found", "Drift found"
    SERVICE_ENDING = "service_ending", "A service's end is near"


def validate_webhook_url(url: str) -> None:
    """http or https only, no user:password@ (the secret is the HMAC key, and a URL is shown on pages
    and stored in clear), a web or unprivileged port, and a host whose every address may be reached
    (targets.check: public, or in PORTAL_NOTIFICATIONS_ALLOWED_NETWORKS). The address check comes
    before Django's URL syntax check so that `http://0x7f.1/` is refused for what it is, loopback."""
    try:
        check(url)
    except TargetRefused as exc:
        raise ValidationError(exc.refusal.message, code=exc.refusal.code) from None
    except Unresolvable as exc:
        raise ValidationError(f"{exc.args[0]} does not resolve; add the webhook once its name does.", code="unresolvable") from None
    URLValidator(schemes=["http", "https"])(url)


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

    def add(self, service, user, *, url: str, events: list[str], check_url: bool = True) -> "Webhook":
        """Add a webhook of `service` (None: the platform's), recorded in the audit trail (never its
        secret). `check_url=False` when the caller's form checked the URL a moment ago: checking it
        again would resolve its name a second time."""
        webhook = Webhook(service=service, url=url, events=events, created_by=user)
        webhook.full_clean(exclude=None if check_url else ["url"])
        with transaction.atomic():
            webhook.save()
            audit.record("webhook.add", user, webhook, url=url, events=events, service=service.name if service else None)
        return webhook


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
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="webhooks_created")
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

    @transaction.atomic
    def remove(self, by) -> None:
        """Remove the webhook with its deliveries, recorded in the audit trail."""
        audit.record("webhook.remove", by, self, url=self.url, events=self.events, service=self.service.name if self.service_id else None)
        self.delete()


class Delivery(models.Model):
    """One event told to one webhook: each attempt is recorded here (the row is the truth, not Redis)."""

    class Status(ColouredChoices):
        PENDING = "pending", Colour.GREY, "Pending"
        DELIVERED = "delivered", Colour.GREY, "Delivered"
        FAILED = "failed", Colour.RED, "Failed"

    class Outcome(models.TextChoices):
        """What the last attempt came to, in words a viewer may read: never an exception's text, which
        would tell anyone who may see the page what answers at an address (a port scanner)."""

        DELIVERED = "delivered", "Delivered"
        RECEIVER_REFUSED = "receiver_refused", "Refused by the receiver"
        UNREACHABLE = "unreachable", "Unreachable"
        PORTAL_REFUSED = "portal_refused", "Refused by the portal (address not allowed)"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32, choices=Event.choices)
    payload = models.JSONField()
    attempts = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=32, choices=Outcome.choices, blank=True, help_text="Of the last attempt; blank before the first.")
    error = models.CharField(max_length=500, blank=True, help_text="The outcome's detail, in the portal's own words.")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    @property
    def status_colour(self) -> str:
        return self.Status.colour_of(self.status)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"

    @property
    def outcome_text(self) -> str:
        """The last attempt in a sentence: "Refused by the receiver with status 503"."""
        if not self.outcome:
            return "Not attempted yet"
        if self.outcome == self.Outcome.RECEIVER_REFUSED:
            return f"Refused by the receiver with status {self.response_code}" + (f" ({self.error})" if self.error else "")
        if self.outcome == self.Outcome.DELIVERED:
            return f"Delivered (status {self.response_code})"
        return f"{self.get_outcome_display()}: {self.error}" if self.error else self.get_outcome_display()
