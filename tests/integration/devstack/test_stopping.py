"""How bin/portal stops what it started (portal.local_services.stop_children), on real processes
that answer SIGTERM as its children do: at once (an idle RQ worker, gunicorn), on the second (a busy
worker: warm, then cold shutdown), or never; each with a child of its own in a session of its own, as
a worker's work-horse is."""

import subprocess
import sys
import time

import psutil
import pytest

from portal.local_services import stop_children

CHILD = """
import signal, subprocess, sys, time
received = []

def on_term(signum, frame):
    received.append(signum)
    if len(received) >= int(sys.argv[1]):
        sys.exit(0)

signal.signal(signal.SIGTERM, on_term)
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
print(grandchild.pid, flush=True)
while True:
    time.sleep(0.05)
"""


def start(terms_to_exit: int) -> tuple[subprocess.Popen, int]:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(terms_to_exit)], stdout=subprocess.PIPE, text=True)
    return child, int(child.stdout.readline())


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize(
    ("terms_to_exit", "returncode", "at_least"),
    [(1, 0, 0), (2, 0, 0.5), (99, -9, 0.5 + 1.5)],
    ids=["stops on the first SIGTERM", "stops on the second", "never stops by itself"],
)
def test_each_child_is_stopped_as_it_needs_and_nothing_it_started_outlives_it(terms_to_exit, returncode, at_least):
    child, grandchild = start(terms_to_exit)
    began = time.monotonic()
    stop_children([child], warm=0.5, cold=1.5)
    took = time.monotonic() - began
    assert child.returncode == returncode
    assert took >= at_least
    assert gone(grandchild), "the child's own child (its work-horse) outlived it"


def test_children_are_signalled_together_not_one_grace_after_another():
    children = [start(2) for _ in range(3)]
    began = time.monotonic()
    stop_children([child for child, _ in children], warm=1, cold=3)
    took = time.monotonic() - began
    assert all(child.returncode == 0 for child, _ in children)
    assert took < 1 + 3 + 2, took  # one warm grace for all of them (plus the grandchildren's wait)
    assert all(gone(grandchild) for _, grandchild in children)
