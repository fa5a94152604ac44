"""The change workflow, top to bottom: propose, approve, discard, cancel, advance after every step,
settle.

A change is a set of runs planned together, approved with one click and applied one after another.
Every function here that acts refuses with `Refused(Refusal)` when it may not, so the page, its
buttons and the API all give the one answer the rule gives. The worker (portal.runner.execution)
calls `advance` after each plan and apply; nothing here runs terraform. Queueing a job is a leaf
(portal.runs.queueing).

When a change has ended, `change_settled` is sent once, with its outcome, for the apps that keep
something in step with it (the catalog moves a service's applied declaration and its lifecycle).
"""

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.text import Truncator

from portal import audit
from portal.access import permissions
from portal.core.refusals import Refusal, Refused  # noqa: F401 (also imported from here)
from portal.runs import plans, queueing
from portal.runs.models import (
    APPLIED_STATUSES,
    APPROVABLE_STATUSES,
    BREAKING_STATUSES,
    CANCELLABLE_STATUSES,
    DONE_STATUSES,
    WAITING_STATUSES,
    Change,
    Run,
    RunStatus,
)
from portal.workspaces.models import Workspace

# Sent once per change when its last run has ended: kwargs `change` and `outcome` (Change.Outcome).
change_settled = Signal()


# --- propose ---------------------------------------------------------------------------------------
@transaction.atomic
def propose(
    title: str,
    plans_wanted: Iterable[tuple],
    user,
    *,
    service=None,
    revision=None,
    destroy: bool = False,
    platform_approval: str = "",
) -> Change:
    """Plan each (workspace, inputs) as one change. A change still waiting for approval in one of
    the workspaces is superseded (its runs go stale, the rest of it is abandoned); a run planning or
    applying there refuses the proposal (`workspace_busy`).

    A wanted plan may name its run's kind, (workspace, inputs, kind): a decommission destroys the
    service's workspaces and, in the same change, applies the workload roles without its grant.
    `platform_approval` says why an admin of the platform must approve the change whatever its
    plans show (it grants a service secrets)."""
    change = Change.objects.create(
        title=bounded_title(title),
        service=service,
        revision=revision,
        destroys=destroy,
        requested_by=user,
        platform_approval=platform_approval,
    )
    default_kind = Run.Kind.DESTROY if destroy else Run.Kind.APPLY
    for workspace, variables, *kind in plans_wanted:
        supersede_in(workspace, change)
        try:
            with transaction.atomic():
                run = Run.objects.create(
                    workspace=workspace,
                    requested_by=user,
                    change=change,
                    kind=kind[0] if kind else default_kind,
                    variables=variables,
                )
        except IntegrityError:  # another proposal put a run there a moment ago
            raise Refused(busy(workspace, "a run that started a moment ago")) from None
        queueing.enqueue(run)
    return change


def supersede_in(workspace: Workspace, newer: Change) -> None:
    for seen in Run.objects.active().filter(workspace=workspace):
        # The whole older change is superseded, not only its run here. Its runs are locked in one
        # order (by id), as approve and discard lock them, so that two of these never deadlock.
        older = locked_runs_of(seen.change) if seen.change_id else [Run.objects.select_for_update().get(pk=seen.pk)]
        active = next(run for run in older if run.pk == seen.pk)
        if not active.is_active:
            continue  # it ended while we looked
        if active.status not in (RunStatus.QUEUED, RunStatus.AWAITING_APPROVAL):
            raise Refused(busy(workspace, f"a run that is {active.get_status_display().lower()}"))
        for run in older:
            if run.status in (RunStatus.QUEUED, RunStatus.AWAITING_APPROVAL):
                run.mark_stale(f"Superseded by a newer change: {newer.title}")
        if seen.change_id:
            advance(seen.change)


def busy(workspace: Workspace, what: str) -> Refusal:
    return Refusal("workspace_busy", f"{workspace.path} has {what}; wait for it to finish, then try again.")


def bounded_title(title: str) -> str:
    return Truncator(title).chars(Change._meta.get_field("title").max_length)


