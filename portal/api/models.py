import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal import audit

TOKEN_PREFIX = "portal_"


def digest(key: str) -> str:
    # Keys are 256 random bits, so a plain SHA-256 is enough: there is nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def issue(self, user, label: str = "") -> tuple["ApiToken", str]:
        """Create a token; the key is returned once and only its digest is stored."""
        key = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = self.create(user=user, label=label, digest=digest(key), hint=key[-4:])
        audit.record("token.issue", user, token, label=label, hint=token.hint)  # never the key
        return token, key

    def for_key(self, key: str) -> "ApiToken | None":
        return self.select_related("user").filter(digest=digest(key), revoked_at=None).first()


class ApiToken(models.Model):
    """A key for `Authorization: Token <key>`; it acts with its user's permissions."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    label = models.CharField(max_length=100, blank=True, help_text="Who uses it, e.g. the CI pipeline.")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=4, editable=False, help_text="The key's last characters.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user} …{self.hint}" + (f" ({self.label})" if self.label else "")

    def revoke(self, by) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])
        audit.record("token.revoke", by, self, label=self.label, hint=self.hint)
