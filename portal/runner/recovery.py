"""Runs that survive faults: the recovery pass, run by every worker between jobs (RunWorker's
maintenance, every RUN_RECOVERY_INTERVAL) and by `manage.py reap_runs`.

1. A running run whose worker is gone is settled: failed (or cancelled, when a cancel was asked),
   with what happened and what to do, and the rest of its change abandoned. A worker is gone when
   RQ saw its work-horse die (RunWorker), when RQ found its job abandoned (the job's failure
   callback), or when the run's heartbeat stopped for RUN_DEAD_AFTER.
2. The state lock such a run's terraform left is released, once that terraform is known to be dead:
   on this machine its process group is checked (interrupted, then killed after the grace period);
   on another machine, once no worker of that machine is alive. Until then the run keeps
   `terraform_pid`, and every pass tries again.
3. A waiting run whose job is not in Redis (lost with Redis, or never queued) is queued again.
4. Provider plugins on this machine whose terraform is gone (a worker stopped during a drift check,
   whose terraform no run records) are killed.

Every step is a conditional move of the row, so two passes at once, or a pass and a worker that
was only slow, cannot settle a run twice.
"""

import logging
import os
import signal
import socket
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import django_rq
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rq import Worker

from portal.changes import workflow
from portal.runner import locks
from portal.runner.terraform import command_name, orphaned_providers, reap_group, running, stop_group
from portal.runs import queueing
from portal.runs.models import ACTIVE_STATUSES, RUNNING_STATUSES, LockRelease, Run, RunStatus

logger = logging.getLogger(__name__)

SETTLE_HINTS = {
    RunStatus.PLANNING: "Nothing was changed: plan again (change the service, or press Plan).",
    RunStatus.APPLYING: (
        "Part of the apply may have happened, and the state holds it: plan again (change the service, or press Plan) to see what is left, then approve it."
    ),
}


@dataclass
class Recovery:
    settled: list[Run] = field(default_factory=list)
    released: list[LockRelease] = field(default_factory=list)
    requeued: list[Run] = field(default_factory=list)
    reaped: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{len(self.settled)} dead run(s) settled, {len(self.released)} lock(s) released, {len(self.requeued)} run(s) queued again, "
            f"{len(self.reaped)} orphaned provider process(es) killed"
        )


def recover(*, patient: bool = True) -> Recovery:
    """One pass over every run that needs it. An impatient pass (a worker busy with a job of its
    own) leaves aside what would make it wait for a terraform on this machine to stop."""
    recovery = Recovery()
    for run in dead_runs():
        if worker_alive_here(run):
            logger.warning("Run %s: no heartbeat for %s, but its worker process %s here still runs: left running.", run.pk, heartbeat_age(run), run.worker_pid)
            continue
        if settle_dead(run, heartbeat_cause(run), patient=patient):
            recovery.settled.append(run)
    recovery.released += release_pending_locks(patient=patient)
    recovery.requeued += requeue_lost()
    recovery.reaped += reap_orphaned_providers()
    if recovery.settled or recovery.released or recovery.requeued or recovery.reaped:
        logger.warning("Recovery pass: %s.", recovery)
    return recovery


# --- 1. dead runs ----------------------------------------------------------------------------------
def dead_runs():
    """Running runs whose worker went silent. The state bucket's bootstrap is not a worker's run: the
    command that runs it has no heartbeat, and settles an interrupted bootstrap itself."""
    cutoff = timezone.now() - timedelta(seconds=settings.RUN_DEAD_AFTER)
    return (
        Run.objects.running().exclude(kind=Run.Kind.BOOTSTRAP).filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at=None)).select_related("workspace", "change")
    )


def worker_alive_here(run: Run) -> bool:
    """Whether the process running the run's step (the work-horse, `worker_pid`) is on this machine and
    still runs: the same process, by its start. Its heartbeat is then silent because the process was
    paused or starved (a machine put to sleep, a paused VM, a host out of CPU), not because it died;
    the pass would otherwise interrupt a terraform that its worker goes on supervising. A work-horse
    that hangs for good is ended by RQ at the job's timeout, and its death settles the run."""
    if not (on_this_machine(run) and run.worker_pid and run.worker_started):
        return False
    return running(run.worker_pid, run.worker_started)


def heartbeat_age(run: Run) -> str:
    return f"{(timezone.now() - run.heartbeat_at).total_seconds():.0f} s" if run.heartbeat_at else "ever"


def heartbeat_cause(run: Run) -> str:
    last = f"at {run.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC" if run.heartbeat_at else "never"
    return f"its worker stopped answering (last heartbeat {last}; a worker is declared dead after {settings.RUN_DEAD_AFTER} s of silence)"


