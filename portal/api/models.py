import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from portal import audit
from portal.access import permissions
from portal.access.permissions import TokenScope

TOKEN_PREFIX = "portal_"


def digest(key: str) -> str:
    # Keys are 256 random bits, so a plain SHA-256 is enough: there is nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


class RevokedBecause(models.TextChoices):
    BY_HAND = "by_hand", "by hand"
    PASSWORD_CHANGED = "password_changed", "its user's password changed"
    LEFT_TEAM = "left_team", "its user left the team it was for"


def issue_problems(user, scope: str, days: int, service) -> dict[str, str]:
    """What is wrong with issuing this token, per field; empty when nothing is. The page's form and
    `manage.py issue_token` both ask it, through `issue`."""
    problems = {}
    if scope not in TokenScope.values:
        problems["scope"] = f"Choose one of: {', '.join(TokenScope.values)}."
    if not 1 <= days <= settings.TOKEN_MAX_DAYS:
        problems["days"] = f"A token lasts from 1 to {settings.TOKEN_MAX_DAYS} days (PORTAL_TOKEN_MAX_DAYS)."
    if service is not None and not service.is_live:
        problems["service"] = f"{service.name} is decommissioned."
    elif "scope" not in problems and (refusal := permissions.token_holds(user, scope, service)) is not None:
        problems["service" if service is not None else "scope"] = refusal.message
    return problems


class ApiTokenQuerySet(models.QuerySet):
    def issue(self, user, label: str = "", *, scope: str = TokenScope.WRITE, days: int | None = None, service=None) -> tuple["ApiToken", str]:
        """Create a token; the key is returned once and only its digest is stored. The write scope
        by default: what every token could do before tokens had scopes (the page and the command
        ask for one). Raises ValidationError (per field) when `issue_problems` finds any."""
        days = settings.TOKEN_DEFAULT_DAYS if days is None else days
        problems = issue_problems(user, scope, days, service)
        if problems:
            raise ValidationError(problems)
        key = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = timezone.now()
        token = self.create(
            user=user,
            label=label,
            digest=digest(key),
            hint=key[-4:],
            scope=scope,
            service=service,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        audit.record(
            "token.issue",
            user,
            token,
            label=label,
            hint=token.hint,  # never the key
            scope=scope,
            service=service.name if service else None,
            expires_at=token.expires_at.isoformat(),
        )
        return token, key

    def for_key(self, key: str) -> "ApiToken | None":
        """The token of this key, ended or not (authentication says which: portal.access.permissions.token_ended)."""
        return self.select_related("user", "service").filter(digest=digest(key)).first()

    def live(self):
        return self.filter(revoked_at=None, expires_at__gt=timezone.now())

    def revoke(self, by, reason: str, **details) -> int:
        """Revoke each live token of this queryset, one event each; returns how many."""
        revoked = 0
        for token in self.live().select_related("service"):
            revoked += token.revoke(by, reason, **details)
        return revoked


class ApiToken(models.Model):
    """A key for `Authorization: Token <key>`. It acts with its user's permissions, within its scope,
    on its one service if it is bound to one, until it expires or is revoked
    (portal.access.permissions: token_allows, token_ended)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    label = models.CharField(max_length=100, blank=True, help_text="Who uses it, e.g. the CI pipeline.")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=4, editable=False, help_text="The key's last characters.")
    scope = models.CharField(max_length=8, choices=TokenScope.choices)
    # CASCADE, not SET_NULL: a token for one service must never become a token for every service.
    service = models.ForeignKey(
        "catalog.Service",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text="Empty: every service its user may act on.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=20, choices=RevokedBecause.choices, blank=True, default="")

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Rows that arrive any other way than `issue` (a shell, a fixture) keep the same shape.
            models.CheckConstraint(condition=models.Q(scope__in=TokenScope.values), name="api_token_scope_known"),
            models.CheckConstraint(condition=models.Q(expires_at__gt=models.F("created_at")), name="api_token_ends_after_issue"),
        ]

    def __str__(self) -> str:
        return f"{self.user} …{self.hint}" + (f" ({self.label})" if self.label else "")

    @property
    def expired(self) -> bool:
        return self.expires_at <= timezone.now()

    def revoke(self, by, reason: str = RevokedBecause.BY_HAND, **details) -> bool:
        """Revoke it once: a conditional UPDATE, so two revocations at once record one event."""
        now = timezone.now()
        if not ApiToken.objects.filter(pk=self.pk, revoked_at=None).update(revoked_at=now, revoked_reason=reason):
            return False
        self.revoked_at, self.revoked_reason = now, reason
        audit.record(
            "token.revoke",
            by,
            self,
            label=self.label,
            hint=self.hint,
            reason=reason,
            service=self.service.name if self.service_id else None,
            **details,
        )
        return True