# --- approve ---------------------------------------------------------------------------------------
def approval_refusal(change: Change, user, runs: list[Run] | None = None) -> Refusal | None:
    """Whether `user` may approve `change` now; None when they may."""
    runs = runs if runs is not None else list(change.runs.select_related("workspace__service__team"))
    refusal = permissions.approve_runs(user, [run.workspace for run in runs])
    if refusal is not None:
        return refusal
    if is_platform(runs) and not permissions.is_admin(user):
        message = (
            f"{change.platform_approval}: an admin of the platform approves it."
            if change.platform_approval
            else "A change of the platform is approved by an admin of the platform."
        )
        return Refusal("platform_permission", message, forbidden=True)
    if change.requested_by_id is not None and user.pk == change.requested_by_id:
        return Refusal("own_change", "A change is approved by someone other than the person who proposed it.", forbidden=True)
    statuses = {run.status for run in runs}
    if statuses & {RunStatus.APPROVED, RunStatus.APPLYING, *APPLIED_STATUSES}:
        return Refusal("already_approved", "This change was approved already.")
    if RunStatus.DISCARDED in statuses:
        return Refusal("discarded", "This change was discarded; propose it again to apply it.")
    if RunStatus.STALE in statuses:
        return Refusal("stale", "A newer change superseded this one; approve the newer change instead.")
    if RunStatus.CANCELLED in statuses:
        return Refusal("cancelled", "A run of this change was cancelled, so the change cannot be applied; propose it again.")
    if statuses & {RunStatus.FAILED, RunStatus.ABANDONED}:
        return Refusal("plan_failed", "A plan of this change failed, so the change cannot be applied; see its log.")
    if statuses & {RunStatus.QUEUED, RunStatus.PLANNING}:
        return Refusal("plan_running", "A plan of this change has not finished; approve once every plan has.")
    if RunStatus.AWAITING_APPROVAL not in statuses:
        return Refusal("nothing_to_approve", "Every plan of this change found nothing to change.")
    for check in approval_checks:
        refusal = check(change, user, runs)
        if refusal is not None:
            return refusal
    return None


# Further rules of other apps (policy findings), asked after the workflow's own: each takes
# (change, user, runs) and returns a Refusal or None. Registered in their AppConfig.ready().
approval_checks: list = []


# How many approvals the change has, counting this one, and how many it needs: (given, needed).
# One of one unless an app says otherwise (portal.approvals, in its AppConfig.ready()).
def approval_tally(change: Change, user, runs: list[Run]) -> tuple[int, int]:
    return 1, 1


# Called inside advance() once every plan of a change has finished and one waits for approval, with
# (change, runs): the approval policy decides there how many approvals the change needs.
planned_hooks: list = []


@transaction.atomic
def approve(change: Change, user) -> tuple[int, int]:
    """Approve the change: once it has the approvals it needs, every plan of it is approved and the
    first apply queued, in order; before, the approval is counted and the plans wait. Answers
    (approvals given, approvals needed)."""
    runs = locked_runs_of(change)
    refusal = approval_refusal(change, user, runs)
    if refusal:
        raise Refused(refusal)
    given, needed = approval_tally(change, user, runs)
    if given < needed:
        audit.record("change.approve", user, change, runs=[str(run.pk) for run in runs], approvals=f"{given} of {needed}")
        return given, needed
    for run in runs:
        if run.status == RunStatus.AWAITING_APPROVAL:
            run.approve(user)
    audit.record("change.approve", user, change, runs=[str(run.pk) for run in runs], **({"approvals": f"{given} of {needed}"} if needed > 1 else {}))
    advance(change)
    return given, needed


# --- discard ---------------------------------------------------------------------------------------
def may_approve_some(user, runs: list[Run]) -> bool:
    """An approver of these runs: of their services' teams; platform runs need an admin of the platform."""
    return permissions.approve_runs(user, [run.workspace for run in runs]) is None and (not is_platform(runs) or permissions.is_admin(user))


def discard_refusal(change: Change, user, runs: list[Run] | None = None) -> Refusal | None:
    runs = runs if runs is not None else list(change.runs.select_related("workspace"))
    if user.pk != change.requested_by_id and not may_approve_some(user, runs):
        return Refusal("not_allowed", "Only the person who proposed a change or an approver can discard it.", forbidden=True)
    statuses = {run.status for run in runs}
    if RunStatus.PLANNING in statuses:
        return Refusal("plan_running", "A plan of this change is running; discard it once the plan has finished.")
    if not statuses & {RunStatus.QUEUED, RunStatus.AWAITING_APPROVAL}:
        return Refusal("not_discardable", "Nothing of this change waits for approval: it was approved, applied or has ended.")
    return None


def discard(change: Change, user) -> None:
    """Discard every plan of the change that waits; nothing of it is applied."""
    decide(change, user, discard_refusal, lambda run: run.discard(), "change.discard")


