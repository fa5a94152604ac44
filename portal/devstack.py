"""The whole portal on one machine, in the foreground: `bin/portal`.

Starts PostgreSQL, Redis and the AWS emulator (or reuses them), migrates, creates the local admin
and collects the static files (beside the rest), then runs PORTAL_WORKERS RQ workers (default: one
more than the cores, so the plans of one change run side by side and an apply waiting on AWS leaves
no core idle) and the web server (gunicorn, configured by portal/gunicorn_conf.py; WhiteNoise serves
the static files) until Ctrl-C, which stops every process started here. A process that stops by
itself is started again.

Beside them, started as soon as the local admin exists, `manage.py provision_platform` bootstraps
the state bucket and the administrators and applies the platform, trying a failed step again up to
PORTAL_PROVISION_ATTEMPTS times (default 3). Provisioning that fails for good is reported here and
on the Platform page; it takes nothing down: the web, the workers and the database keep running, so
the failed run can be read and planned again.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

# Importing gunicorn_conf refuses a bad PORTAL_WEB_WORKERS or PORTAL_WEB_THREADS before anything starts.
from portal import gunicorn_conf, local_services
from portal.core import setting_readers as read

ROOT = local_services.ROOT
WEB_ADDRESS = gunicorn_conf.bind[0]  # PORTAL_WEB_ADDRESS


def manage(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], check=check, cwd=ROOT)


def spawn_manage(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT)


def setting(reader, *args, **kwargs):
    """A setting read by portal.core.setting_readers; refused, bin/portal stops saying why, without a traceback."""
    try:
        return reader(*args, **kwargs)
    except ImproperlyConfigured as refused:
        raise SystemExit(str(refused)) from None


def worker_count() -> int:
    # One more than the cores: an apply spends much of its time in the provider's waits on AWS (55 s
    # of a bucket's lifecycle rule, 60 s of a load balancer), using no core, and with one worker per
    # core such a wait held the platform's next workspace in the queue while a core stood idle.
    return setting(read.integer, "PORTAL_WORKERS", (os.cpu_count() or 1) + 1, minimum=1)


def spawn_web() -> subprocess.Popen:
    # gunicorn's master restarts a worker that dies; the Supervisor restarts the master. SIGINT (Ctrl-C,
    # sent to the whole foreground group) stops it at once, SIGTERM after requests under way finish.
    return subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:portal.gunicorn_conf", "portal.wsgi"], cwd=ROOT)


def provision_attempts() -> int:
    return setting(read.integer, "PORTAL_PROVISION_ATTEMPTS", 3, minimum=1, maximum=10)


class Provisioning:
    """`manage.py provision_platform` beside the web and the workers. It ends by itself, once, and is
    not started again: what it says when it fails is for a person to read (its command prints what
    failed and what to do)."""

    def __init__(self, attempts: int):
        self.started = time.monotonic()
        self.process = spawn_manage("provision_platform", "--approver", "admin", "--attempts", str(attempts))
        self.reported = False

    def watch(self) -> None:
        if self.reported or self.process.poll() is None:
            return
        self.reported = True
        took = time.monotonic() - self.started
        if self.process.returncode == 0:
            print(f"\nThe platform is provisioned ({took:.0f} s). The portal is at http://{WEB_ADDRESS}/\n")
        else:
            print(
                f"\nProvisioning did not finish (exit {self.process.returncode}, after {took:.0f} s); see above for what "
                f"failed and what to do. The portal keeps running at http://{WEB_ADDRESS}/ (Ctrl-C stops it).\n",
                file=sys.stderr,
            )


def worker_name(number: int) -> str:
    # Unique per machine and start, as RQ needs (a replaced worker gets a new one); readable on a run's page.
    return f"{socket.gethostname()}-{number}-{time.time_ns() % 10**9:09d}"


def spawn_worker(number: int) -> subprocess.Popen:
    # Two queues in priority order: user runs first, drift checks (portal/drift/) only when no run
    # waits; --with-scheduler starts the periodic drift sweep that RQ's scheduler puts back on the queue.
    queue = setting(read.text, "RQ_QUEUE", "terraform", allow_empty=False)
    low = setting(read.text, "PORTAL_DRIFT_QUEUE", f"{queue}-low", allow_empty=False)
    return spawn_manage("rqworker", queue, low, "--with-scheduler", "--name", worker_name(number))


def spawn_notifications_worker() -> subprocess.Popen:
    # Webhooks get a worker of their own: one on both queues would hold a delivery back behind an
    # hour-long apply, and a slow receiver would hold a run back. RQ's plain Worker (no run recovery),
    # with its scheduler, which puts the deliveries that Retry scheduled back on the queue.
    return spawn_manage(
        "rqworker",
        setting(read.text, "PORTAL_NOTIFICATIONS_QUEUE", "notifications", allow_empty=False),
        "--worker-class",
        "rq.Worker",
        "--with-scheduler",
        "--name",
        worker_name(0),
    )


# What to say when a process of the stack stopped by itself and is started again.
AFTER_RESTART = {
    "redis": "its queue is empty now; the workers' recovery pass queues the waiting runs again",
    "postgres": "its data is on disk; the workers reconnect",
    "aws-emulator": "it keeps AWS resources in memory only: stop and start bin/portal to bootstrap the state bucket and provision the platform again",
    "web": "",
}


class Supervisor:
    """Every process of the stack, started again when it stops by itself (the OOM killer, a crash):
    a run platform that recovers from faults should not fall over with one of its parts."""

    def __init__(self):
        self.processes: dict[str, tuple[subprocess.Popen, Callable[[], subprocess.Popen | None]]] = {}
        self.service_names: set[str] = set()  # PostgreSQL, Redis, the emulator: what the others use

    def add(self, name: str, process: subprocess.Popen, start: Callable[[], subprocess.Popen | None], *, service: bool = False) -> None:
        self.processes[name] = (process, start)
        if service:
            self.service_names.add(name)

    def watch(self) -> None:
        for name, (process, start) in list(self.processes.items()):
            if process.poll() is None:
                continue
            note = AFTER_RESTART.get(name.split(" ")[0], "")
            print(f"{name} stopped (exit {process.returncode}); starting it again{': ' + note if note else '.'}", file=sys.stderr)
            restarted = start()
            if restarted is None:  # something else answers on its port now
                del self.processes[name]
            else:
                self.processes[name] = (restarted, start)

    def all(self) -> list[subprocess.Popen]:
        return [process for process, _ in self.processes.values()]

    def services(self) -> list[subprocess.Popen]:
        return [process for name, (process, _) in self.processes.items() if name in self.service_names]

    def users_of_services(self) -> list[subprocess.Popen]:
        return [process for name, (process, _) in self.processes.items() if name not in self.service_names]


def main() -> None:
    supervisor = Supervisor()
    provisioning = static = migrating = None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # A closed terminal stops everything too: the services are in sessions of their own (see
    # portal.local_services), out of reach of the hang-up the terminal sends its group.
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(0))
    # Ctrl-C stops everything even when the shell that started us ignored SIGINT (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    attempts = provision_attempts()
    try:
        print("Starting local services:")

        def up(service) -> None:
            # The database is migrated while Redis and the emulator start and the portal's identity is
            # made (they need no database), and the static files are collected beside all of it (into
            # STATIC_ROOT, where WhiteNoise serves them): collecting reads only the settings, and only
            # the web needs them. Each takes seconds that provisioning would otherwise wait for.
            nonlocal migrating, static
            if service.name == "postgres":
                migrating = spawn_manage("migrate", "--no-input", "-v", "0")
                static = spawn_manage("collectstatic", "--no-input", "-v", "0")

        for service, child in local_services.start_each(detach=False, up=up):
            supervisor.add(service.name, child, lambda service=service: service.start(detach=False), service=True)
        print(f"AWS_ENDPOINT_URL={os.environ['AWS_ENDPOINT_URL']} (every process talks to the emulator)")
        if not os.environ.get("PORTAL_RUNNER_PRINCIPAL_ARNS"):
            name, credentials = local_services.runner_identity()
            os.environ.update(credentials)  # every process started from here on runs as that user
            print(f"The portal runs as the emulator's IAM user {name}, as a deployment runs as a principal of its own.")
        if migrating.wait() != 0:
            raise subprocess.CalledProcessError(migrating.returncode, migrating.args)
        manage("ensure_local_admin")
        # Provisioning first: it is the longest step, it bootstraps the state bucket in its own process
        # and its first runs wait in the queue for the workers started next.
        print(
            "Provisioning the platform beside the portal (state bucket, IAM administrators, workload roles, "
            f"network, cluster); a few minutes. A failed step is tried again, up to {attempts} times "
            f"(PORTAL_PROVISION_ATTEMPTS); its runs are on the Platform page, http://{WEB_ADDRESS}/platform/"
        )
        provisioning = Provisioning(attempts)
        workers = worker_count()
        for number in range(1, workers + 1):
            supervisor.add(f"worker {number}", spawn_worker(number), lambda number=number: spawn_worker(number))
        supervisor.add("notifications worker", spawn_notifications_worker(), spawn_notifications_worker)
        print(f"{workers} RQ worker(s) started (PORTAL_WORKERS sets how many), and one for webhooks.")
        if static.wait() != 0:
            raise subprocess.CalledProcessError(static.returncode, static.args)
        supervisor.add("web", spawn_web(), spawn_web)
        print(
            f"Web server: gunicorn, {gunicorn_conf.workers} process(es) x {gunicorn_conf.threads} threads "
            "(PORTAL_WEB_WORKERS, PORTAL_WEB_THREADS); access log below."
        )
        print(f"\nThe portal is at http://{WEB_ADDRESS}/  (Ctrl-C stops everything)\n")
        while True:
            supervisor.watch()
            provisioning.watch()
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopping...")
    except subprocess.CalledProcessError as exc:
        print(f"Start-up step failed: {' '.join(exc.cmd[1:])}", file=sys.stderr)
        sys.exit(1)
    finally:
        # The workers, the web and provisioning first, while PostgreSQL, Redis and the emulator they
        # talk to as they stop still answer; then those.
        started_here = [process for process in (migrating, static, provisioning and provisioning.process) if process]
        local_services.stop_children(supervisor.users_of_services() + started_here)
        local_services.stop_children(supervisor.services())


if __name__ == "__main__":
    main()
