"""The parts of fault recovery that need no worker: the recovery pass over the rows and the queue,
the cancel rule on the page and in the API, terraform's supervision (real terraform, real process
groups), `terraform init` skipped when nothing changed, and the workspace page's lock and
force-unlock (the lockfile written in a bucket of the emulator's)."""

import json
import signal
import socket
import subprocess
import sys
import threading
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from python_terraform import IsFlagged

from portal.changes import workflow
from portal.core.aws import client as aws_client
from portal.runner import locks, recovery
from portal.runner.attendance import Attendance
from portal.runner.terraform import Terraform, TerraformStopped, group_alive, plugin_cache_lock, started_at
from portal.runs.models import Change, LockRelease, Run, RunStatus
from portal.workspaces.models import Workspace
from tests.conftest import api_for, record_plan, wait_until

pytestmark = pytest.mark.django_db


def platform_workspace(name=None) -> Workspace:
    name = name or f"art-service-rec-{uuid.uuid4().hex[:6]}"
    return Workspace.objects.create(path=f"ecs/ecr-repositories/{name}", module="ecr-repository", variables={"name": name})


def proposed(author, *workspaces) -> Change:
    return workflow.propose("A change", [(w, w.variables) for w in workspaces], author)


def running(run: Run, *, silent_for: int, status=RunStatus.APPLYING, **fields) -> Run:
    Run.objects.filter(pk=run.pk).update(
        status=status,
        step_started_at=timezone.now() - timedelta(seconds=silent_for + 60),
        heartbeat_at=timezone.now() - timedelta(seconds=silent_for),
        worker_name="w1",
        worker_host="gone-machine",
        **fields,
    )
    return Run.objects.get(pk=run.pk)


def silent_here(author, settings, **fields) -> Run:
    """The run of a new workspace whose worker, on this machine, has been silent past RUN_DEAD_AFTER."""
    run = running(proposed(author, platform_workspace()).runs.get(), silent_for=settings.RUN_DEAD_AFTER + 5)
    Run.objects.filter(pk=run.pk).update(worker_host=socket.gethostname(), **fields)
    return Run.objects.get(pk=run.pk)


# --- the recovery pass -----------------------------------------------------------------------------
def test_a_run_whose_heartbeat_stopped_fails_with_what_to_do_and_its_change_is_abandoned(people, settings, parked_queue):
    first, second = platform_workspace(), platform_workspace()
    change = proposed(people["admin"], first, second)
    runs = change.runs_in_order()
    for run in runs:
        record_plan(run)
    workflow.approve(change, people["other-admin"])
    dead = running(runs[0], silent_for=settings.RUN_DEAD_AFTER + 5)

    result = recovery.recover()

    dead.refresh_from_db()
    assert [run.pk for run in result.settled] == [dead.pk]
    assert dead.status == RunStatus.FAILED
    assert "The apply did not finish: its worker stopped answering" in dead.error
    assert "w1 on gone-machine" in dead.error and "plan again" in dead.error
    assert Run.objects.get(pk=runs[1].pk).status == RunStatus.ABANDONED
    assert Change.objects.get(pk=change.pk).outcome == Change.Outcome.ABANDONED


def test_a_run_with_a_fresh_heartbeat_or_a_cancel_asked_is_settled_accordingly(people, settings, parked_queue):
    alive_run = proposed(people["admin"], platform_workspace()).runs.get()
    cancelled_run = proposed(people["admin"], platform_workspace()).runs.get()
    alive = running(alive_run, silent_for=1, status=RunStatus.PLANNING)
    silent = running(cancelled_run, silent_for=settings.RUN_DEAD_AFTER + 5, status=RunStatus.PLANNING)
    Run.objects.filter(pk=silent.pk).update(cancel_requested_at=timezone.now(), cancelled_by=people["admin"])

    recovery.recover()

    assert Run.objects.get(pk=alive.pk).status == RunStatus.PLANNING
    silent.refresh_from_db()
    assert silent.status == RunStatus.CANCELLED
    assert silent.error.startswith("Cancelled by admin. The plan did not finish") and "Nothing was changed" in silent.error


