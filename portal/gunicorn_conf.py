"""The web server's configuration: `python -m gunicorn -c python:portal.gunicorn_conf portal.wsgi`, as
`bin/portal` and `docker-compose.yml` start it. Read from the environment and checked on import, so
that `bin/portal` refuses a bad value before it starts anything.

Threaded workers (gthread): every open run page asks for the log about once a second, and a page that
waits on S3 or the database holds a thread, not a whole process. Static files are served by WhiteNoise
inside Django (`portal/settings.py`), so every worker serves them too.
"""

import os
import signal
import sys

from django.core.exceptions import ImproperlyConfigured

from portal import garbage_collection
from portal.core import setting_readers as read


def whole_number(name: str, default: int) -> int:
    # The refusal alone, without a traceback: gunicorn (and bin/portal) stop before they start anything.
    try:
        return read.integer(name, default, minimum=1)
    except ImproperlyConfigured as refused:
        raise SystemExit(str(refused)) from None


# Two processes at least, so that one busy with a slow page (or restarting) leaves another; one per
# core beyond that, up to four: the threads carry the concurrency, and each thread may keep a
# database connection open (CONN_MAX_AGE), so processes x threads is the connections the web holds.
DEFAULT_WORKERS = min(max(os.cpu_count() or 1, 2), 4)
DEFAULT_THREADS = 8

try:
    bind = [read.text("PORTAL_WEB_ADDRESS", "127.0.0.1:8000", allow_empty=False)]
except ImproperlyConfigured as refused:
    raise SystemExit(str(refused)) from None
worker_class = "gthread"
workers = whole_number("PORTAL_WEB_WORKERS", DEFAULT_WORKERS)
threads = whole_number("PORTAL_WEB_THREADS", DEFAULT_THREADS)
# A browser polling a run's log reuses its connection between polls.
keepalive = 5
# On SIGTERM, requests under way get this long to finish. Shorter than the 15 s bin/portal waits for
# each process it stops before it kills it.
graceful_timeout = 10
accesslog = "-"  # stdout, one line per request; errors go to stderr
# gunicorn's control socket (for `gunicornc`) defaults to one path per user, $HOME/.gunicorn/gunicorn.ctl,
# which a second portal on the machine (a test, another checkout) would take over. Nothing here uses it.
control_socket_disable = True


def post_worker_init(worker) -> None:
    """Ctrl-C reaches the whole process group: the master, which then tells each worker to quit, and
    the workers themselves. A worker told twice at once can hang in its exit until the master kills it
    graceful_timeout later, so workers take their orders from the master only. The garbage collector
    is set once Django is loaded (portal.garbage_collection)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, quit_at_once)
    garbage_collection.settle()


def quit_at_once(signum, frame) -> None:
    """A worker told to quit at once (the master's SIGQUIT, as on Ctrl-C) leaves at once, its requests
    under way cut, as gunicorn's quick shutdown means. In place of gthread's own handler, which first
    shuts its thread pool down: that takes the pool's lock, and a signal that arrives while the main
    thread holds it (submitting a connection) waits for it forever, until the master kills the worker
    graceful_timeout later (seen in two of six whole test runs). Left to sys.exit(), the interpreter's
    exit would also wait for the request threads. What the worker logged is flushed first."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0)
