"""A gunicorn worker told to quit at once (the master's SIGQUIT on Ctrl-C) leaves at once, whatever its
main thread is doing (portal/gunicorn_conf.py, `quit_at_once`). Run in a process of its own: the
worker's handlers as gunicorn installs them for a gthread worker, then the portal's post_worker_init,
then SIGQUIT while the main thread holds its thread pool's lock, as it does while it hands a
connection to the pool."""

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

WORKER = textwrap.dedent(
    """
    import os, signal, sys, types
    from concurrent.futures import ThreadPoolExecutor
    from gunicorn.workers.gthread import ThreadWorker
    from portal import gunicorn_conf

    worker = ThreadWorker.__new__(ThreadWorker)
    worker.alive = True
    worker.tpool = ThreadPoolExecutor(max_workers=2)
    worker.tpool.submit(lambda: None).result()  # a request served: the pool's threads exist
    worker.cfg = types.SimpleNamespace(worker_int=lambda w: None)
    signal.signal(signal.SIGQUIT, worker.handle_quit)  # as gunicorn's init_signals
    if sys.argv[1] == "portal":
        gunicorn_conf.post_worker_init(worker)
    with worker.tpool._shutdown_lock:  # as in ThreadPoolExecutor.submit
        os.kill(os.getpid(), signal.SIGQUIT)
        signal.pthread_sigmask(signal.SIG_BLOCK, [])  # a bytecode boundary: the handler runs here
    print("the handler returned", flush=True)
    """
)


def quit_worker(configured: str, timeout: float = 10) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run([sys.executable, "-c", WORKER, configured], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def test_a_worker_quits_at_once_even_while_its_main_thread_holds_the_pools_lock():
    done = quit_worker("portal")

    assert done is not None, "the worker hung on SIGQUIT"
    assert (done.returncode, done.stdout) == (0, ""), done.stderr[-2000:]


def test_gthreads_own_handler_hangs_there():
    # What the portal's handler replaces: gunicorn's waits for the lock its own main thread holds.
    assert quit_worker("gunicorn", timeout=3) is None
