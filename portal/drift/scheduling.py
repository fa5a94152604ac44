"""When drift checks run: a sweep job on the low-priority queue (settings.DRIFT_QUEUE, which the
terraform workers take only when their own queue is empty) queues one check per applied workspace
that is due, then schedules the next sweep with RQ's scheduler (the workers run --with-scheduler).

The next sweep's job id names its time slot, so however many times it is asked for (by the sweep
itself, after every settled change, by `manage.py drift_sweep`, by "Check now") at most one waits.
If Redis loses it, the next settled change or `manage.py drift_sweep` schedules it again.
"""

import logging
import time
from datetime import timedelta

import django_rq
from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone
from rq.job import Job, JobStatus

from portal import audit
from portal.drift.models import DriftCheck
from portal.runs.models import ACTIVE_STATUSES, Run
from portal.workspaces.models import Workspace

logger = logging.getLogger(__name__)

RUN_CHECK = "portal.drift.checks.check_job"
SWEEP = "portal.drift.scheduling.sweep_job"
LIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


def tick(interval: int) -> int:
    """How often the sweep runs: a quarter of the interval, at most every 5 minutes."""
    return max(1, min(interval // 4, 300))


def due_workspaces(now=None):
    """Applied workspaces (their last apply not a destroy) with no active run, whose last check is
    older than the interval less one tick (so that a workspace is checked at least once per interval)."""
    interval = settings.DRIFT_INTERVAL
    if not interval:
        return Workspace.objects.none()
    now = now or timezone.now()
    last_check = DriftCheck.objects.filter(workspace=OuterRef("pk")).order_by("-checked_at").values("checked_at")[:1]
    return (
        Workspace.objects.filter(pk__in=Run.objects.last_applied_per_workspace().values("workspace_id"))
        .annotate(
            busy=Exists(Run.objects.filter(workspace=OuterRef("pk")).active()),
            last_checked_at=Subquery(last_check),
        )
        .filter(busy=False)
        .filter(Q(last_checked_at__isnull=True) | Q(last_checked_at__lte=now - timedelta(seconds=interval - tick(interval))))
        .order_by("last_checked_at", "pk")
    )


def queue():
    return django_rq.get_queue(settings.DRIFT_QUEUE)


def live(job_id: str) -> bool:
    job = Job.fetch_many([job_id], connection=queue().connection)[0]
    return job is not None and job.get_status(refresh=False) in LIVE


def check_job_id(workspace_id: int) -> str:
    # Job ids are global in Redis: named after the queue, so two portals on one Redis never meet.
    return f"{queue().name}-check-{workspace_id}"


def enqueue_check(workspace_id: int) -> bool:
    """Queue a check of the workspace unless one waits or runs already. False when one did."""
    job_id = check_job_id(workspace_id)
    if live(job_id):
        return False
    # kwargs, not args: the run worker reads a killed job's first argument as a run id.
    queue().enqueue(RUN_CHECK, kwargs={"workspace_id": workspace_id}, job_id=job_id, result_ttl=0)
    return True


def sweep_job() -> None:
    """RQ entry point."""
    close_old_connections()
    sweep()


def sweep() -> int:
    """Queue the due checks, then the next sweep. Returns how many were queued."""
    try:
        return sum(enqueue_check(pk) for pk in due_workspaces().values_list("pk", flat=True))
    finally:
        schedule_next_sweep()


def schedule_next_sweep() -> str | None:
    """Schedule the sweep of the next time slot, once; None when drift detection is off."""
    interval = settings.DRIFT_INTERVAL
    if not interval:
        return None
    every = tick(interval)
    slot = int(time.time() // every) + 1
    job_id = f"{queue().name}-sweep-{every}-{slot}"
    if not live(job_id):
        queue().enqueue_in(timedelta(seconds=every), SWEEP, job_id=job_id, result_ttl=0)
    return job_id


def listen() -> None:
    from portal.changes.workflow import change_settled

    change_settled.connect(after_change_settled, dispatch_uid="drift-sweep-after-changes")


def after_change_settled(sender, change, outcome, **kwargs) -> None:
    """A settled change may have applied a workspace: make sure a sweep is scheduled to watch it."""
    transaction.on_commit(ensure_sweep, robust=True)


def ensure_sweep() -> None:
    try:
        schedule_next_sweep()
    except Exception:  # noqa: BLE001 - Redis away: `manage.py drift_sweep` or the next change schedules it
        logger.exception("Could not schedule the drift sweep.")


def check_now(workspace: Workspace, user) -> bool:
    """ "Check now": queue a check of the workspace at once (False when one waits already), and make
    sure the sweep is scheduled; recorded in the audit trail either way. Refused (Refused) when it was
    never applied, or a run is going on there (the check would be thrown away)."""
    from portal.core.refusals import Refusal, Refused
    from portal.drift.checks import applied_variables

    if applied_variables(workspace) is None:
        raise Refused(Refusal("not_applied", "This workspace has not been applied, so there is nothing to check."))
    if workspace.runs.filter(status__in=ACTIVE_STATUSES).exists():
        raise Refused(Refusal("workspace_busy", f"{workspace.path} has a run going on; check it once that has ended."))
    queued = enqueue_check(workspace.pk)
    ensure_sweep()
    audit.record("drift.check", user, workspace, queued=queued)
    return queued
