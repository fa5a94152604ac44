"""One drift check of an applied workspace: whether AWS still matches what it declares, and where not."""

from django.db import models
from django.utils import timezone

from portal.core.choices import Colour, ColouredChoices


class DriftState(ColouredChoices):
    """What a check found; its label and colour are the drift badge's."""

    IN_SYNC = "in_sync", Colour.GREEN, "In sync"
    DRIFTED = "drifted", Colour.RED, "Drifted"
    ERROR = "error", Colour.RED, "Check failed"


class DriftCheckQuerySet(models.QuerySet):
    def latest_per_workspace(self):
        """The newest check of each workspace, in one query (PostgreSQL's DISTINCT ON)."""
        return self.order_by("workspace_id", "-checked_at").distinct("workspace_id")


class DriftCheck(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="drift_checks")
    checked_at = models.DateTimeField(default=timezone.now)
    drifted = models.BooleanField(default=False)
    # [{"address", "attribute", "before" (as recorded in the state), "after" (as AWS has it now)}],
    # built by portal.runner.plan_review: sensitive values and known secrets are masked.
    drift = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True, help_text="Why the check could not run; empty when it ran.")
    duration = models.FloatField(default=0, help_text="Seconds the check took.")

    objects = DriftCheckQuerySet.as_manager()

    class Meta:
        ordering = ["-checked_at"]
        indexes = [models.Index(fields=["workspace", "-checked_at"], name="driftcheck_workspace_idx")]

    def __str__(self) -> str:
        return f"{self.workspace_id} at {self.checked_at:%Y-%m-%d %H:%M:%S}: {self.state}"

    @property
    def state(self) -> "DriftState":
        if self.error:
            return DriftState.ERROR
        return DriftState.DRIFTED if self.drifted else DriftState.IN_SYNC

    def same_drift_as(self, other: "DriftCheck | None") -> bool:
        return other is not None and other.drifted and other.drift == self.drift
