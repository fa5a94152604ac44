import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class Action(models.TextChoices):
    SERVICE_REGISTER = "service.register", "service registered"
    SERVICE_CHANGE = "service.change", "service changed"
    SERVICE_DEPLOY = "service.deploy", "image tag deployed"
    SERVICE_DECOMMISSION = "service.decommission", "service decommissioned"
    SERVICE_MOVE = "service.move", "service moved to another team"
    TEAM_CREATE = "team.create", "team created"
    TEAM_MEMBER_ADD = "team.member_add", "member added to a team"
    TEAM_MEMBER_REMOVE = "team.member_remove", "member removed from a team"
    CHANGE_APPROVE = "change.approve", "change approved"
    CHANGE_DISCARD = "change.discard", "change discarded"
    CHANGE_APPROVALS_DECIDED = "change.approvals_decided", "approvals a change needs decided by the approval policy"
    SERVICE_ROLLBACK = "service.rollback", "going back to a healthy revision proposed"
    RUN_CANCEL = "run.cancel", "run cancelled"
    POLICY_OVERRIDE = "policy.override", "policy findings overridden"
    COST_OVERRIDE = "cost.override", "cost policy's hold overridden"
    PLATFORM_PLAN = "platform.plan", "platform workspace planned"
    ROLLOUT_PROPOSE = "rollout.propose", "module rollout proposed"
    ROLLOUT_HALT = "rollout.halt", "module rollout halted"
    ROLLOUT_RESUME = "rollout.resume", "module rollout resumed"
    ROLLOUT_FINISH = "rollout.finish", "module rollout done"
    CLUSTER_CHANGE = "cluster.change", "cluster settings change proposed"
    DRIFT_CHECK = "drift.check", "drift check asked for"
    DRIFT_RESTORE = "drift.restore", "restore after drift proposed"
    WEBHOOK_ADD = "webhook.add", "webhook added"
    WEBHOOK_REMOVE = "webhook.remove", "webhook removed"
    LOCK_FORCE_UNLOCK = "lock.force_unlock", "state lock removed by hand"
    LOCK_RELEASE = "lock.release", "state lock released by the portal"
    TOKEN_ISSUE = "token.issue", "API token issued"
    TOKEN_REVOKE = "token.revoke", "API token revoked"
    ADMINISTRATORS_CHANGE = "administrators.change", "administrators changed"
    USER_CREATE = "user.create", "user created"
    USER_CHANGE = "user.change", "user changed"
    USER_DELETE = "user.delete", "user deleted"
    USER_GROUPS = "user.groups", "user's groups changed"
    USER_LOGIN = "user.login", "user logged in"
    USER_LOGIN_FAILED = "user.login_failed", "login failed"
    USER_LOCKED_OUT = "user.locked_out", "login locked out after failures"
    USER_SSO_SYNC = "user.sso_sync", "roles and teams set from the identity provider"
    GROUP_CREATE = "group.create", "group created"
    GROUP_CHANGE = "group.change", "group renamed"
    GROUP_DELETE = "group.delete", "group deleted"
    GROUP_PERMISSIONS = "group.permissions", "group's permissions changed"
    QUEUE_CHANGE = "queue.change", "job queue changed on the RQ dashboard"
    ADMIN_ADD = "admin.add", "added in the admin site"
    ADMIN_CHANGE = "admin.change", "changed in the admin site"
    ADMIN_DELETE = "admin.delete", "deleted in the admin site"


# Tried by someone not logged in: no actor, and not the portal either.
ANONYMOUS_ACTIONS = (Action.USER_LOGIN_FAILED, Action.USER_LOCKED_OUT)


class AuditEventQuerySet(models.QuerySet):
    def newest_first(self):
        return self.order_by("-time", "-id")

    def json_lines(self, chunk_size: int = 2000):
        """One JSON object per line, read from the database `chunk_size` rows at a time (a
        server-side cursor), for a streaming response."""
        for event in self.iterator(chunk_size=chunk_size):
            yield json.dumps(event.as_json, ensure_ascii=False, sort_keys=True, cls=DjangoJSONEncoder) + "\n"


class AuditEvent(models.Model):
    """One action, append-only: PostgreSQL refuses to update or delete a row (migration 0002), except
    that deleting a user clears `actor` (its username stays in `actor_username`)."""

    action = models.CharField(max_length=40, choices=Action.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_username = models.CharField(max_length=150, blank=True, help_text="Kept when the user is deleted.")
    time = models.DateTimeField(default=timezone.now)
    address = models.GenericIPAddressField(null=True, blank=True, help_text="The client's address; empty when a worker or a command acted.")
    object_type = models.CharField(max_length=100, blank=True, help_text="app_label.model, e.g. catalog.service")
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)  # ids, dates and decimals as text
    request_id = models.UUIDField(null=True, blank=True, help_text="Events recorded while serving one request share it.")
    # A name, not a key: the trail keeps what it said when a team is renamed or removed.
    team = models.CharField(max_length=63, blank=True, help_text="The team owning the service acted on; empty for the platform's and people's own.")

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-time", "-id"]
        default_permissions = ("view",)  # nobody adds, changes or deletes events
        indexes = [
            models.Index(fields=["-time", "-id"], name="audit_time"),
            models.Index(fields=["action", "-time"], name="audit_action"),
            models.Index(fields=["actor_username", "-time"], name="audit_actor"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["team", "-time"], name="audit_team"),
        ]

    @property
    def details_json(self) -> str:
        """The details as the export writes them (JSON), for the page."""
        return json.dumps(self.details, ensure_ascii=False, sort_keys=True, cls=DjangoJSONEncoder)

    @property
    def actor_label(self) -> str:
        if self.actor_username:
            return self.actor_username
        return "someone not logged in" if self.action in ANONYMOUS_ACTIONS else "the portal"

    def __str__(self) -> str:
        who = self.actor_label
        return f"{self.time:%Y-%m-%d %H:%M:%S} {who} {self.action} {self.object_label}".rstrip()

    @property
    def as_json(self) -> dict:
        return {
            "id": self.pk,
            "time": self.time.isoformat(),
            "action": self.action,
            "actor": self.actor_username or None,
            "actor_id": self.actor_id,
            "address": self.address,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "object_label": self.object_label,
            "details": self.details,
            "request_id": str(self.request_id) if self.request_id else None,
            "team": self.team or None,
        }
