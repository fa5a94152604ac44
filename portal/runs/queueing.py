"""Putting runs on the queue. The row is committed first; the job carries only its id."""

import django_rq
from django.conf import settings
from django.db import transaction

from portal.runs.models import Run, RunStatus
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
def queue_plan(workspace: Workspace, user) -> Run:
    """Queue a plan of the workspace; a plan still waiting for approval is superseded (stale)."""
    for active in Run.objects.active().select_for_update().filter(workspace=workspace):
        if active.status in (RunStatus.QUEUED, RunStatus.AWAITING_APPROVAL):
            active.mark_stale("Superseded by a newer change to the same workspace.")
        else:
            raise WorkspaceBusy(
                f"{workspace.path} has a run that is {active.get_status_display().lower()}; "
                "wait for it to finish, then try again."
            )
    run = Run.objects.create(workspace=workspace, requested_by=user)
    enqueue(run)
    return run


@transaction.atomic
def approve(run: Run, user) -> bool:
    """Approve the plan and queue its apply. False when the user may not or the run cannot be."""
    if not run.approve(user):
        return False
    enqueue(run)
    return True
