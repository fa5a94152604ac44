"""Putting a run on the queue: a leaf that imports nothing of the workflow. The row is committed
first; the job carries only its id, and names the worker's function by its dotted path."""

import django_rq
from django.conf import settings
from django.db import transaction

from portal.runs.models import Run

EXECUTE_RUN = "portal.runs.execution.execute_run"


def enqueue(run: Run) -> None:
    # A plan and the later apply of the same run are two jobs, so the job id names the phase.
    job_id = f"run-{run.pk}-{run.status}"
    transaction.on_commit(
        lambda: django_rq.get_queue(settings.RQ_QUEUE).enqueue(EXECUTE_RUN, str(run.pk), job_id=job_id)
    )
