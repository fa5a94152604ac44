"""Teams: who owns which services. A user's role (developer, approver, admin) is one of the portal's
groups (portal.access.groups); a team says for which services that role counts
(portal.access.permissions)."""

from django.conf import settings
from django.db import models

from portal.access.naming import TEAM_NAME_MAX_LENGTH, team_name_validators


class TeamQuerySet(models.QuerySet):
    def of(self, user):
        """The teams `user` is a member of."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(memberships__user=user)


class Team(models.Model):
    """A team owns services; its members act on them as their role allows."""

    name = models.CharField(
        max_length=TEAM_NAME_MAX_LENGTH,
        unique=True,
        validators=team_name_validators,
        help_text="Lowercase letters, digits and hyphens, e.g. art-platform.",
        error_messages={"unique": "A team with this name exists."},
    )
    description = models.CharField(max_length=200, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """One user in one team. `source` says who keeps it: an admin by hand, or the identity provider's
    groups at each single sign-on login (which then removes what the provider no longer says)."""

    class Source(models.TextChoices):
        MANUAL = "manual", "set by an admin"
        SSO = "sso", "from the identity provider's groups"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.MANUAL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team_and_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class SingleSignOnIdentity(models.Model):
    """The identity provider's account behind a user: its issuer and subject (`sub`), the one claim
    OpenID Connect promises is stable and never reassigned. Signing in finds the user by this pair,
    so a name changed at the provider keeps its account, and a local account is never taken over by
    a provider's account that merely has its name (portal.access.sso)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identity")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="one_user_per_sso_identity")]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
