"""A checkov kept loaded: run by checkov's own interpreter (never imported by the portal), it imports
checkov's plan runner once and answers each scan on a Unix socket from a child forked for it.

Importing checkov takes two to three seconds, a scan of one plan a few hundredths: a new checkov
process per plan spent nearly all its time importing. A forked child starts from the loaded (and
warmed) runner, so each scan starts from the same state as the first, and a scan that crashes, hangs
or leaks takes nothing else with it.

    python checkov_resident.py SOCKET PARENT_PID

Prints "ready" once it listens. One request per connection: a JSON line {"path": plan JSON file,
"timeout": seconds}; the answer is checkov's JSON report, as `checkov -o json --quiet` prints it, or
{"error": the exception's type}. It exits when its parent (the RQ worker) is gone, or on SIGTERM or
SIGINT, and then removes its folder unless its errors file has something to say.
"""

import json
import os
import signal
import socket
import sys
import tempfile
import threading

# Enough of a plan for the runner to load every check's registry once, before any fork.
BUCKET = {"address": "aws_s3_bucket.warm", "mode": "managed", "type": "aws_s3_bucket", "name": "warm"}
WARM_UP = {
    "format_version": "1.2",
    "planned_values": {"root_module": {"resources": [dict(BUCKET, values={"bucket": "warm"})]}},
    "resource_changes": [dict(BUCKET, change={"actions": ["create"], "after": {"bucket": "warm"}})],
    "configuration": {"root_module": {}},
}


def report(path: str) -> dict:
    """checkov's report of one plan JSON, as its CLI builds it for `--framework terraform_plan`."""
    # Imported here, loaded by the warm-up before any fork: the portal's own interpreter, which
    # imports every module of the package in its tests, has no checkov.
    from checkov.runner_filter import RunnerFilter
    from checkov.terraform.plan_runner import Runner

    result = Runner().run(root_folder=None, files=[path], runner_filter=RunnerFilter(framework=["terraform_plan"], download_external_modules=False))
    return result.get_dict(is_quiet=True)


def warm_up(folder: str) -> None:
    descriptor, path = tempfile.mkstemp(suffix=".json", dir=folder)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(WARM_UP, handle)
    try:
        report(path)
    finally:
        os.unlink(path)


def answer(connection: socket.socket) -> None:
    """In the forked child: read the request, scan, write the report."""
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 2)  # checkov's warnings can quote a plan's values
    with connection, connection.makefile("rwb") as stream:
        request = json.loads(stream.readline() or b"{}")
        signal.alarm(max(1, int(request.get("timeout", 300))))  # the portal gave up by then: so does the scan
        try:
            answered = report(str(request["path"]))
        except Exception as exc:  # noqa: BLE001 - its type only: a message may quote the plan's values
            answered = {"error": type(exc).__name__}
        stream.write(json.dumps(answered).encode())


# Set by SIGTERM (the worker stopping it) or SIGINT (Ctrl-C in bin/portal's terminal reaches the whole
# group); the loop ends within its accept's half second. Not an exception raised from the handler:
# one that lands in a fork's at-fork hook (as a connection is answered) is dropped by Python, and the
# resident served on.
stop_requested = threading.Event()


def serve(address: str, parent: int) -> None:
    server_pid = os.getpid()
    warm_up(os.path.dirname(address))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reap themselves
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_mask = os.umask(0o177)
    try:
        server.bind(address)  # 0600: the worker's user only
    finally:
        os.umask(old_mask)
    server.listen(16)
    server.settimeout(0.5)
    print("ready", flush=True)
    try:
        while os.getppid() == parent and not stop_requested.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            if os.fork() == 0:
                server.close()
                # A stop ends a scan at once; only the server waits for its loop.
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                try:
                    connection.settimeout(None)
                    answer(connection)
                finally:
                    os._exit(0)
            connection.close()
    finally:
        if os.getpid() == server_pid:
            os.unlink(address)


def remove_folder_if_quiet(folder: str) -> None:
    """On a quiet end, the folder the worker made for it goes too (its errors file, empty); one that
    holds what it said while loading is left for the operator."""
    errors = os.path.join(folder, "errors")
    try:
        if os.path.getsize(errors) == 0:
            os.unlink(errors)
            os.rmdir(folder)
    except OSError:  # already gone (the worker's own stop removes it), or not empty
        pass


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
    signal.signal(signal.SIGINT, lambda *_: stop_requested.set())
    serve(sys.argv[1], int(sys.argv[2]))
    # Its parent gone or told to stop, not failed: a failure's traceback goes to the errors file, kept.
    remove_folder_if_quiet(os.path.dirname(sys.argv[1]))
