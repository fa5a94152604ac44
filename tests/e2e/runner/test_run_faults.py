"""Runs that survive faults, on the real parts: RQ workers started and killed here, a Redis server of
this module's own (so that it can be restarted without its data), the session's PostgreSQL (and a
server of one test's own, restarted during a plan), terraform and the emulator.

The emulator runs in this process, so a test can hold one AWS call of terraform's at a gate: that
is how a kill, a cancel or a timeout lands in the middle of an apply, never by luck of timing.
Each workspace here is an ECR repository (two resources: the repository, then its lifecycle
policy), planned and applied as a platform change needs (approved by an admin).
"""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import django_rq
import pytest
from django.db import connection
from redis import Redis
from rq import Queue, Worker

from portal.changes import workflow
from portal.local_services import STATE_DIR, Postgres, as_unprivileged, find_postgres_bin, find_redis_server, wait_for_port
from portal.runner import locks
from portal.runs.models import Change, LockRelease, Run, RunStatus
from portal.workspaces.models import Workspace
from tests.conftest import ROOT, api_for, free_port, wait_until
from tests.processes import WORKERS_MARK, stop_processes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

QUEUE = f"portal-faults-{os.getpid()}"
# Workers here notice a silent worker within seconds; the settings' defaults say 30 s.
FAST_RECOVERY = {
    "PORTAL_RUN_HEARTBEAT_INTERVAL": "1",
    "PORTAL_RUN_DEAD_AFTER": "6",
    "PORTAL_RUN_RECOVERY_INTERVAL": "2",
    "PORTAL_RUN_REQUEUE_AFTER": "3",
    "PORTAL_TERRAFORM_INTERRUPT_GRACE": "10",
}
FIGURES = Path(os.environ["PORTAL_WORKSPACES_DIR"]) / "fault-figures.txt"


def figure(text: str) -> None:
    """Times measured here are printed (`-s` shows them; a failed session keeps them beside its
    workspaces), never asserted tightly."""
    print(text)
    with FIGURES.open("a") as handle:
        handle.write(text + "\n")