def test_the_state_bucket_bootstrap_is_left_to_the_command_that_runs_it(people, settings):
    workspace = platform_workspace()
    bootstrap = Run.objects.create(
        workspace=workspace,
        kind=Run.Kind.BOOTSTRAP,
        status=RunStatus.APPLYING,
        started_at=timezone.now() - timedelta(seconds=settings.RUN_DEAD_AFTER + 60),
    )

    recovery.recover()

    assert Run.objects.get(pk=bootstrap.pk).status == RunStatus.APPLYING


def test_a_busy_workers_pass_leaves_a_live_terraform_on_its_machine_to_a_pass_that_may_wait(people, settings, parked_queue):
    settings.TERRAFORM_BIN, settings.TERRAFORM_INTERRUPT_GRACE = "sleep", 5  # a stand-in that runs on
    # SIGINT's default action whatever the tests inherited: a shell's background job starts with SIGINT
    # ignored and its children inherit that, while terraform (a Go program) takes SIGINT either way.
    stand_in = subprocess.Popen(["sleep", "60"], start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    run = silent_here(people["admin"], settings)
    Attendance(run).on_process(stand_in.pid)  # as the worker records the terraform it starts
    assert Run.objects.get(pk=run.pk).terraform_started == started_at(stand_in.pid)

    impatient = recovery.recover(patient=False)
    status_then = Run.objects.get(pk=run.pk).status
    patient = recovery.recover(patient=True)
    stand_in.wait(timeout=10)

    assert impatient.settled == [] and status_then == RunStatus.APPLYING
    assert [r.pk for r in patient.settled] == [run.pk]
    assert stand_in.returncode == -2  # interrupted (SIGINT), as terraform would be: it writes its state
    assert Run.objects.get(pk=run.pk).status == RunStatus.FAILED


def test_a_terraform_that_got_a_dead_runs_process_id_is_left_alone(people, settings, parked_queue):
    """The process id a dead run's row names is another process's now (the kernel gives ids out again
    once it has used the others, 32,768 by default): a terraform started later, for another run. The
    pass must not interrupt it; the dead run's own terraform is gone, so its lock is released."""
    settings.TERRAFORM_BIN, settings.TERRAFORM_INTERRUPT_GRACE = "sleep", 5
    other = subprocess.Popen(["sleep", "60"], start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # Its own terraform had that id and started earlier.
    run = silent_here(people["admin"], settings, terraform_pid=other.pid, terraform_started=started_at(other.pid) - 100)
    try:
        result = recovery.recover(patient=True)

        assert other.poll() is None, "the other run's terraform was interrupted"
        assert [r.pk for r in result.settled] == [run.pk]
        settled = Run.objects.get(pk=run.pk)
        assert settled.status == RunStatus.FAILED and settled.terraform_pid is None and settled.terraform_started is None
    finally:
        other.kill()
        other.wait()


def test_a_silent_run_whose_work_horse_still_runs_here_waits_for_it_and_is_settled_once_it_is_gone(people, settings, parked_queue):
    """A machine paused (a laptop asleep, a VM paused) or starved of CPU: the heartbeat is old, but the
    process running the step, on this machine, still runs. The pass leaves the run to it, and settles
    the run once that process has died."""
    horse = subprocess.Popen(["sleep", "60"])  # stands in for the work-horse
    run = silent_here(people["admin"], settings, worker_pid=horse.pid, worker_started=started_at(horse.pid))
    try:
        paused = recovery.recover()
        status_then = Run.objects.get(pk=run.pk).status
    finally:
        horse.kill()
        horse.wait()
    gone = recovery.recover()

    assert paused.settled == [] and status_then == RunStatus.APPLYING
    assert [r.pk for r in gone.settled] == [run.pk]
    assert Run.objects.get(pk=run.pk).status == RunStatus.FAILED


def test_a_silent_run_whose_work_horse_id_another_process_has_now_is_settled(people, settings, parked_queue):
    other = subprocess.Popen(["sleep", "60"])
    # The work-horse had that id and started earlier.
    run = silent_here(people["admin"], settings, worker_pid=other.pid, worker_started=started_at(other.pid) - 100)
    try:
        result = recovery.recover()
    finally:
        other.kill()
        other.wait()

    assert [r.pk for r in result.settled] == [run.pk]


def test_rqs_failure_callback_settles_only_a_silent_run(people, settings, parked_queue):
    run = proposed(people["admin"], platform_workspace()).runs.get()
    job = type("Job", (), {"args": [str(run.pk)]})()
    running(run, silent_for=1)

    recovery.job_failed(job, None, None, None, None)
    still = Run.objects.get(pk=run.pk).status
    running(run, silent_for=settings.RUN_DEAD_AFTER + 1)
    recovery.job_failed(job, None, None, None, None)

    assert still == RunStatus.APPLYING
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "RQ found its job abandoned" in run.error


def test_waiting_runs_without_their_job_are_queued_again_once(people, settings, parked_queue, django_capture_on_commit_callbacks):
    first, second = platform_workspace(), platform_workspace()
    change = proposed(people["admin"], first, second)
    runs = change.runs_in_order()
    for run in runs:
        record_plan(run)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.approve(change, people["other-admin"])  # queues the first apply
    lonely = proposed(people["admin"], platform_workspace()).runs.get()  # its on-commit queueing never ran
    old = timezone.now() - timedelta(seconds=settings.RUN_REQUEUE_AFTER + 5)
    Run.objects.filter(pk__in=[runs[0].pk, runs[1].pk, lonely.pk]).update(queued_at=old)
    parked_queue.empty()  # Redis lost every job

    with django_capture_on_commit_callbacks(execute=True):
        requeued = recovery.requeue_lost()
    with django_capture_on_commit_callbacks(execute=True):
        again = recovery.requeue_lost()

    # The second apply of the change is not due yet: its turn comes after the first one's.
    assert {run.pk for run in requeued} == {runs[0].pk, lonely.pk}
    assert again == []
    assert sorted(parked_queue.get_job_ids()) == sorted([f"run-{runs[0].pk}-approved", f"run-{lonely.pk}-queued"])
    assert "queued it again" in Run.objects.get(pk=lonely.pk).log


def test_a_failure_to_queue_leaves_the_run_waiting_and_the_user_gets_no_error(people, client, monkeypatch, django_capture_on_commit_callbacks):
    import django_rq

    attempts = []

    def unreachable(*args, **kwargs):
        attempts.append(args)
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(django_rq, "get_queue", unreachable)
    workspace = platform_workspace()
    client.force_login(people["admin"])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/platform/{workspace.pk}/plan/")

    run = Run.objects.get(workspace=workspace)
    assert len(attempts) == 1
    assert response.status_code == 302 and run.status == RunStatus.QUEUED and run.queued_at is not None


# --- cancel ----------------------------------------------------------------------------------------
def test_who_may_cancel_and_when(people, parked_queue):
    author = people["dev"]
    run = proposed(author, platform_workspace()).runs.get()  # a platform run: approvers need manage_platform

    assert workflow.cancel_refusal(run, people["approver"]).code == "not_allowed"
    assert workflow.cancel_refusal(run, author) is None  # its requester
    assert workflow.cancel_refusal(run, people["other-admin"]) is None  # an admin
    record_plan(run)
    run.refresh_from_db()
    assert workflow.cancel_refusal(run, author).code == "not_cancellable"  # waits for approval: discard it


def test_cancel_through_the_api_answers_with_the_rule(people, parked_queue):
    waiting = proposed(people["admin"], platform_workspace()).runs.get()
    busy = running(proposed(people["admin"], platform_workspace()).runs.get(), silent_for=1)

    forbidden = api_for(people["approver"]).post(f"/api/v1/runs/{waiting.pk}/cancel/")
    at_once = api_for(people["admin"]).post(f"/api/v1/runs/{waiting.pk}/cancel/")
    ended = api_for(people["admin"]).post(f"/api/v1/runs/{waiting.pk}/cancel/")
    asked = api_for(people["other-admin"]).post(f"/api/v1/runs/{busy.pk}/cancel/")
    twice = api_for(people["admin"]).post(f"/api/v1/runs/{busy.pk}/cancel/")

    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "not_allowed")
    assert at_once.status_code == 202 and at_once.json()["status"] == "cancelled"
    assert (ended.status_code, ended.json()["code"]) == (409, "not_cancellable")
    assert asked.status_code == 202 and asked.json()["status"] == "applying"
    assert asked.json()["cancelled_by"] == "other-admin" and asked.json()["cancel_requested_at"]
    assert (twice.status_code, twice.json()["code"]) == (409, "cancel_requested")


def test_the_run_page_offers_cancel_and_answers_a_refusal_with_its_reason(people, client, parked_queue):
    run = proposed(people["admin"], platform_workspace()).runs.get()
    client.force_login(people["admin"])

    page = client.get(f"/runs/{run.pk}/")
    cancelled = client.post(f"/runs/{run.pk}/cancel/", follow=True)
    refused = client.post(f"/runs/{run.pk}/cancel/")

    assert 'id="cancel"' in page.content.decode()
    assert "Cancelled: the run ended before a worker started it." in cancelled.content.decode()
    assert Run.objects.get(pk=run.pk).status == RunStatus.CANCELLED
    assert refused.status_code == 409 and "This run has ended; there is nothing to cancel." in refused.content.decode()


# --- terraform under supervision -------------------------------------------------------------------
SLOW_CONFIG = """
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "sleep 120"
  }
}
"""


@pytest.fixture
def slow_terraform(tmp_path):
    (tmp_path / "main.tf").write_text(SLOW_CONFIG)
    output, pids = [], []
    stop = threading.Event()
    terraform = Terraform(tmp_path, output.append, stop=stop, on_process=pids.append)
    terraform.run("init", input=False)
    return terraform, stop, pids, output


def sleepers_in(pgid: int) -> list[str]:
    listing = subprocess.run(["ps", "-o", "pgid=,args=", "-e"], capture_output=True, text=True).stdout
    return [line for line in listing.splitlines() if line.split(None, 1)[0] == str(pgid) and "sleep 120" in line]


@pytest.mark.parametrize("ending", ["timeout", "cancel"])
def test_a_terraform_command_is_interrupted_then_killed_and_leaves_no_process(slow_terraform, settings, ending):
    terraform, stop, pids, output = slow_terraform
    settings.TERRAFORM_INTERRUPT_GRACE = 3
    if ending == "timeout":
        settings.TERRAFORM_COMMAND_TIMEOUT = 4
    else:
        threading.Timer(4, stop.set).start()

    with pytest.raises(TerraformStopped) as stopped:
        terraform.run("apply", input=False, auto_approve=IsFlagged)

    pgid = pids[-2]  # the apply's process group (the last entry is None: it ended)
    assert pids[-1] is None
    assert stopped.value.reason == ("timed_out" if ending == "timeout" else "cancelled")
    assert sleepers_in(pgid) == []
    # What the kill left are zombies until their new parent reaps them, a moment later.
    wait_until(lambda: not group_alive(pgid), 10, message="the process group to be gone")
    assert "interrupting terraform" in "".join(output)


def test_a_command_asked_to_stop_before_it_starts_never_starts(slow_terraform):
    terraform, stop, pids, _ = slow_terraform
    stop.set()
    started = len(pids)

    with pytest.raises(TerraformStopped):
        terraform.run("apply", input=False, auto_approve=IsFlagged)

    assert len(pids) == started


# --- terraform init skipped, the plugin cache locked ------------------------------------------------
@pytest.fixture
def bucket(settings):
    name = f"portal-test-{uuid.uuid4().hex[:10]}"
    aws_client("s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": settings.AWS_REGION})
    settings.STATE_BUCKET = name
    return name


