"""What the policy check found in a run's plan, and the overrides approvers wrote.

A finding keeps the check's metadata and the resource's address only, never an attribute's value:
the plan it was read from holds every input in clear."""

from django.conf import settings
from django.db import models

from portal.runs.models import Change, Run

REASON_MIN_LENGTH = 20


class Severity(models.TextChoices):
    LOW = "LOW", "low"
    MEDIUM = "MEDIUM", "medium"
    HIGH = "HIGH", "high"
    CRITICAL = "CRITICAL", "critical"


class FindingQuerySet(models.QuerySet):
    def blocking(self):
        return self.filter(blocking=True)


class Finding(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="policy_findings")
    check_id = models.CharField(max_length=64, help_text="checkov's id, e.g. CKV_AWS_51.")
    check_name = models.CharField(max_length=500)
    resource_address = models.CharField(max_length=500)
    severity = models.CharField(max_length=8, choices=Severity.choices, help_text="The portal's mapping (PORTAL_POLICY_SEVERITIES).")
    blocking = models.BooleanField(help_text="Its severity is in PORTAL_POLICY_BLOCKING when it was found.")
    guideline = models.URLField(max_length=500, blank=True)

    objects = FindingQuerySet.as_manager()

    class Meta:
        ordering = ["-blocking", "check_id", "resource_address"]
        indexes = [models.Index(fields=["run", "blocking"])]

    def __str__(self):
        return f"{self.check_id} on {self.resource_address}"


class Override(models.Model):
    """An approver's written decision to let a change's blocking findings through; one per change."""

    change = models.OneToOneField(Change, on_delete=models.CASCADE, related_name="policy_override")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    by_username = models.CharField(max_length=150, help_text="Kept when the user is deleted.")
    reason = models.TextField()
    at = models.DateTimeField(auto_now_add=True)
    check_ids = models.JSONField(default=list, help_text="The blocking checks it overrode.")

    class Meta:
        constraints = [models.CheckConstraint(condition=~models.Q(reason=""), name="policy_override_reason_not_blank")]

    def __str__(self):
        return f"policy override by {self.by_username}"
