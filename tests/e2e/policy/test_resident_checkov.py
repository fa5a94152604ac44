"""The resident checkov an RQ worker keeps loaded (portal/policy/checkov_resident.py): it answers
what checkov's own process answers, gives up on time, fails closed on an error, is not needed for a
plan to be checked, and ends with the worker that started it."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading

import psutil
import pytest

from portal.policy import checkov
from portal.runner.worker import RunWorker, worker_maintained
from tests.conftest import ROOT, wait_until
from tests.e2e.policy.test_policy import MILD, RISKY, plan_json
from tests.processes import stop_processes


@pytest.fixture(scope="module")
def risky_plan(tmp_path_factory):
    return plan_json(tmp_path_factory.mktemp("risky"), RISKY + MILD)


def answering(address: str) -> bool:
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(address)
        except OSError:
            return False
    return True


@pytest.fixture
def resident():
    started = checkov.start_resident()
    assert started is not None, "PORTAL_CHECKOV is bin/setup-venv's checkov, a Python console script"
    wait_until(lambda: answering(started.address), 60, interval=0.1, message="the resident checkov to listen")
    yield started
    checkov.stop_resident()


def findings(scan) -> list[tuple[str, str]]:
    return sorted((result.check_id, result.resource_address) for result in scan.failed)


def test_the_resident_answers_what_checkovs_own_process_answers(risky_plan, resident, tmp_path, monkeypatch):
    from_resident = checkov.scan(risky_plan, tmp_path / "plans", "a.json")
    seen = []
    monkeypatch.setattr(checkov, "ask_resident", lambda path: seen.append(path))  # None: no resident answers
    from_process = checkov.scan(risky_plan, tmp_path / "plans", "b.json")

    assert seen, "the second scan ran checkov as a process of its own"
    assert findings(from_resident) == findings(from_process)
    assert ("CKV_AWS_51", "module.this.aws_ecr_repository.this") in findings(from_resident)
    assert [r.check_name for r in sorted(from_resident.failed, key=lambda r: r.check_id)] == [
        r.check_name for r in sorted(from_process.failed, key=lambda r: r.check_id)
    ]
    print(f"checkov on one plan: resident {from_resident.seconds:.2f} s, own process {from_process.seconds:.2f} s")
    assert not list((tmp_path / "plans").iterdir()), "the plan JSON is removed once read"


def test_each_scan_starts_afresh_so_one_plan_never_colours_the_next(risky_plan, resident, tmp_path):
    mild = json.loads(json.dumps(risky_plan))
    mild["resource_changes"] = [c for c in mild["resource_changes"] if "ecr_repository" not in c["address"]]
    module = mild["planned_values"]["root_module"]["child_modules"][0]
    module["resources"] = [r for r in module["resources"] if r["type"] != "aws_ecr_repository"]

    first = findings(checkov.scan(risky_plan, tmp_path, "1.json"))
    second = findings(checkov.scan(mild, tmp_path, "2.json"))
    third = findings(checkov.scan(risky_plan, tmp_path, "3.json"))

    assert first == third
    assert second and not any("ecr_repository" in address for _, address in second)


def test_a_resident_that_died_is_started_again_on_the_workers_maintenance_pass_at_most_once_a_minute(risky_plan, resident, tmp_path, monkeypatch, caplog):
    first = resident
    os.kill(first.process.pid, signal.SIGKILL)
    wait_until(lambda: first.process.poll() is not None, 10, interval=0.1, message="the resident to die")

    # Within a minute of its start it is left dead (one that cannot load is not restarted in a loop):
    # the plan is checked by checkov's own process meanwhile, and the log says why.
    assert checkov.keep_resident() is first
    answers = []
    ask = checkov.ask_resident
    monkeypatch.setattr(checkov, "ask_resident", lambda path: answers.append(ask(path)) or answers[-1])
    while_dead = findings(checkov.scan(risky_plan, tmp_path, "dead.json"))
    assert answers == [None] and "The resident checkov is gone" in caplog.text

    monkeypatch.setattr(checkov, "RESTART_AFTER", 0)
    worker_maintained.send(sender=RunWorker, worker=None)  # what the worker's next maintenance pass sends
    again = checkov.RESIDENT
    try:
        assert again is not None and again is not first and again.process.pid != first.process.pid
        assert "The resident checkov ended (exit code -9" in caplog.text
        assert not os.path.exists(first.address)
        wait_until(lambda: answering(again.address), 60, interval=0.1, message="the new resident to listen")
        assert findings(checkov.scan(risky_plan, tmp_path, "again.json")) == while_dead
        assert answers[-1] is not None, "the new resident answered the scan"
        assert checkov.keep_resident() is again  # alive: left as it is
    finally:
        shutil.rmtree(os.path.dirname(first.address), ignore_errors=True)


def test_a_plan_that_comes_while_the_resident_loads_waits_for_it_and_starts_no_checkov_beside_it(risky_plan, tmp_path, monkeypatch):
    own = []
    run = checkov.run_checkov
    monkeypatch.setattr(checkov, "run_checkov", lambda *args: own.append(args) or run(*args))
    loading = checkov.start_resident()
    try:
        assert not answering(loading.address), "importing checkov takes seconds: it is still loading"
        scan = checkov.scan(risky_plan, tmp_path / "plans", "a.json")
        assert own == [], "no checkov of its own"
        assert answering(loading.address) and checkov.RESIDENT is loading
        assert ("CKV_AWS_51", "module.this.aws_ecr_repository.this") in findings(scan)
    finally:
        checkov.stop_resident()


def test_a_resident_stuck_loading_is_waited_for_until_its_time_is_up_and_then_checkov_runs_afresh(risky_plan, tmp_path, monkeypatch):
    own = []
    run = checkov.run_checkov
    monkeypatch.setattr(checkov, "run_checkov", lambda *args: own.append(args) or run(*args))
    stuck = subprocess.Popen(["sleep", "60"])  # alive, and never listens
    try:
        monkeypatch.setattr(checkov, "RESIDENT", checkov.Resident(stuck, str(tmp_path / "never" / "socket")))
        monkeypatch.setattr(checkov, "RESIDENT_LOADS_WITHIN", 1.5)
        scan = checkov.scan(risky_plan, tmp_path / "plans", "a.json")
    finally:
        stuck.kill()
        stuck.wait()
    assert len(own) == 1 and scan.seconds >= 1.0, scan.seconds
    assert ("CKV_AWS_51", "module.this.aws_ecr_repository.this") in findings(scan)


class FakeResident:
    """A socket that accepts and answers `reply` (None: never answers) in place of the resident."""

    def __init__(self, folder, reply: bytes | None):
        self.address = str(folder / "socket")
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(self.address)
        self.server.listen(4)
        self.reply, self.held = reply, []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            connection.makefile("rb").readline()
            if self.reply is None:
                self.held.append(connection)  # open, silent
                continue
            connection.sendall(self.reply)
            connection.close()

    def close(self):
        self.server.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def fake_resident(tmp_path, monkeypatch):
    made = []

    def make(reply):
        fake = FakeResident(tmp_path, reply)
        made.append(fake)
        process = subprocess.Popen(["sleep", "60"])
        made.append(process)
        monkeypatch.setattr(checkov, "RESIDENT", checkov.Resident(process, fake.address))
        return fake

    yield make
    for thing in made:
        thing.kill() if isinstance(thing, subprocess.Popen) else thing.close()
        if isinstance(thing, subprocess.Popen):
            thing.wait()


def test_a_resident_that_does_not_answer_in_time_fails_the_plan(risky_plan, fake_resident, settings, tmp_path):
    fake_resident(None)
    settings.POLICY_CHECKOV_TIMEOUT = 1
    with pytest.raises(checkov.PolicyCheckFailed, match="PORTAL_CHECKOV_TIMEOUT"):
        checkov.scan(risky_plan, tmp_path / "plans", "a.json")
    assert not list((tmp_path / "plans").iterdir())


def test_a_resident_whose_checkov_failed_fails_the_plan_closed_naming_only_the_error_type(risky_plan, fake_resident, tmp_path):
    fake_resident(json.dumps({"error": "KeyError"}).encode())
    with pytest.raises(checkov.PolicyCheckFailed, match=r"checkov failed \(KeyError\)"):
        checkov.scan(risky_plan, tmp_path / "plans", "a.json")


def test_a_resident_that_hangs_up_without_a_word_leaves_the_check_to_checkovs_own_process(risky_plan, fake_resident, tmp_path):
    fake_resident(b"")
    scan = checkov.scan(risky_plan, tmp_path / "plans", "a.json")
    assert ("CKV_AWS_51", "module.this.aws_ecr_repository.this") in findings(scan)


def test_a_checkov_that_is_not_a_python_console_script_gets_no_resident(settings, tmp_path):
    wrapper = tmp_path / "checkov"
    wrapper.write_text('#!/bin/sh\nexec checkov "$@"\n')
    wrapper.chmod(0o755)
    settings.POLICY_CHECKOV = wrapper
    assert checkov.start_resident() is None and checkov.RESIDENT is None


# Starts the resident (its command line after the errors file's path), writing to that file, and waits.
PARENT = """
import os, subprocess, sys, time
subprocess.Popen(sys.argv[2:] + [str(os.getpid())], stderr=open(sys.argv[1], "wb"))
time.sleep(120)
"""


def resident_under_a_parent(folder) -> tuple[subprocess.Popen, psutil.Process, str]:
    """A resident in a folder made as start_resident makes it (its socket, its errors file), started by
    a parent process of its own that the test can kill outright."""
    folder.mkdir()
    errors, address = folder / "errors", str(folder / "socket")
    errors.touch(mode=0o600)
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            PARENT,
            str(errors),
            checkov.interpreter(checkov.settings.POLICY_CHECKOV),
            "-I",
            str(checkov.RESIDENT_PROGRAM),
            address,
        ],
        env=checkov.checkov_environment(),
    )
    (child,) = wait_until(lambda: psutil.Process(parent.pid).children(), 10, message="the resident to start")
    return parent, child, address


def ended(process: psutil.Process) -> bool:
    return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE


def test_the_resident_ends_when_the_process_that_started_it_is_gone_and_takes_its_folder(tmp_path):
    """Its worker killed outright (no teardown): the resident notices its parent is gone, ends, and
    removes its folder, which only the worker's teardown removed before (hundreds were left in /tmp)."""
    parent, child, address = resident_under_a_parent(tmp_path / "portal-checkov-x")
    try:
        wait_until(lambda: answering(address), 60, interval=0.1, message="the resident checkov to listen")
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        wait_until(lambda: ended(child), 10, message="the resident to end")
        assert not (tmp_path / "portal-checkov-x").exists()
    finally:
        stop_processes([parent, child.pid])


