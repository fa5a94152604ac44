"""The approval policy at work: each plan's facts kept as the worker reads it (`plan_read`), the
change's rule decided once its plans have all finished (recorded on the change and in the audit
trail), the portal's own approval of a change that needs none, and the count of approvals of one
that needs two. The policy itself is settings.APPROVAL_POLICY (portal.approvals.rules)."""

from django.conf import settings
from django.db import transaction

from portal import audit
from portal.approvals import rules
from portal.approvals.models import Approval, ApprovalRule, PlanFacts
from portal.changes import workflow
from portal.runs.models import Change, Run, RunStatus


def read_plan(sender, run: Run, plan: dict, log, **kwargs) -> None:
    """plan_read receiver: what the policy reads of the plan, kept beside the run."""
    PlanFacts.objects.update_or_create(run=run, defaults={"facts": rules.facts_of(plan).as_json()})


def facts_of(runs: list[Run]) -> list[rules.PlanFacts]:
    """The facts of the runs that wait for approval. A plan without them (made before the policy
    existed) is read from its stored review: what it removes is there, whether it is image-only not."""
    waiting = [run for run in runs if run.status == RunStatus.AWAITING_APPROVAL]
    kept = dict(PlanFacts.objects.filter(run__in=waiting).values_list("run_id", "facts"))
    facts = []
    for run in waiting:
        if run.pk in kept:
            facts.append(rules.PlanFacts.from_json(kept[run.pk]))
        else:
            removed = tuple(
                (change["address"], change.get("type", ""), change["action"])
                for change in run.plan_changes or []
                if change.get("action") in ("replace", "destroy")
            )
            facts.append(rules.PlanFacts(removed=removed, image_only=False))
    return facts


def image_deploy_refusal(change: Change, runs: list[Run]) -> str | None:
    """None when the change is a service's deploy whose last deploy was healthy; else why it is not."""
    if change.service_id is None or change.destroys or change.platform_approval or workflow.is_platform(runs):
        return "it is not a service's deploy"
    for run in runs:
        if run.status != RunStatus.AWAITING_APPROVAL or run.workspace.module != "ecs-service":
            continue
        last = Run.objects.applied().filter(workspace=run.workspace).last_finished_first().first()
        if last is None or last.kind == Run.Kind.DESTROY:
            return "the service has not been deployed before"
        if last.status != RunStatus.APPLIED:
            return f"its last deploy did not become healthy ({last.get_status_display().lower()})"
    return None


def environment_ended(change: Change) -> str | None:
    """The end of the service this change decommissions, when the portal proposed it at that end."""
    service = change.service
    if not change.destroys or change.requested_by_id is not None or service is None or service.ends_at is None:
        return None
    return f"at {service.ends_at:%Y-%m-%d %H:%M} UTC" if service.ends_at <= change.created_at else None


def decision_for(change: Change, runs: list[Run]) -> rules.Decision:
    return rules.decide(
        settings.APPROVAL_POLICY,
        facts_of(runs),
        image_deploy_allowed=image_deploy_refusal(change, runs),
        environment_ended=environment_ended(change),
    )


def rule_of(change: Change, runs: list[Run]) -> ApprovalRule:
    """The change's rule, decided the first time it is asked (under the change's row lock)."""
    Change.objects.select_for_update().filter(pk=change.pk).first()
    rule = ApprovalRule.objects.filter(change=change).first()
    if rule is not None:
        return rule
    decision = decision_for(change, runs)
    rule = ApprovalRule.objects.create(change=change, approvals=decision.approvals, rule=decision.rule, reason=decision.reason)
    audit.record("change.approvals_decided", None, change, approvals=decision.approvals, rule=decision.rule, reason=decision.reason)
    return rule


@transaction.atomic
def when_planned(change: Change, runs: list[Run]) -> None:
    """workflow.planned_hooks: every plan of the change has finished and one waits for approval. The
    rule is decided; a change that needs no approval is approved by the portal, unless another check
    (policy findings, the cost hold, the administrators' protection) holds it: then one person must."""
    rule = rule_of(change, runs)
    if rule.approvals != 0 or any(run.status == RunStatus.APPROVED for run in runs):
        return
    held = next((refusal for check in workflow.approval_checks if check is not approval_refusal and (refusal := check(change, None, runs))), None)
    if held is not None:
        rule.approvals, rule.rule = 1, "one_approval"
        rule.reason = f"{rule.reason} It still needs one approval: {held.message}"
        rule.save(update_fields=["approvals", "rule", "reason"])
        audit.record("change.approvals_decided", None, change, approvals=1, rule=rule.rule, reason=rule.reason)
        return
    approved = [run for run in runs if run.status == RunStatus.AWAITING_APPROVAL and run.approve(None)]
    audit.record("change.approve", None, change, runs=[str(run.pk) for run in approved], rule=rule.rule, reason=rule.reason)


def approval_refusal(change: Change, user, runs: list[Run]) -> workflow.Refusal | None:
    """workflow.approval_checks' rule: a person approves a change once."""
    if user is None or not Approval.objects.filter(change=change, user=user).exists():
        return None
    rule = ApprovalRule.objects.filter(change=change).first()
    needed = rule.approvals if rule else 1
    why = f": {rule.reason}" if rule else "."
    message = f"You approved this change already; the approval policy asks {needed} approvals of it, from different people{why}"
    return workflow.Refusal("approved_by_you", message)


def tally(change: Change, user, runs: list[Run]) -> tuple[int, int]:
    """workflow.approval_tally: (approvals given, counting this one; approvals needed)."""
    needed = max(1, rule_of(change, runs).approvals)  # a person approving a change that needs none: one is enough
    if needed == 1:
        return 1, 1
    Approval.objects.create(change=change, user=user)
    return Approval.objects.filter(change=change).count(), needed


def approvals_of(change: Change) -> dict | None:
    """What the change page and the API show of the rule: None before it is decided."""
    rule = ApprovalRule.objects.filter(change=change).first()
    if rule is None:
        return None
    given = [approval.user.get_username() if approval.user else "(deleted user)" for approval in change.approvals.select_related("user")]
    return {"needed": rule.approvals, "rule": rule.rule, "reason": rule.reason, "given": given}