# --- cancel ----------------------------------------------------------------------------------------
def cancel_refusal(run: Run, user, runs: list[Run] | None = None) -> Refusal | None:
    """Whether `user` may cancel `run` now: its requester, an approver or an admin, while it waits
    for a worker or runs."""
    runs = runs if runs is not None else [run]
    refusal = permissions.cancel_run(user, run, may_approve_some(user, runs))
    if refusal is not None:
        return refusal
    if run.status == RunStatus.AWAITING_APPROVAL:
        return Refusal("not_cancellable", "This run waits for approval; discard its change instead.")
    if run.status not in CANCELLABLE_STATUSES:
        return Refusal("not_cancellable", "This run has ended; there is nothing to cancel.")
    if run.cancel_requested_at is not None:
        return Refusal("cancel_requested", "A cancel was asked for already; the worker is stopping terraform.")
    return None


@transaction.atomic
def cancel(run: Run, user) -> Run:
    """Cancel a run: one that waits ends at once (the rest of its change is abandoned); one that
    runs is stopped by its worker, which interrupts terraform so that it writes its state and
    releases its lock (portal.runner.execution)."""
    runs = locked_runs_of(run.change) if run.change_id else [Run.objects.select_for_update().get(pk=run.pk)]
    run = next(locked for locked in runs if locked.pk == run.pk)
    refusal = cancel_refusal(run, user, runs)
    if refusal:
        raise Refused(refusal)
    if run.status in WAITING_STATUSES:
        run.cancel(f"Cancelled by {user.get_username()} before a worker started it; nothing was run.")
        if run.change_id:
            advance(run.change)
    else:
        run.request_cancel(user)
    audit.record("run.cancel", user, run, status=run.status, workspace=run.workspace.path)
    run.refresh_from_db()
    return run


@transaction.atomic
def decide(change: Change, user, rule, act, action: str) -> None:
    """Lock the change's runs, ask the rule, act on each run, move the change on. Locked, two
    decisions on one change (two approvals, an approval and a discard) take turns, and the second
    is judged on what the first did."""
    runs = locked_runs_of(change)
    refusal = rule(change, user, runs)
    if refusal:
        raise Refused(refusal)
    for run in runs:
        act(run)
    audit.record(action, user, change, runs=[str(run.pk) for run in runs])
    advance(change)


# --- advance and settle ----------------------------------------------------------------------------
@transaction.atomic
def advance(change: Change) -> None:
    """Move the change on after any of its runs moved: abandon what can no longer go ahead, queue
    the next approved apply, and settle the change once every run has ended."""
    runs = change.runs_in_order()
    broken = next((run for run in runs if run.status in BREAKING_STATUSES), None)
    if broken is not None:
        reason = f"Abandoned: {broken.workspace.path} is {broken.get_status_display().lower()}, so this change cannot be applied as approved."
        for run in runs:
            run.abandon(reason)
    else:
        statuses = {run.status for run in runs}
        if RunStatus.AWAITING_APPROVAL in statuses and statuses <= set(APPROVABLE_STATUSES):
            for hook in planned_hooks:
                hook(change, runs)
        if not any(run.status == RunStatus.APPLYING for run in runs):
            queue_next_apply(runs)
    plans.delete([run for run in runs if not run.is_active])
    settle(change, runs)


def queue_next_apply(runs: list[Run]) -> None:
    run = next_apply(runs)
    if run is not None:
        queueing.enqueue(run)


def next_apply(runs: list[Run]) -> Run | None:
    """The approved run whose turn it is to apply (runs in apply order), if any."""
    if any(run.status == RunStatus.APPLYING for run in runs):
        return None
    for run in runs:
        if run.status == RunStatus.APPROVED:
            return run
        if run.status not in DONE_STATUSES:
            return None  # an earlier run has not applied yet
    return None


def settle(change: Change, runs: list[Run]) -> None:
    if any(run.is_active for run in runs):
        return
    outcome = Change.Outcome.APPLIED if all(run.status in DONE_STATUSES for run in runs) else Change.Outcome.ABANDONED
    if Change.objects.filter(pk=change.pk, outcome=Change.Outcome.PENDING).update(outcome=outcome, settled_at=timezone.now()):
        change.outcome = outcome
        change_settled.send(sender=Change, change=change, outcome=outcome)


# --- helpers ---------------------------------------------------------------------------------------
def locked_runs_of(change: Change) -> list[Run]:
    """The change's runs, locked until the transaction ends, always in the same order (by id)."""
    return list(change.runs.select_for_update(of=("self",)).select_related("workspace").order_by("pk"))


def is_platform(runs: list[Run]) -> bool:
    """Whether approving these runs takes an admin of the platform: a platform workspace is among
    them, or their change says why (it grants a service secrets, whatever its plans show)."""
    return any(run.workspace.is_platform or (run.change_id and run.change.platform_approval) for run in runs)