def test_init_is_skipped_when_the_directory_matches_its_backend_and_lock_file(tmp_path, bucket):
    (tmp_path / "main.tf").write_text('terraform {\n  backend "s3" {}\n}\nresource "terraform_data" "x" {}\n')
    output = []
    terraform = Terraform(tmp_path, output.append)

    terraform.init("a/terraform.tfstate")
    terraform.init("a/terraform.tfstate")
    terraform.run("plan", input=False)
    terraform.init("b/terraform.tfstate")  # another state: initialised again

    log = "".join(output)
    assert log.count("$ terraform init -input=false") == 2
    assert log.count("terraform init: skipped") == 1
    assert "Plan: 1 to add" in log


def test_the_plugin_cache_lock_is_held_by_one_process_at_a_time(settings):
    probe = (
        "import fcntl, sys\n"
        "handle = open(sys.argv[1], 'w')\n"
        "try:\n    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    sys.exit(3)\n"
    )
    lockfile = settings.TERRAFORM_PLUGIN_CACHE_DIR / ".portal-init.lock"

    with plugin_cache_lock():
        held = subprocess.run([sys.executable, "-c", probe, str(lockfile)]).returncode
    free = subprocess.run([sys.executable, "-c", probe, str(lockfile)]).returncode

    assert (held, free) == (3, 0)


