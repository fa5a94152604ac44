"""What each plan costs a month (estimated from its JSON when it was read), and the admins' written
overrides of the cost policy's hold."""

from django.conf import settings
from django.db import models

from portal.runs.models import Change, Run

REASON_MIN_LENGTH = 20


class CostEstimate(models.Model):
    run = models.OneToOneField(Run, on_delete=models.CASCADE, related_name="cost_estimate")
    before = models.DecimalField(max_digits=14, decimal_places=2, null=True, help_text="USD a month before the plan; null when it could not be priced.")
    after = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    difference = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    detail = models.JSONField(default=dict, help_text="Per resource, the table's region and date, the assumptions (estimate.Estimate.as_json).")
    error = models.TextField(blank=True, help_text="Why the plan could not be priced; such a change is held like one above the limit.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"cost of {self.run_id}: {self.error or self.difference}"


class CostOverride(models.Model):
    """An admin's written decision to let a held change be approved; one per change."""

    change = models.OneToOneField(Change, on_delete=models.CASCADE, related_name="cost_override")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    by_username = models.CharField(max_length=150, help_text="Kept when the user is deleted.")
    reason = models.TextField()
    at = models.DateTimeField(auto_now_add=True)
    increase = models.CharField(max_length=32, help_text="The monthly increase it let through, as shown then ('unknown' when unpriced).")

    class Meta:
        constraints = [models.CheckConstraint(condition=~models.Q(reason=""), name="cost_override_reason_not_blank")]

    def __str__(self):
        return f"cost override by {self.by_username}"
