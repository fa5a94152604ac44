"""A checkov kept loaded: run by checkov's own interpreter (never imported by the portal), it imports
checkov's plan runner once and answers each scan on a Unix socket from a child forked for it.

Importing checkov takes two to three seconds, a scan of one plan a few hundredths: a new checkov
process per plan spent nearly all its time importing. A forked child starts from the loaded (and
warmed) runner, so each scan starts from the same state as the first, and a scan that crashes, hangs
or leaks takes nothing else with it.

    python checkov_resident.py SOCKET PARENT_PID

Prints "ready" once it listens. One request per connection: a JSON line {"path": plan JSON file,
"timeout": seconds}; the answer is checkov's JSON report, as `checkov -o json --quiet` prints it, or
{"error": the exception's type}. It exits when its parent (the RQ worker) is gone.
"""

import json
import os
import signal
import socket
import sys
import tempfile

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
        while os.getppid() == parent:
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            if os.fork() == 0:
                server.close()
                try:
                    connection.settimeout(None)
                    answer(connection)
                finally:
                    os._exit(0)
            connection.close()
    finally:
        if os.getpid() == server_pid:
            os.unlink(address)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serve(sys.argv[1], int(sys.argv[2]))