# --- the workspace page: lock and force-unlock ------------------------------------------------------
def put_lock(workspace, who="root@worker-1", lock_id=None) -> str:
    lock_id = lock_id or str(uuid.uuid4())
    body = {
        "ID": lock_id,
        "Operation": "OperationTypeApply",
        "Info": "",
        "Who": who,
        "Version": "1.11.4",
        "Created": "2026-11-25T10:00:00.123456789Z",
        "Path": "x",
    }
    aws_client("s3").put_object(Bucket=locks.settings.STATE_BUCKET, Key=locks.lockfile_key(workspace), Body=json.dumps(body))
    return lock_id


def test_the_workspace_page_shows_the_lock_and_an_admin_removes_it_with_a_confirmation(people, client, bucket):
    workspace = platform_workspace()
    lock_id = put_lock(workspace)
    client.force_login(people["admin"])

    page = client.get(f"/workspaces/{workspace.pk}/").content.decode()
    unconfirmed = client.post(f"/workspaces/{workspace.pk}/unlock/", {"lock_id": lock_id})
    still_locked = locks.read(workspace) is not None
    removed = client.post(f"/workspaces/{workspace.pk}/unlock/", {"lock_id": lock_id, "confirm": "on"}, follow=True)

    assert "root@worker-1" in page and lock_id in page and "2026-11-25 10:00:00" in page and 'id="force-unlock"' in page
    assert unconfirmed.status_code == 400 and "Tick the box to confirm" in unconfirmed.content.decode()
    assert still_locked
    assert locks.read(workspace) is None
    release = LockRelease.objects.get(workspace=workspace)
    assert (release.lock_id, release.holder, release.released_by) == (lock_id, "root@worker-1", people["admin"])
    assert f"Removed the lock {lock_id}" in removed.content.decode() and 'id="lock-releases"' in removed.content.decode()


