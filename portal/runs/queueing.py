"""Putting runs on the queue. The row is committed first; the job carries only its id."""

import django_rq
from django.conf import settings
from django.db import transaction

from portal.runs.models import Change, Run, RunStatus
from portal.workspaces.models import Workspace


class WorkspaceBusy(Exception):
    """A run of the workspace is planning or applying right now."""


def enqueue(run: Run) -> None:
    from portal.runs.execution import execute_run

    # A plan and the later apply of the same run are two jobs, so the job id names the phase.
    transaction.on_commit(
        lambda: django_rq.get_queue(settings.RQ_QUEUE).enqueue(
            execute_run, str(run.pk), job_id=f"run-{run.pk}-{run.status}"
        )
    )


@transaction.atomic
def queue_change(title: str, workspaces: list[Workspace], user, *, service=None, destroy=False) -> Change:
    """Plan several workspaces as one change: one approval, applies in workspace order."""
    change = Change.objects.create(title=title, service=service, destroys=destroy, requested_by=user)
    for workspace in workspaces:
        queue_plan(workspace, user, change, kind=Run.Kind.DESTROY if destroy else Run.Kind.APPLY)
    return change


@transaction.atomic
def queue_plan(workspace: Workspace, user, change: Change, kind=Run.Kind.APPLY) -> Run:
    """Queue a plan of the workspace; a plan still waiting for approval is superseded (stale)."""
    for active in Run.objects.active().select_for_update().filter(workspace=workspace):
        if active.status in (RunStatus.QUEUED, RunStatus.AWAITING_APPROVAL):
            active.mark_stale("Superseded by a newer change to the same workspace.")
        else:
            raise WorkspaceBusy(
                f"{workspace.path} has a run that is {active.get_status_display().lower()}; "
                "wait for it to finish, then try again."
            )
    run = Run.objects.create(workspace=workspace, requested_by=user, change=change, kind=kind)
    enqueue(run)
    return run


@transaction.atomic
def approve(change: Change, user) -> bool:
    """Approve every plan of the change and queue the first apply; the worker queues the next one
    when an apply succeeds. False when the user may not approve or the change is not ready."""
    if not change.can_be_approved_by(user):
        return False
    approved = [
        run for run in change.runs_in_order() if run.status == RunStatus.AWAITING_APPROVAL and run.approve(user)
    ]
    if approved:
        enqueue(approved[0])
    return bool(approved)


def queue_next_apply(change: Change) -> Run | None:
    """After an apply succeeded: queue the next approved run of the change, if any."""
    for run in change.runs_in_order():
        if run.status == RunStatus.APPROVED:
            enqueue(run)
            return run
    return None


def abandon_rest(change: Change, failed: Run) -> None:
    """An apply failed: the later approved runs of the change must not go ahead."""
    for run in change.runs_in_order():
        if run.status == RunStatus.APPROVED:
            run.fail(f"Not applied because {failed.workspace.path} failed before it; plan the change again.")


@transaction.atomic
def discard(change: Change) -> int:
    """Discard every plan of the change that has not been approved; returns how many."""
    return sum(run.discard() for run in change.runs.select_for_update())
