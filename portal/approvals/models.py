from django.conf import settings
from django.db import models
from django.utils import timezone


class PlanFacts(models.Model):
    """What the approval policy reads of one saved plan (portal.approvals.rules.PlanFacts), taken
    from its `terraform show -json` while the worker holds it in memory."""

    run = models.OneToOneField("runs.Run", on_delete=models.CASCADE, related_name="approval_facts")
    facts = models.JSONField(help_text="The plan's destroyed or replaced resources, and whether it only deploys new images.")


class ApprovalRule(models.Model):
    """How many approvals a change needs, decided once its plans have all finished."""

    change = models.OneToOneField("runs.Change", on_delete=models.CASCADE, related_name="approval_rule")
    approvals = models.PositiveSmallIntegerField(help_text="0: the portal approves it; 1 or 2: that many people, none of them its proposer.")
    rule = models.CharField(max_length=32, help_text="The policy's rule that decided: two_approvals, image_deploy or one_approval.")
    reason = models.TextField()
    decided_at = models.DateTimeField(default=timezone.now)


class Approval(models.Model):
    """One person's approval of a change that needs more than one."""

    change = models.ForeignKey("runs.Change", on_delete=models.CASCADE, related_name="approvals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="approvals_given")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at"]
        constraints = [models.UniqueConstraint(fields=["change", "user"], name="one_approval_per_person")]
