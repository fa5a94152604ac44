"""Putting a run on the queue: a leaf that imports nothing of the workflow. The row is committed
first; the job carries only its id, and names the worker's function by its dotted path.

The queue is not the truth, the row is: a job lost with Redis, or one that could not be queued at
all, leaves its run waiting with `queued_at` set, and the recovery pass (portal.runner.recovery)
queues it again. So a failure to queue is logged, never shown to the user as an error.
"""

import logging

import django_rq
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rq import Callback
from rq.job import Job, JobStatus

from portal.runs.models import Run

logger = logging.getLogger(__name__)

EXECUTE_RUN = "portal.runner.execution.execute_run"
# Called by RQ when it finds the job's worker gone (its registry of started jobs).
JOB_ABANDONED = "portal.runner.recovery.job_failed"
LIVE_JOB_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


def job_id(run: Run) -> str:
    # A plan and the later apply of the same run are two jobs, so the job id names the phase.
    return f"run-{run.pk}-{run.status}"


def run_id_of(job_id: str) -> str | None:
    """The run that a job id made by job_id() names; None for another job's id."""
    if not job_id.startswith("run-"):
        return None
    return job_id.removeprefix("run-").rsplit("-", 1)[0]


def enqueue(run: Run) -> None:
    """Queue the run's job once the current transaction commits."""
    # robust: an unreachable Redis is logged and the run waits for the recovery pass.
    transaction.on_commit(lambda: put_on_queue(run.pk, job_id(run)), robust=True)


def put_on_queue(run_id, job_id: str) -> None:
    # Marked after the commit, not in the transaction that moved the run: a second UPDATE of a row
    # that transaction already updated makes PostgreSQL check its foreign keys again at commit, and
    # locking the workspace row for that deadlocked with a newer change holding it.
    Run.objects.filter(pk=run_id).update(queued_at=timezone.now())
    django_rq.get_queue(settings.RQ_QUEUE).enqueue(EXECUTE_RUN, str(run_id), job_id=job_id, on_failure=Callback(JOB_ABANDONED, timeout=120))


def has_live_job(run: Run) -> bool:
    """Whether Redis holds a job for the run's current phase that a worker will take or runs now."""
    connection = django_rq.get_connection(settings.RQ_QUEUE)
    job = Job.fetch_many([job_id(run)], connection=connection)[0]
    return job is not None and job.get_status(refresh=False) in LIVE_JOB_STATUSES


# Redis clients the pages read the queue with, one per URL in a process. django_rq makes a new
# client, with a connection pool and a TCP connection of its own, at each call: on the runs page
# that connection was most of the time reading the queue took. redis-py's pool opens new
# connections after a fork and after a connection fails.
_page_clients: dict = {}


def page_client():
    url = settings.RQ_QUEUES[settings.RQ_QUEUE]["URL"]
    if url not in _page_clients:
        _page_clients[url] = django_rq.get_connection(settings.RQ_QUEUE)
    return _page_clients[url]


def waiting_runs() -> list[Run]:
    """The runs whose jobs wait in the workers' queue, first to be taken first."""
    queue = django_rq.get_queue(settings.RQ_QUEUE, connection=page_client())
    ids = [run_id for run_id in map(run_id_of, queue.get_job_ids()) if run_id]
    runs = {str(run.pk): run for run in Run.objects.filter(pk__in=ids).select_related("workspace")}
    return [runs[run_id] for run_id in ids if run_id in runs]
