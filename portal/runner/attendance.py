"""A running run's heartbeat, written from a thread of the worker process that runs it.

While a step runs, the row says which worker, machine and process run it, the process group of the
terraform command running now, and when the worker last answered (`heartbeat_at`). The recovery
pass (portal.runner.recovery) declares a run whose heartbeat stopped dead. Each beat also reads
whether someone asked to cancel the run (then `stop` is set and the terraform command is
interrupted) and records the id of the state lock the run's terraform holds, read from the
lockfile, so that a lock left behind can be told apart from anyone else's.
"""

import logging
import os
import socket
import threading
import time

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.utils import timezone

from portal.runner import locks
from portal.runner.terraform import started_at
from portal.runs.models import RUNNING_STATUSES, Run

logger = logging.getLogger(__name__)

# How long a worker keeps trying to write to a database that went away (a restart) before it gives up.
DATABASE_PATIENCE = 90


def worker_identity() -> dict:
    """Who runs the step: the RQ worker (when there is one), the machine and the process."""
    from rq import get_current_job

    job = get_current_job()
    return {
        "worker_name": (job.worker_name if job is not None and job.worker_name else "")[:255],
        "worker_host": socket.gethostname()[:255],
        "worker_pid": os.getpid(),
        "worker_started": started_at(os.getpid()),
    }


def persistently(action, patience: float = DATABASE_PATIENCE):
    """Run a database action, reconnecting and trying again while the database is unreachable (a
    restart): the run's moves are conditional updates, so doing one twice does no harm."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return action()
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block or time.monotonic() > deadline:
                raise
            logger.warning("The database did not answer; trying again in a moment.")
            connection.close()
            time.sleep(1)


class Attendance:
    """The heartbeat of one run's step: `with Attendance(run) as attendance: ...`."""

    def __init__(self, run: Run):
        self.run = run
        self.stop = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat_until_done, name=f"heartbeat-{run.pk}", daemon=True)

    def __enter__(self) -> "Attendance":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._done.set()
        self._thread.join()

    @property
    def cancelled(self) -> bool:
        return self.stop.is_set()

    def on_process(self, pid: int | None) -> None:
        # Read while the process is this worker's unreaped child: its id cannot name another yet.
        started = started_at(pid) if pid else None
        persistently(lambda: Run.objects.filter(pk=self.run.pk).update(terraform_pid=pid, terraform_started=started))

    def _beat_until_done(self) -> None:
        try:
            while not self._done.wait(settings.RUN_HEARTBEAT_INTERVAL):
                try:
                    self.beat()
                except (DatabaseError, InterfaceError):
                    logger.warning("Run %s: the heartbeat could not be written; trying again.", self.run.pk)
                    connection.close()
                except Exception:
                    logger.exception("Run %s: the heartbeat failed; trying again.", self.run.pk)
        finally:
            connection.close()  # this thread's own connection

    def beat(self) -> None:
        Run.objects.filter(pk=self.run.pk, status__in=RUNNING_STATUSES).update(heartbeat_at=timezone.now())
        row = (
            Run.objects.filter(pk=self.run.pk)
            .values("cancel_requested_at", "lock_id", "terraform_pid", "step_started_at", "worker_host", "finished_at")
            .first()
        )
        if row is None:
            return
        if row["cancel_requested_at"] is not None:
            self.stop.set()
        if not row["lock_id"] and row["terraform_pid"]:
            self.note_lock(row)

    def note_lock(self, row: dict) -> None:
        lock = locks.read(self.run.workspace)
        probe = Run(
            pk=self.run.pk,
            workspace=self.run.workspace,
            worker_host=row["worker_host"],
            step_started_at=row["step_started_at"],
            finished_at=row["finished_at"],
        )
        if lock is not None and locks.taken_by(probe, lock):
            Run.objects.filter(pk=self.run.pk).update(lock_id=lock.id[:64])