def settle_dead(run: Run, cause: str, *, known_dead: bool = False, patient: bool = True) -> bool:
    """Settle a running run whose worker is gone, once its terraform on this machine has stopped
    (a new plan of the workspace must not meet its lock). `known_dead`: its death was seen (RQ's
    monitor saw the work-horse exit), so a fresh heartbeat does not save it."""
    if on_this_machine(run) and run.terraform_pid and is_terraform(run):
        if not patient:
            return False  # left to a pass that may wait
        # The kernel interrupted it when its worker died; give it the grace to write its state.
        stop_group(run.terraform_pid, settings.TERRAFORM_INTERRUPT_GRACE)
    elif on_this_machine(run) and run.terraform_pid:
        reap_group(run.terraform_pid)  # terraform ended with its worker; its providers may not have
    with transaction.atomic():
        run = Run.objects.select_for_update(of=("self",)).select_related("workspace", "change", "cancelled_by").get(pk=run.pk)
        if not run.is_running or not (known_dead or run.worker_silent):
            return False
        phase = "plan" if run.status == RunStatus.PLANNING else "apply"
        worker = f"{run.worker_name or 'a worker'} on {run.worker_host or 'an unknown machine'}"
        message = f"The {phase} did not finish: {cause} ({worker}). {SETTLE_HINTS[run.status]}"
        # Kept while that terraform runs: its lock is released later.
        holder = {} if holder_dead(run) else {"terraform_pid": run.terraform_pid, "terraform_started": run.terraform_started}
        if run.cancel_requested_at:
            who = run.cancelled_by.get_username() if run.cancelled_by else "someone"
            run.cancel(f"Cancelled by {who}. {message}", from_statuses=RUNNING_STATUSES, **holder)
        else:
            run.fail(message, from_statuses=RUNNING_STATUSES, **holder)
        if run.change_id:
            workflow.advance(run.change)
    if not holder:
        locks.release_left_by(run, f"the run's worker was gone: {cause}")
    logger.warning("Run %s settled as %s: %s", run.pk, run.status, message)
    return True


def horse_died(run_id: str, how: str) -> bool:
    """RQ's worker saw the work-horse running this run exit without finishing it."""
    run = Run.objects.select_related("workspace", "change").filter(pk=run_id).first()
    if run is None or not run.is_running:
        return False
    return settle_dead(run, f"the worker process running it {how}", known_dead=True)


def job_failed(job, connection, exc_type, exc_value, tb) -> None:
    """RQ's failure callback. RQ calls it when it finds the job abandoned (its worker vanished) and
    when the job raised. The run is settled only if its heartbeat stopped too: a failure that the
    worker survived was recorded on the run by the worker itself."""
    run = Run.objects.select_related("workspace", "change").filter(pk=job.args[0]).first() if job.args else None
    if run is not None and run.is_running and run.worker_silent:
        settle_dead(run, f"RQ found its job abandoned ({exc_type.__name__ if exc_type else 'no reason given'})")


# --- 2. locks left behind --------------------------------------------------------------------------
def on_this_machine(run: Run) -> bool:
    return bool(run.worker_host) and run.worker_host == socket.gethostname()


def is_terraform(run: Run) -> bool:
    """Whether the run's terraform still runs: the process its row names runs terraform and started when
    that one did. A process id is given out again: at once in a worker container that restarted (its
    new process namespace counts from 1, under the same host name), otherwise once the kernel has used
    the others (32,768 by default). The recovery pass must not interrupt another run's terraform that
    got it (a zombie is dead). A row recorded before the start was kept is judged by the name alone."""
    pid = run.terraform_pid
    return running(pid, run.terraform_started) and command_name(pid) == Path(settings.TERRAFORM_BIN).name


def holder_dead(run: Run) -> bool:
    """Whether the run's terraform is known to be dead: checked on this machine, or its machine has
    no live worker left (RQ forgets a worker that stops sending its own heartbeat)."""
    if not run.terraform_pid:
        return True
    if on_this_machine(run):
        return not is_terraform(run)
    connection = django_rq.get_connection(settings.RQ_QUEUE)
    return run.worker_host not in {worker.hostname for worker in Worker.all(connection=connection)}


def release_pending_locks(*, patient: bool = True) -> list[LockRelease]:
    released = []
    pending = Run.objects.exclude(status__in=ACTIVE_STATUSES).filter(terraform_pid__isnull=False)
    for run in pending.select_related("workspace"):
        if on_this_machine(run) and is_terraform(run):
            if not patient:
                continue
            stop_group(run.terraform_pid, settings.TERRAFORM_INTERRUPT_GRACE)
        elif on_this_machine(run):
            reap_group(run.terraform_pid)
        if not holder_dead(run):
            continue
        with transaction.atomic():
            if not Run.objects.filter(pk=run.pk, terraform_pid=run.terraform_pid).update(terraform_pid=None, terraform_started=None):
                continue  # another pass took it
        record = locks.release_left_by(run, "the run's terraform is known to be dead")
        if record:
            released.append(record)
    return released


# --- 3. lost jobs ----------------------------------------------------------------------------------
def requeue_lost() -> list[Run]:
    cutoff = timezone.now() - timedelta(seconds=settings.RUN_REQUEUE_AFTER)
    overdue = Q(queued_at__lt=cutoff) | Q(queued_at=None, created_at__lt=cutoff)
    requeued = []
    for run in Run.objects.waiting().filter(overdue).select_related("change"):
        if run.status == RunStatus.APPROVED and (run.change is None or workflow.next_apply(run.change.runs_in_order()) != run):
            continue  # its turn has not come: no job is due yet
        with transaction.atomic():
            # Locked and read again: two workers' passes at once queue it once (the first one's
            # `queued_at` is fresh when the second reads it).
            locked = Run.objects.select_for_update(skip_locked=True).filter(overdue, pk=run.pk, status=run.status).first()
            if locked is None or queueing.has_live_job(locked):
                continue
            Run.objects.filter(pk=locked.pk).update(queued_at=timezone.now())  # the next pass sees it fresh
            queueing.enqueue(locked)
            locked.append_log("[portal] Its job was not in the queue (lost, or never queued); queued it again.\n")
        requeued.append(locked)
    return requeued


# --- 4. providers left running -----------------------------------------------------------------------
def reap_orphaned_providers() -> list[int]:
    """Kill the provider plugins on this machine, in the portal's workspaces, whose terraform is gone;
    their process ids."""
    killed = []
    for pid in orphaned_providers(settings.WORKSPACES_DIR, Path(settings.TERRAFORM_BIN).name):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:  # it stopped by itself meanwhile
            continue
        killed.append(pid)
    return killed