def test_ctrl_c_ends_the_resident_quietly_and_takes_its_folder(tmp_path):
    """bin/portal's Ctrl-C reaches the resident too: before, it died with a KeyboardInterrupt written to
    its errors file, and the folder stayed."""
    parent, child, address = resident_under_a_parent(tmp_path / "portal-checkov-x")
    try:
        wait_until(lambda: answering(address), 60, interval=0.1, message="the resident checkov to listen")
        child.send_signal(signal.SIGINT)
        wait_until(lambda: ended(child), 10, message="the resident to end")
        assert not (tmp_path / "portal-checkov-x").exists()
    finally:
        stop_processes([parent, child.pid])


def test_a_resident_that_fails_keeps_its_folder_with_what_it_said(tmp_path):
    """A socket path past the 108 bytes a Unix socket may have: it fails to listen, and the reason is
    left in its errors file for the operator."""
    folder = tmp_path / ("portal-checkov-" + "x" * 120)
    parent, child, _ = resident_under_a_parent(folder)
    try:
        wait_until(lambda: ended(child), 60, message="the resident to fail")
        assert "path too long" in (folder / "errors").read_text()
    finally:
        stop_processes([parent, child.pid])


def test_a_run_worker_keeps_one_while_it_works_and_stops_it_when_it_stops(django_db_setup, tmp_path):
    from django.conf import settings
    from django.db import connection

    from tests.processes import WORKERS_MARK

    db = connection.settings_dict
    environment = dict(os.environ, DATABASE_URL=f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}")
    environment[WORKERS_MARK] = mark = f"resident-worker-{os.getpid()}"
    queue = f"{settings.RQ_QUEUE}-resident"
    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "rqworker", queue, "--name", f"resident-{os.getpid()}"],
        env=dict(environment, RQ_QUEUE=queue),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:

        def resident_of_worker():
            return [p for p in psutil.Process(worker.pid).children() if any("checkov_resident.py" in part for part in p.cmdline())]

        (resident_process,) = wait_until(resident_of_worker, 60, message="the worker's resident checkov")
        assert resident_process.cmdline()[-1] == str(worker.pid)
        assert not {"AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "DATABASE_URL", "DJANGO_SECRET_KEY"} & set(resident_process.environ())
        address = resident_process.cmdline()[-2]
        wait_until(lambda: answering(address), 60, interval=0.1, message="the resident checkov to listen")

        worker.send_signal(signal.SIGTERM)  # a warm shutdown: the worker's teardown stops its resident
        worker.wait(timeout=30)
        wait_until(lambda: not resident_process.is_running() or resident_process.status() == psutil.STATUS_ZOMBIE, 10, message="the resident to end")
        assert not os.path.exists(os.path.dirname(address)), "its folder (socket, errors) is removed"
    finally:
        stop_processes([worker], grace=5, mark=(WORKERS_MARK, mark))
