"""The whole portal on one machine, in the foreground: `bin/portal`.

Starts PostgreSQL, Redis and the AWS emulator (or reuses them), migrates, creates the local admin,
bootstraps the state bucket, then runs PORTAL_WORKERS RQ workers (default: one per core, so the
plans of one change run side by side) and the web server until Ctrl-C, which stops every process
started here.
"""

import os
import signal
import socket
import subprocess
import sys
import time

from portal import local_services

ROOT = local_services.ROOT
WEB_ADDRESS = os.environ.get("PORTAL_WEB_ADDRESS", "127.0.0.1:8000")


def manage(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], check=check, cwd=ROOT)


def spawn_manage(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT)


def worker_count() -> int:
    value = os.environ.get("PORTAL_WORKERS", "")
    if value.isascii() and value.isdigit() and int(value) >= 1:
        return int(value)
    if value:
        raise SystemExit(f"PORTAL_WORKERS must be a whole number, at least 1 (got {value!r}).")
    return os.cpu_count() or 1


def worker_name(number: int) -> str:
    # Unique per machine and start, as RQ needs (a replaced worker gets a new one); readable on a run's page.
    return f"{socket.gethostname()}-{number}-{time.time_ns() % 10**9:09d}"


def spawn_worker(number: int) -> subprocess.Popen:
    return spawn_manage("rqworker", os.environ.get("RQ_QUEUE", "terraform"), "--name", worker_name(number))


def main() -> None:
    children: list[subprocess.Popen] = []
    workers: dict[int, subprocess.Popen] = {}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        print("Starting local services:")
        children += local_services.start_all(detach=False)
        print(f"AWS_ENDPOINT_URL={os.environ['AWS_ENDPOINT_URL']} (every process talks to the emulator)")
        manage("migrate", "--no-input", "-v", "0")
        manage("ensure_local_admin")
        print("Bootstrapping the state bucket (local backend, then migrated into the bucket)...")
        manage("bootstrap_state")
        workers = {number: spawn_worker(number) for number in range(1, worker_count() + 1)}
        print(f"{len(workers)} RQ worker(s) started (PORTAL_WORKERS sets how many).")
        print("Provisioning the platform (network, cluster, IAM administrators); a few minutes...")
        manage("provision_platform", "--approver", "admin")
        children.append(spawn_manage("runserver", "--noreload", WEB_ADDRESS))
        print(f"\nThe portal is at http://{WEB_ADDRESS}/  (Ctrl-C stops everything)\n")
        while all(child.poll() is None for child in children):
            for number, worker in workers.items():
                if worker.poll() is not None:
                    # A worker that dies (the OOM killer) is replaced; the others settle what it left.
                    print(f"Worker {number} stopped (exit {worker.returncode}); starting another.", file=sys.stderr)
                    workers[number] = spawn_worker(number)
            time.sleep(1)
        print("A process of the portal stopped; stopping the rest.", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("\nStopping...")
    except subprocess.CalledProcessError as exc:
        print(f"Start-up step failed: {' '.join(exc.cmd[1:])}", file=sys.stderr)
        sys.exit(1)
    finally:
        local_services.stop_children(children + list(workers.values()))


if __name__ == "__main__":
    main()