def test_force_unlock_refuses_a_changed_lock_a_live_holder_and_anyone_but_an_admin(people, client, bucket, parked_queue):
    workspace = platform_workspace()
    run = proposed(people["admin"], workspace).runs.get()
    lock_id = put_lock(workspace, who="root@worker-1")
    running(run, silent_for=1, lock_id=lock_id)  # its worker beats: the lock is in use
    client.force_login(people["admin"])

    changed = client.post(f"/workspaces/{workspace.pk}/unlock/", {"lock_id": "another", "confirm": "on"})
    in_use = client.post(f"/workspaces/{workspace.pk}/unlock/", {"lock_id": lock_id, "confirm": "on"})
    client.force_login(people["dev"])
    not_admin = client.post(f"/workspaces/{workspace.pk}/unlock/", {"lock_id": lock_id, "confirm": "on"})

    assert changed.status_code == 409 and "The lock changed since the page was shown" in changed.content.decode()
    assert in_use.status_code == 409 and "cancel the run instead" in in_use.content.decode()
    assert not_admin.status_code == 403  # a platform workspace: its page is the admins'
    assert locks.read(workspace).id == lock_id and not LockRelease.objects.exists()


def test_a_lock_left_by_a_dead_run_is_released_once_its_machine_has_no_live_worker(people, bucket, settings, parked_queue):
    workspace = platform_workspace()
    run = proposed(people["admin"], workspace).runs.get()
    dead = running(run, silent_for=settings.RUN_DEAD_AFTER + 5, terraform_pid=999999)
    lock_id = put_lock(workspace, who="root@gone-machine")
    Run.objects.filter(pk=dead.pk).update(lock_id=lock_id)

    recovery.recover()

    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED and dead.terraform_pid is None
    assert locks.read(workspace) is None
    release = LockRelease.objects.get(run=dead)
    assert release.released_by is None and "the run's worker was gone" in release.reason


