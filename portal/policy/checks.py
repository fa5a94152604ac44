"""Policy checks on every plan: what checkov finds is recorded on the run, findings whose severity
blocks (PORTAL_POLICY_BLOCKING) refuse approval until an approver overrides them with a reason.

Severities are the portal's (PORTAL_POLICY_SEVERITIES): checkov without a Prisma Cloud key reports
none."""

from django.conf import settings
from django.db import IntegrityError, transaction

from portal import audit
from portal.changes import workflow
from portal.policy import checkov
from portal.policy.models import REASON_MIN_LENGTH, Finding, Override
from portal.policy.skips import reason_skipped
from portal.runs import plans
from portal.runs.models import Change, Run


def check_plan(sender, run: Run, plan: dict, log, **kwargs) -> None:
    """plan_read's receiver: scan, record, summarise in the log. Raises (the plan fails) when checkov
    cannot run: a check that could not run never passes for one that did."""
    try:
        scan = checkov.scan(plan, plans.plan_path(run).parent, f"{run.pk}.policy.json")
    except checkov.PolicyCheckFailed as exc:
        log(f"[portal] Policy: {exc}.\n")
        raise
    findings, skipped, untouched = [], [], 0
    left_alone = unchanged_resources(plan)
    for result in scan.failed:
        if result.resource_address in left_alone:
            untouched += 1  # reviewed when a plan last changed it: this plan's review is about what it changes
            continue
        reason = reason_skipped(run.workspace.module, result.check_id, result.resource_address)
        if reason is not None:
            skipped.append(f"{result.check_id} on {result.resource_address}: {reason}")
            continue
        severity = settings.POLICY_SEVERITIES.get(result.check_id, settings.POLICY_DEFAULT_SEVERITY)
        findings.append(
            Finding(
                run=run,
                check_id=result.check_id[:64],
                check_name=result.check_name[:500],
                resource_address=result.resource_address[:500],
                severity=severity,
                blocking=severity in settings.POLICY_BLOCKING,
                guideline=result.guideline[:500] if result.guideline.startswith("https://") else "",
            )
        )
    with transaction.atomic():
        Finding.objects.filter(run=run).delete()  # a plan run again (requeued) finds afresh
        Finding.objects.bulk_create(findings)
    log(summary(findings, skipped, scan.seconds))
    if untouched:
        log(f"[portal] Policy: {untouched} more on resources this plan leaves as they are, not counted.\n")


def worker_started(sender, worker, **kwargs) -> None:
    """A worker that plans runs keeps a checkov loaded for its work-horses' plans."""
    if settings.RQ_QUEUE in worker.queue_names():
        checkov.start_resident()


def worker_stopping(sender, worker, **kwargs) -> None:
    checkov.stop_resident()


def worker_maintained(sender, worker, **kwargs) -> None:
    checkov.keep_resident()


def unchanged_resources(plan: dict) -> set[str]:
    """The addresses the plan neither creates nor updates (no-op, read, or delete). checkov scans
    every resource of the planned state; a finding on one of these is not this change's to answer."""
    return {
        change["address"] for change in plan.get("resource_changes") or [] if not {"create", "update"} & set((change.get("change") or {}).get("actions") or [])
    }


def summary(findings: list[Finding], skipped: list[str], seconds: float) -> str:
    blocking = sorted({finding.check_id for finding in findings if finding.blocking})
    line = f"[portal] Policy: {len(findings)} finding{'' if len(findings) == 1 else 's'}, {len(blocking)} blocking"
    if blocking:
        line += f" ({', '.join(blocking)})"
    line += f"; checkov took {seconds:.1f} s.\n"
    return line + "".join(f"[portal] Policy: skipped {text}\n" for text in skipped)


# --- approval --------------------------------------------------------------------------------------
def blocking_check_ids(runs: list[Run]) -> list[str]:
    return sorted(set(Finding.objects.filter(run__in=runs, blocking=True).values_list("check_id", flat=True)))


def approval_refusal(change: Change, user, runs: list[Run]) -> workflow.Refusal | None:
    """workflow.approval_checks' rule: blocking findings refuse approval until overridden."""
    blocking = blocking_check_ids(runs)
    if not blocking or Override.objects.filter(change=change).exists():
        return None
    return workflow.Refusal(
        "policy_blocked",
        f"The policy check blocks this change: {', '.join(blocking)}. An approver who did not propose it may override with a written reason, then approve.",
    )


def override_refusal(change: Change, user, runs: list[Run] | None = None) -> workflow.Refusal | None:
    """Whoever may approve the change but for its findings may override them (the workflow's rules
    first: not the proposer, an approver, plans finished)."""
    runs = runs if runs is not None else list(change.runs.select_related("workspace"))
    refusal = workflow.approval_refusal(change, user, runs)
    if refusal is not None and refusal.code != "policy_blocked":
        return refusal
    if refusal is None:
        if Override.objects.filter(change=change).exists():
            return workflow.Refusal("already_overridden", "The policy findings of this change were overridden already.")
        return workflow.Refusal("nothing_to_override", "No policy finding blocks this change.")
    return None


def override(change: Change, user, reason: str) -> Override:
    """Record `user`'s override of the change's blocking findings, with their reason."""
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN_LENGTH:
        raise workflow.Refused(workflow.Refusal("reason_required", f"Say why in at least {REASON_MIN_LENGTH} characters: the reason is recorded."))
    with transaction.atomic():
        runs = list(Run.objects.select_for_update().filter(change=change).select_related("workspace").order_by("pk"))
        refusal = override_refusal(change, user, runs)
        if refusal is not None:
            raise workflow.Refused(refusal)
        try:
            with transaction.atomic():
                found = Override.objects.create(change=change, by=user, by_username=user.get_username(), reason=reason, check_ids=blocking_check_ids(runs))
        except IntegrityError:
            raise workflow.Refused(workflow.Refusal("already_overridden", "The policy findings of this change were overridden already.")) from None
        # It lets HIGH findings through: who, why and which checks belong in the trail as well as on the page.
        audit.record("policy.override", user, change, reason=reason, check_ids=found.check_ids)
        return found


def policy_of(run: Run) -> dict:
    """The run's findings and its change's override, as the API and the pages show them."""
    findings = list(Finding.objects.filter(run=run))
    found = Override.objects.filter(change_id=run.change_id).first() if run.change_id else None
    return {
        "findings": findings,
        "blocking": sum(finding.blocking for finding in findings),
        "override": found,
    }