# --- the real parts --------------------------------------------------------------------------------
class RedisServer:
    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [find_redis_server(), "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port("127.0.0.1", self.port, "redis")

    def stop(self):
        """As a crash would: its data is gone with it."""
        self.process.kill()
        self.process.wait()


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def queue(redis_server, monkeypatch):
    """The portal in this process queues on this module's Redis, where its workers listen."""
    redis = Redis.from_url(redis_server.url)
    queue = Queue(QUEUE, connection=redis)
    monkeypatch.setattr(django_rq, "get_queue", lambda *args, **kwargs: queue)
    monkeypatch.setattr(django_rq, "get_connection", lambda *args, **kwargs: redis)
    return queue


@pytest.fixture
def workers(queue, redis_server, state_bucket, tmp_path):
    """Start real `manage.py rqworker` processes; every one is gone after the test."""
    db = connection.settings_dict
    started = []
    mark = (WORKERS_MARK, uuid.uuid4().hex)  # inherited by their work-horses, terraform and its providers

    def start(name: str, workspaces_dir: Path | None = None, **settings_env) -> subprocess.Popen:
        env = {
            **os.environ,
            **FAST_RECOVERY,
            **settings_env,
            "DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "REDIS_URL": redis_server.url,
            "RQ_QUEUE": QUEUE,
            WORKERS_MARK: mark[1],
        }
        if workspaces_dir:
            env["PORTAL_WORKSPACES_DIR"] = str(workspaces_dir)
        worker_name = f"{name}-{uuid.uuid4().hex[:8]}"
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "rqworker", QUEUE, "--name", worker_name],
            env=env,
            cwd=ROOT,
            stdout=open(tmp_path / f"{name}.log", "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process.worker_name = worker_name
        started.append(process)
        wait_until(
            lambda: worker_name in {w.name for w in Worker.all(connection=queue.connection)},
            30,
            message=f"worker {name} to register",
        )
        return process

    yield start
    # The worker's group alone is not enough: its work-horse and terraform lead groups of their own,
    # and a terraform provider outlived the suite when only the worker's group was killed.
    stop_processes(started, mark=mark)


class OwnPostgres(Postgres):
    """A PostgreSQL server for one test (a data directory beside the stack's, where the `postgres`
    user may reach it, and a free port): restarting it cuts no other test's connections."""

    def __init__(self):
        super().__init__("postgres-faults", f"postgresql://portal@127.0.0.1:{free_port()}/portal")
        self.data_dir = STATE_DIR / f"postgres-faults-{uuid.uuid4().hex[:8]}"

    def stop(self) -> None:
        subprocess.run(
            as_unprivileged([find_postgres_bin("pg_ctl"), "-D", str(self.data_dir), "stop", "-m", "immediate", "-w"]),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture
def own_postgres(django_db_blocker):
    """The test's connection, and the workers it starts (they read it), on a server of its own with the
    portal's schema; the session's test database again afterwards."""
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command

    server = OwnPostgres()
    server.start(detach=False)
    shared = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST=server.host, PORT=str(server.port), NAME="portal")
    ContentType.objects.clear_cache()
    try:
        with django_db_blocker.unblock():
            call_command("migrate", verbosity=0)
        yield server
    finally:
        connection.close()
        connection.settings_dict.update(shared)
        ContentType.objects.clear_cache()
        server.stop()


def stop_worker(process: subprocess.Popen) -> None:
    """A warm shutdown, as an operator's restart does."""
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


class Gate:
    """Holds every call of one emulator operation until released. A call held here is abandoned:
    terraform gave up on it, so it must not take effect later; calls after the release go through."""

    def __init__(self, monkeypatch, backend_class, operation: str):
        self.entered, self.released = threading.Event(), threading.Event()
        original = getattr(backend_class, operation)
        gate = self

        def held(backend, *args, **kwargs):
            if not gate.released.is_set():
                gate.entered.set()
                gate.released.wait(300)
                raise RuntimeError(f"{operation} was held by the test and abandoned by terraform")
            return original(backend, *args, **kwargs)

        monkeypatch.setattr(backend_class, operation, held)

    def wait_entered(self, timeout: float = 120) -> None:
        assert self.entered.wait(timeout), "terraform never reached the held AWS call"


@pytest.fixture
def gates(monkeypatch):
    opened = []

    def gate(backend_class, operation: str) -> Gate:
        opened.append(Gate(monkeypatch, backend_class, operation))
        return opened[-1]

    yield gate
    for gate in opened:
        gate.released.set()


# --- the portal's side -----------------------------------------------------------------------------
def repository_workspace() -> Workspace:
    name = f"art-service-faults-{uuid.uuid4().hex[:8]}"
    return Workspace.objects.create(path=f"ecs/ecr-repositories/{name}", module="ecr-repository", variables={"name": name, "force_delete": True})


def propose(workspace: Workspace, author) -> Run:
    change = workflow.propose(f"Plan {workspace.path}", [(workspace, workspace.variables)], author)
    return change.runs.get()


def status_of(run: Run) -> str:
    return Run.objects.values_list("status", flat=True).get(pk=run.pk)


def wait_for_status(run: Run, *statuses: str, timeout: float = 120) -> Run:
    wait_until(lambda: status_of(run) in statuses, timeout, 0.2, f"run {run.pk} to be {' or '.join(statuses)}")
    return Run.objects.select_related("change").get(pk=run.pk)


def planned(workspace: Workspace, author) -> Run:
    run = wait_for_status(propose(workspace, author), RunStatus.AWAITING_APPROVAL, RunStatus.NO_CHANGES)
    assert run.status == RunStatus.AWAITING_APPROVAL, run.log[-2000:]
    return run


def assert_recovered(workspace: Workspace, author, approver) -> Run:
    """A new change of the workspace plans and applies."""
    run = planned(workspace, author)
    workflow.approve(run.change, approver)
    run = wait_for_status(run, RunStatus.APPLIED, RunStatus.FAILED)
    assert run.status == RunStatus.APPLIED, run.log[-3000:]
    return run


def no_terraform_left(pgid: int | None) -> bool:
    """No process of terraform's group runs (zombies waiting to be reaped do not run)."""
    if pgid is None:
        return True
    listing = subprocess.run(["ps", "-e", "-o", "pgid=,stat="], capture_output=True, text=True).stdout
    return not any(line.split()[0] == str(pgid) and not line.split()[1].startswith("Z") for line in listing.splitlines())


# --- a worker that dies ----------------------------------------------------------------------------
@pytest.mark.parametrize("victim", ["work-horse", "whole worker"])
def test_a_worker_killed_mid_apply_is_noticed_its_lock_released_and_the_workspace_usable(workers, gates, people, victim):
    from moto.ecr.models import ECRBackend

    author, approver = people["admin"], people["other-admin"]  # two admins: either may propose, approve or cancel
    # Two workers: when the whole one running the apply dies, the other one's recovery pass notices.
    both = [workers("first"), workers("second")]
    workspace = repository_workspace()
    run = planned(workspace, author)
    gate = gates(ECRBackend, "create_repository")
    workflow.approve(run.change, approver)
    gate.wait_entered()
    run = wait_for_status(run, RunStatus.APPLYING)
    wait_until(lambda: locks.read(workspace) is not None, 30, message="terraform to take the state lock")
    wait_until(lambda: Run.objects.get(pk=run.pk).terraform_pid, 30, message="the terraform process to be recorded")
    run.refresh_from_db()
    running_it = next(worker for worker in both if worker.worker_name == run.worker_name)
    terraform_group = run.terraform_pid  # the run forgets it once settled: asked of the group itself below

    killed_at = time.monotonic()
    if victim == "work-horse":
        os.kill(run.worker_pid, signal.SIGKILL)  # as the OOM killer would
    else:  # as a machine that loses power: the worker, its work-horse (a session of its own) and terraform
        for group in (running_it.pid, run.worker_pid, run.terraform_pid):
            os.killpg(group, signal.SIGKILL)
    run = wait_for_status(run, RunStatus.FAILED, timeout=60)
    figure(f"killed {victim} -> run marked failed: {time.monotonic() - killed_at:.1f} s")
    gate.released.set()

    assert "did not finish" in run.error and "plan again" in run.error
    if victim == "work-horse":
        assert "killed by signal 9" in run.error
    else:
        assert "stopped answering" in run.error
    assert run.change.outcome == Change.Outcome.ABANDONED
    wait_until(lambda: locks.read(workspace) is None, 30, message="the state lock to be released")
    wait_until(lambda: no_terraform_left(terraform_group), 30, message="nothing of terraform's group left (its provider included)")
    if victim == "whole worker":  # terraform was killed with it, so the lock was the portal's to release
        release = LockRelease.objects.get(workspace=workspace)
        assert release.run_id == run.pk and release.released_by is None
        assert "released the Terraform state lock" in Run.objects.get(pk=run.pk).log
    assert_recovered(workspace, author, approver)


# --- lost jobs -------------------------------------------------------------------------------------
def test_runs_whose_jobs_redis_lost_or_never_got_are_queued_again_and_complete(workers, queue, redis_server, people, client):
    author, approver = people["admin"], people["other-admin"]  # two admins: either may propose, approve or cancel
    approved_workspace, queued_workspace = repository_workspace(), repository_workspace()
    planner = workers("planner")
    approved = planned(approved_workspace, author)
    stop_worker(planner)
    workflow.approve(approved.change, approver)  # its apply job waits in Redis: no worker listens
    assert queue.count == 1

    redis_server.stop()
    client.force_login(author)
    response = client.post(f"/platform/{queued_workspace.pk}/plan/")  # queueing fails: Redis is down
    redis_server.start()  # without its data: the approved run's job is gone too

    assert response.status_code == 302, "a failure to queue is not the user's error"
    queued = Run.objects.get(workspace=queued_workspace)
    assert queued.status == RunStatus.QUEUED and queue.count == 0
    workers("rescuer")
    approved = wait_for_status(approved, RunStatus.APPLIED, RunStatus.FAILED, timeout=120)
    queued = wait_for_status(queued, RunStatus.AWAITING_APPROVAL, RunStatus.FAILED, timeout=120)
    assert approved.status == RunStatus.APPLIED, approved.log[-2000:]
    assert queued.status == RunStatus.AWAITING_APPROVAL, queued.log[-2000:]
    assert "queued it again" in approved.log and "queued it again" in queued.log


# --- PostgreSQL restarted --------------------------------------------------------------------------
def restart_postgres() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        data_directory = cursor.fetchone()[0]
    connection.close()
    subprocess.run(
        as_unprivileged([find_postgres_bin("pg_ctl"), "-D", data_directory, "restart", "-m", "fast", "-w", "-t", "60", "-l", f"{data_directory}/restart.log"]),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def test_postgresql_restarted_during_a_plan_the_plan_completes_and_the_worker_carries_on(own_postgres, workers, gates, people):
    from moto.sts.models import STSBackend

    author, approver = people["admin"], people["other-admin"]  # two admins: either may propose, approve or cancel
    workers("worker")
    workspace = repository_workspace()
    gate = gates(STSBackend, "get_caller_identity")
    run = propose(workspace, author)
    gate.wait_entered()  # terraform is planning: the provider asks who it is

    restart_postgres()
    gate.released.set()  # the held call fails; the provider asks again and the plan goes on

    run = wait_for_status(run, RunStatus.AWAITING_APPROVAL, RunStatus.FAILED, timeout=120)
    assert run.status == RunStatus.AWAITING_APPROVAL, run.log[-3000:]
    assert "Plan: 2 to add" in run.log
    workflow.approve(run.change, approver)
    run = wait_for_status(run, RunStatus.APPLIED, RunStatus.FAILED)
    assert run.status == RunStatus.APPLIED, run.log[-3000:]


# --- stopped by the portal -------------------------------------------------------------------------
@pytest.mark.parametrize("ending", ["cancel", "timeout"])
def test_an_apply_cancelled_or_past_its_timeout_stops_terraform_releases_the_lock_and_keeps_what_it_did(workers, gates, people, ending):
    from moto.ecr.models import ECRBackend

    author, approver = people["admin"], people["other-admin"]  # two admins: either may propose, approve or cancel
    workers("worker", **({"PORTAL_TERRAFORM_COMMAND_TIMEOUT": "25"} if ending == "timeout" else {}))
    workspace = repository_workspace()
    run = planned(workspace, author)
    gate = gates(ECRBackend, "put_lifecycle_policy")  # the repository is created, its policy is held
    workflow.approve(run.change, approver)
    gate.wait_entered()
    wait_until(lambda: Run.objects.get(pk=run.pk).terraform_pid, 30, message="the terraform process to be recorded")
    terraform_pid = Run.objects.get(pk=run.pk).terraform_pid

    stopped_at = time.monotonic()
    if ending == "cancel":
        response = api_for(author).post(f"/api/v1/runs/{run.pk}/cancel/")
        assert response.status_code == 202, response.content
        assert response.json()["cancel_requested_at"] and response.json()["cancelled_by"] == "admin"
        again = api_for(approver).post(f"/api/v1/runs/{run.pk}/cancel/")
        assert again.status_code == 409 and again.json()["code"] == "cancel_requested"
    expected = RunStatus.CANCELLED if ending == "cancel" else RunStatus.FAILED
    run = wait_for_status(run, RunStatus.CANCELLED, RunStatus.FAILED, RunStatus.APPLIED, timeout=90)
    figure(f"{ending} during an apply -> run ended {run.status}: {time.monotonic() - stopped_at:.1f} s")
    gate.released.set()

    assert run.status == expected, run.log[-3000:]
    assert ("Cancelled by admin" if ending == "cancel" else "ran past its timeout of 25 s") in run.error
    assert run.change.outcome == Change.Outcome.ABANDONED
    assert no_terraform_left(terraform_pid)
    wait_until(lambda: locks.read(workspace) is None, 30, message="the state lock to be released")
    # The next plan starts from what the interrupted apply did: the repository is in the state.
    replan = planned(workspace, author)
    assert (replan.to_add, replan.to_change, replan.to_destroy) == (1, 0, 0), replan.log[-3000:]


def test_a_queued_run_is_cancelled_at_once_and_its_change_abandoned(workers, people):
    author = people["admin"]
    first, second = repository_workspace(), repository_workspace()
    change = workflow.propose("Two repositories", [(first, first.variables), (second, second.variables)], author)
    runs = change.runs_in_order()

    cancelled = workflow.cancel(runs[0], author)  # no worker has started yet: nothing runs

    assert cancelled.status == RunStatus.CANCELLED and "before a worker started it" in cancelled.error
    assert Run.objects.get(pk=runs[1].pk).status == RunStatus.ABANDONED
    workers("worker")
    time.sleep(3)  # the jobs are still in the queue: the worker takes them and does nothing
    assert {status_of(run) for run in runs} == {RunStatus.CANCELLED, RunStatus.ABANDONED}
    assert "$ terraform" not in Run.objects.get(pk=runs[0].pk).log


# --- any worker, any plan --------------------------------------------------------------------------
def test_one_worker_plans_another_with_its_own_directory_applies_and_two_approvals_at_once_apply_once(workers, people, tmp_path, make_user):
    author, approver = people["admin"], people["other-admin"]  # two admins: either may propose, approve or cancel
    other_approver = make_user("other-approver", "admins")
    planner = workers("planner", workspaces_dir=tmp_path / "planner")
    workspace = repository_workspace()
    run = planned(workspace, author)
    planned_by = run.worker_name
    stop_worker(planner)
    applier = workers("applier", workspaces_dir=tmp_path / "applier")

    barrier, answers = threading.Barrier(2), []

    def approve(user):
        client = api_for(user)
        barrier.wait()
        try:
            answers.append(client.post(f"/api/v1/runs/{run.pk}/approve/").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(user,)) for user in (approver, other_approver)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run = wait_for_status(run, RunStatus.APPLIED, RunStatus.FAILED, RunStatus.STALE)

    assert sorted(answers) == [202, 409]
    assert run.status == RunStatus.APPLIED, run.log[-3000:]
    assert planned_by == planner.worker_name and run.worker_name == applier.worker_name
    assert run.log.count("$ terraform apply") == 1
    assert (tmp_path / "applier" / workspace.path / "main.tf").exists()
    leftovers = list(tmp_path.rglob("*.tfplan"))
    assert leftovers == [], "a plan file outlived its command"
