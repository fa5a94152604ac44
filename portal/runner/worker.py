"""The RQ worker the portal runs (settings.RQ["WORKER_CLASS"]): RQ's own worker, plus the portal's
recovery on three of RQ's hooks. When the work-horse running a job dies (the OOM killer, a kill -9),
its run is settled at once. Every RUN_RECOVERY_INTERVAL the recovery pass runs: between jobs with
RQ's own maintenance (which also finds jobs whose worker vanished and calls their failure callback),
and while a job runs with RQ's heartbeats of it, impatient there (it never waits for a terraform to
stop while its own job is being watched), so that busy workers do not leave the dead unattended.
"""

import contextlib
import logging
import os
import time

from django.conf import settings
from django.db import connections
from django.dispatch import Signal
from rq import Worker
from rq.exceptions import StopRequested
from rq.worker import WorkerStatus

from portal.core import aws
from portal.runner import providers, recovery
from portal.workspaces import identities

logger = logging.getLogger(__name__)

# Sent in the worker itself (never in a work-horse) as it starts working and as it stops, with
# `worker`: what an app keeps for the worker's lifetime (the policy check's resident checkov) starts
# and stops on these, and the work-horses it forks inherit it.
worker_started = Signal()
worker_stopping = Signal()
worker_maintained = Signal()  # after each maintenance pass of the worker (never in a work-horse)


class RunWorker(Worker):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("maintenance_interval", settings.RUN_RECOVERY_INTERVAL)
        kwargs.setdefault("job_monitoring_interval", min(30, settings.RUN_RECOVERY_INTERVAL))
        super().__init__(*args, **kwargs)
        self.recovered_at = 0.0
        self.deferring_stop = False
        try:
            # The account the roles live in, asked of STS once here rather than inside a run (the
            # answer is cached and inherited by every work-horse).
            identities.account_id()
        except Exception as exc:  # noqa: BLE001 - a run asks again, and fails with the reason
            logger.warning("Could not ask STS for the AWS account yet: %s", exc)
        # botocore's data for what every run calls (its state lock in S3, the deployed image in ECR,
        # the service's health in ECS): read once here, every work-horse inherits it.
        aws.warm("s3", "ecr", "ecs")
        # The parser of lock files (portal.runner.providers) is built on first use, 0.1 s of CPU:
        # built here once, every work-horse inherits it.
        providers.parse("")

    def bootstrap(self, *args, **kwargs):
        super().bootstrap(*args, **kwargs)
        worker_started.send(sender=RunWorker, worker=self)

    def teardown(self):
        if not self.is_horse:
            worker_stopping.send(sender=RunWorker, worker=self)
        super().teardown()

    @property
    def dequeue_timeout(self) -> int:
        # RQ waits for a job up to its worker TTL before it looks at its maintenance again; the
        # recovery pass wants to run every RUN_RECOVERY_INTERVAL while the worker is idle.
        return max(1, min(super().dequeue_timeout, settings.RUN_RECOVERY_INTERVAL))

    def _shutdown(self):
        # An idle worker's SIGTERM raises StopRequested from the signal handler, wherever the worker
        # is. Inside the portal's own passes that is an Exception like any other: the recovery pass
        # caught it as its own failure and the worker went on working, deaf to the warm shutdown an
        # operator's restart sends. There the stop is noted and taken once the pass has ended.
        if self.deferring_stop:
            self._stop_requested = True
            self.set_shutdown_requested_date()
            return
        super()._shutdown()

    @contextlib.contextmanager
    def stop_deferred(self):
        self.deferring_stop = True
        try:
            yield
        finally:
            self.deferring_stop = False
        if self._stop_requested and self.get_state() != WorkerStatus.BUSY:
            raise StopRequested()  # what RQ would have raised; a busy worker stops after its job

    def run_maintenance_tasks(self):
        with self.stop_deferred():
            # RQ reports each pass at INFO; every RUN_RECOVERY_INTERVAL that would drown the log.
            level = self.log.level
            self.log.setLevel(max(level, logging.WARNING))
            try:
                super().run_maintenance_tasks()
            finally:
                self.log.setLevel(level)
            self.recover(patient=True)
            with no_connection_left():  # a receiver's queries (the environments' sweep) open one
                worker_maintained.send(sender=RunWorker, worker=self)

    def maintain_heartbeats(self, job, execution):
        super().maintain_heartbeats(job, execution)
        if time.monotonic() - self.recovered_at >= settings.RUN_RECOVERY_INTERVAL:
            with self.stop_deferred():
                self.recover(patient=False)

    def recover(self, *, patient: bool) -> None:
        self.recovered_at = time.monotonic()
        with no_connection_left():
            try:
                recovery.recover(patient=patient)
            except Exception:
                logger.exception("The recovery pass failed; the next one tries again.")

    def handle_work_horse_killed(self, job, retpid, ret_val, rusage):
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        if not job.args:
            return
        how = f"ended without finishing it (process {retpid}{death_signal(ret_val)})"
        with self.stop_deferred(), no_connection_left():
            try:
                recovery.horse_died(job.args[0], how)
            except Exception:
                logger.exception("Could not settle the run of job %s; the recovery pass tries again.", job.id)


def death_signal(status) -> str:
    if status is None or not os.WIFSIGNALED(status):
        return ""
    number = os.WTERMSIG(status)
    note = ", as the out-of-memory killer does" if number == 9 else ""
    return f", killed by signal {number}{note}"


class no_connection_left:
    """The worker forks a work-horse for every job: a database connection opened here would be
    shared with the child, so the parent closes what it opened before it forks again."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        connections.close_all()
