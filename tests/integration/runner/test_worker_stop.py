"""A warm shutdown (SIGTERM, what an operator's restart sends) stops the portal's worker whenever it
arrives, also in the middle of the portal's own recovery pass, which used to catch RQ's stop request
as its own failure and leave the worker running. The worker here is the real RunWorker on the real
Redis, in this process; only the recovery pass is the test's, so that the signal lands inside it."""

import os
import signal
import uuid

import django_rq
import pytest
from rq import Queue

from portal.runner import worker as worker_module
from portal.runner.worker import RunWorker


@pytest.fixture
def own_signal_handlers():
    """RQ installs its handlers in the process that runs `work()`: this one. They are put back."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


@pytest.mark.parametrize("stage", ["recovery", "maintenance signal"])
def test_a_sigterm_during_the_workers_own_pass_stops_it_once_the_pass_has_ended(stage, settings, monkeypatch, own_signal_handlers):
    settings.AWS_ACCOUNT_ID = "123456789012"  # not asked of STS: no AWS here
    settings.RUN_RECOVERY_INTERVAL = 1
    passes = []

    def a_pass(**kwargs):
        passes.append("started")
        os.kill(os.getpid(), signal.SIGTERM)  # delivered here, in the middle of the pass
        passes.append("ended")  # a pass that is cut short never gets here

    if stage == "recovery":
        monkeypatch.setattr(worker_module.recovery, "recover", lambda patient: a_pass())
    else:
        monkeypatch.setattr(worker_module.recovery, "recover", lambda patient: None)
        worker_module.worker_maintained.connect(a_pass, dispatch_uid="test-worker-stop")
    try:
        queue = Queue(f"worker-stop-{uuid.uuid4().hex[:8]}", connection=django_rq.get_connection(settings.RQ_QUEUE))
        worker = RunWorker([queue], connection=queue.connection, name=f"stop-{uuid.uuid4().hex[:8]}")
        # Idle for 5 s, the worker quits on its own: the stop request must have ended it long before.
        worker.work(max_idle_time=5, logging_level="WARNING")
    finally:
        worker_module.worker_maintained.disconnect(dispatch_uid="test-worker-stop")

    assert passes == ["started", "ended"], "the stop waited for the pass to end, and no other pass began"
    assert worker._stop_requested
    assert worker.name not in {w.name for w in RunWorker.all(connection=queue.connection)}, "unregistered as it stopped"