# --- the plan's summary ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "output, expected",
    [
        ("  + resource\n\nPlan: 2 to add, 0 to change, 0 to destroy.\n", (2, 0, 0)),
        ("Plan: 1 to import, 1 to add, 3 to change, 1 to destroy.\n", (1, 3, 1)),
        ("\nNo changes. Your infrastructure matches the configuration.\n", (0, 0, 0)),
        (
            'Changes to Outputs:\n  + url = "x"\n\nYou can apply this plan to save these new output values to the '
            "Terraform state, without changing any real infrastructure.\n",
            (0, 0, 0),
        ),
        # A value in the diff that reads like a summary is indented: only terraform's own line counts.
        ('      + tag = "Plan: 9 to add, 9 to change, 9 to destroy."\n\nPlan: 1 to add, 0 to change, 0 to destroy.\n', (1, 0, 0)),
    ],
)
def test_the_plan_summary_is_terraforms_own_line(output, expected):
    from portal.runner.execution import summarize

    counts = summarize(output)

    assert (counts["to_add"], counts["to_change"], counts["to_destroy"]) == expected


def test_a_plan_output_without_a_summary_is_an_error():
    from portal.runner.execution import summarize
    from portal.runner.terraform import TerraformError

    with pytest.raises(TerraformError, match="without saying what it plans to do"):
        summarize("Terraform used the selected providers to generate the following execution plan.\n")


@pytest.mark.django_db(transaction=True)
def test_two_recovery_passes_at_once_queue_a_lost_job_once(people, settings, parked_queue):
    from django.db import connection

    run = proposed(people["admin"], platform_workspace()).runs.get()
    parked_queue.empty()  # its job is lost
    Run.objects.filter(pk=run.pk).update(queued_at=timezone.now() - timedelta(seconds=settings.RUN_REQUEUE_AFTER + 5))
    barrier, found = threading.Barrier(2), []

    def one_pass():
        barrier.wait()
        try:
            found.append(len(recovery.requeue_lost()))
        finally:
            connection.close()

    threads = [threading.Thread(target=one_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(found) == [0, 1]
    assert parked_queue.get_job_ids() == [f"run-{run.pk}-queued"]
    assert Run.objects.get(pk=run.pk).log.count("queued it again") == 1
