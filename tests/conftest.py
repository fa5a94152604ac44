"""Fixtures over the real parts: PostgreSQL, Redis, the emulator (see tests/environment.py), RQ
workers, the terraform binary and Chromium. Nothing here starts at load or for every session: each
part starts when a test asks for its fixture. The tiers' own conftests say what all their tests use
(tests/unit: nothing; tests/integration, tests/e2e, tests/browser: the emulator and the collected
static files). At the session's end, any process the tests started that is still running fails the
session (pytest_sessionfinish below)."""

import contextlib
import fcntl
import functools
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.builders import TEAM, cast
from tests.environment import SESSION_MARK, free_port, start_emulator  # noqa: F401  (free_port: re-exported for tests)
from tests.processes import WORKERS_MARK, leftover_processes, stop_processes, working_in
from tests.scheduling import LONG_MODULES

ROOT = Path(__file__).resolve().parent.parent


def wait_until(predicate, timeout: float, interval: float = 0.2, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:.0f}s waiting for {message}")
        time.sleep(interval)


def api_for(user, label: str = ""):
    """An API client that authenticates as `user` with a token of its own, as a pipeline does."""
    from rest_framework.test import APIClient

    from portal.api.models import ApiToken

    _, key = ApiToken.objects.issue(user, label=label) if label else ApiToken.objects.issue(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def record_plan(run, to_add=2):
    """What the worker records when a plan finishes (the plan itself is not needed here), and the
    workflow's step after it."""
    from portal.changes.workflow import advance

    run.start_planning()
    run.record_plan(to_add=to_add, to_change=0, to_destroy=0, plan_sha256="0" * 64, inputs_sha256="1" * 64)
    if run.change_id:
        advance(run.change)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Users are made by the dozen here; the real hasher's deliberate slowness only costs time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


FLUSH_ATTEMPTS = 5


@pytest.fixture(scope="session", autouse=True)
def _flush_made_again_after_a_deadlock():
    """A transactional test ends with a flush: one TRUNCATE of every table, which takes the tables'
    locks one after another. Other sessions may be reading the test database at that moment: the
    session's RQ workers run the recovery pass every RUN_RECOVERY_INTERVAL, idle or not, long after
    the end-to-end test that started them, and a page's last request can still be running in the
    live server. A read that holds a table the TRUNCATE has yet to take while it waits for one the
    TRUNCATE took is a deadlock; PostgreSQL ends one of the two (the one that waited first,
    usually the TRUNCATE), and the test's teardown then failed ("couldn't be flushed") and left its
    rows to fail the next test. Django's flush runs in a transaction, so a flush ended that way
    changed nothing and is made again."""
    import psycopg.errors
    from django.db import OperationalError
    from django.db.backends.postgresql.operations import DatabaseOperations

    flush = DatabaseOperations.execute_sql_flush

    @functools.wraps(flush)
    def execute_sql_flush(self, sql_list):
        for attempt in range(1, FLUSH_ATTEMPTS + 1):
            try:
                return flush(self, sql_list)
            except OperationalError as exc:
                if attempt == FLUSH_ATTEMPTS or not isinstance(exc.__cause__, psycopg.errors.DeadlockDetected):
                    raise
                time.sleep(0.1 * attempt)  # the other side's statement ends, and with it its locks

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "execute_sql_flush", execute_sql_flush)
        yield


@pytest.fixture(scope="session")
def emulator():
    """This session's AWS emulator (moto server, recording every request for tests/iam), started on the
    address tests/environment.py put in AWS_ENDPOINT_URL."""
    return start_emulator()


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory):
    """The run's STATIC_ROOT, collected as a deployment collects it (hashed names, gzip copies and
    the manifest): with DEBUG off, as here, a page that names a static file needs the manifest.
    Collected once per run: the processes of a spread run (bin/test, xdist) share it, the first
    collecting while the others wait on its lock; whitenoise's compression of every file took about
    5 s of CPU in each process."""
    from django.core.management import call_command
    from django.test import override_settings

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # xdist: the run's folder
    root = shared / "static"
    with override_settings(STATIC_ROOT=root):
        with open(shared / "static.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released as the file closes
            if not (root / "staticfiles.json").exists():  # the manifest, written last
                call_command("collectstatic", interactive=False, verbosity=0)
        with static_files_read_once():
            yield root


@contextlib.contextmanager
def static_files_read_once():
    """WhiteNoise reads the static files (a stat of each, and of its compressed copies) whenever its
    middleware is made: once per process where the portal serves, but once per test client here (each
    Django test Client loads the middleware anew). In a profile of a whole run that was half the test
    processes' CPU in test clients' requests; tests/integration/api took 65.8 s of user CPU with it and
    55.8 s without. The collection does not change once made, so the files each (folder, URL prefix,
    headers settings) maps to are read once and handed to every later middleware; what a request is
    answered with is unchanged (tests/integration/web/test_static_files_read_once.py)."""
    from whitenoise.base import WhiteNoise

    read = WhiteNoise.update_files_dictionary
    found: dict[tuple, dict] = {}

    @functools.wraps(read)
    def update_files_dictionary(self, root, prefix):
        # What the files' headers are made from; a bound method is new at each access, so its function.
        immutable = getattr(self.immutable_file_test, "__func__", self.immutable_file_test)
        types = tuple(sorted(self.media_types.types_map.items()))
        key = (type(self), root, prefix, self.max_age, self.allow_all_origins, self.charset, types, self.add_headers_function, self.index_file, immutable)
        if key not in found:
            before = dict(self.files)
            read(self, root, prefix)
            found[key] = {url: static for url, static in self.files.items() if before.get(url) is not static}
        self.files.update(found[key])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(WhiteNoise, "update_files_dictionary", update_files_dictionary)
        yield


@pytest.fixture
def groups(db):
    """The portal's groups; transactional tests flush them, so make them again."""
    from portal.access.groups import ensure_groups

    ensure_groups()


@pytest.fixture
def make_user(groups, django_user_model):
    """A user with these roles (groups), a member of `team` (the art team unless told; None: no team)."""

    def make(username: str, *group_names: str, team: str | None = TEAM):
        from django.contrib.auth.models import Group

        from portal.access.models import Membership, Team

        user = django_user_model.objects.create_user(username=username, password="pw-" + username)
        user.groups.set(Group.objects.filter(name__in=group_names))
        if team is not None:
            Membership.objects.create(team=Team.objects.get_or_create(name=team)[0], user=user)
        return user

    return make


@pytest.fixture
def people(make_user):
    """The one cast (tests/builders.py, CAST): two developers, a developer who approves, an approver and
    two admins, by key ("dev", "other", "author", "approver", "admin", "other-admin")."""
    return cast(make_user)


@pytest.fixture
def service_form_data():
    return {
        "name": "sourcing-data-service",
        "container_port": 8082,
        "cpu": 256,
        "memory": 512,
        "desired_count": 1,
        "health_check_path": "/health",
        "image_tag": "1.0.0",
    }


@pytest.fixture
def parked_queue(monkeypatch):
    """This test's jobs go to a real queue that no worker listens to. A test that commits (a
    transactional one) must not have its runs planned by the session's worker behind its back."""
    import django_rq
    from django.conf import settings
    from rq import Queue

    queue = Queue(f"{settings.RQ_QUEUE}-parked", connection=django_rq.get_connection(settings.RQ_QUEUE))
    monkeypatch.setattr(django_rq, "get_queue", lambda *args, **kwargs: queue)
    yield queue
    queue.empty()


# As many RQ workers as bin/portal starts on this machine (one more than the cores, portal.devstack):
# a change's workspaces are planned side by side and provisioning's independent workspaces applied
# side by side, as they are for the portal's users, rather than one after another behind one worker.
SESSION_WORKERS = max(2, min(4, (os.cpu_count() or 1) + 1))


@pytest.fixture(scope="session")
def rq_worker(django_db_setup, django_db_blocker):
    """Real `manage.py rqworker` processes (SESSION_WORKERS of them) on the test database and this
    session's queue."""
    import django_rq
    from django.conf import settings
    from django.db import connection
    from rq import Worker

    db = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env[WORKERS_MARK] = mark = f"session-worker-{os.getpid()}"  # their work-horses and terraform inherit it
    redis = django_rq.get_connection(settings.RQ_QUEUE)
    workers = []
    for number in range(1, SESSION_WORKERS + 1):
        log = open(Path(os.environ["PORTAL_WORKSPACES_DIR"]) / f"worker-{number}.log", "wb")
        workers.append(
            subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), "rqworker", settings.RQ_QUEUE, settings.DRIFT_QUEUE],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: terraform children go down with it
            )
        )
    wait_until(lambda: len(Worker.all(connection=redis)) >= SESSION_WORKERS, 30, message="the RQ workers to register")
    yield workers
    # A warm shutdown waits for the running job; a failed test must not leave terraform running. The
    # work-horse and terraform each lead a group of their own, so the worker's group is not enough.
    stop_processes(workers, grace=30, mark=(WORKERS_MARK, mark))


@pytest.fixture(scope="session")
def runner_credentials():
    """The portal's own principal, as a deployer makes it: an IAM user whose only right is to assume
    the administrators' roles (their runner policy is attached once they exist, by `state_bucket`)."""
    from django.conf import settings

    from portal.core.aws import client

    iam = client("iam")
    name = f"{settings.SERVICE_NAME_PREFIX}-portal-runner"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    # The administrators trust exactly this principal.
    settings.RUNNER_PRINCIPAL_ARNS = [arn]
    return Credentials({"user_name": name, "arn": arn, "AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]})


class Credentials(dict):
    """Shown without its secret when pytest prints a failing test's fixtures."""

    def __repr__(self) -> str:
        return f"<credentials of {self['arn']}>"


@pytest.fixture(scope="session")
def state_bucket(django_db_setup, django_db_blocker, runner_credentials):
    """The one-time bootstrap on the emulator, once per session: the shared state bucket, then the
    administrators, trusted by the runner."""
    from django.conf import settings

    from portal.core.aws import client
    from portal.runner.bootstrap import bootstrap_administrators, bootstrap_state_bucket
    from portal.workspaces import identities

    with django_db_blocker.unblock():
        bootstrap_state_bucket()
        bootstrap_administrators()
    client("iam").attach_user_policy(UserName=runner_credentials["user_name"], PolicyArn=identities.policy_arn("portal-runner"))
    return settings.STATE_BUCKET


def record_applies(change):
    """What the worker records as it applies an approved change, run by run, in order."""
    from portal.changes.workflow import advance
    from portal.runs.models import RunStatus

    for run in change.runs_in_order():
        run.refresh_from_db()
        if run.status == RunStatus.APPROVED and run.start_applying():
            run.finish_applied({})
            advance(run.change)


def plan_approve_apply(change, approver):
    """A change through the worker's plans, an approval and the worker's applies."""
    from portal.changes.workflow import approve

    for run in change.runs_in_order():
        record_plan(run)
    approve(change, approver)
    record_applies(change)
    change.refresh_from_db()
    return change


# --- the browser -----------------------------------------------------------------------------------
SCREENSHOTS = ROOT / "var" / "screenshots"


def chromium_path() -> str:
    """Debian's chromium, which bin/test installs when it is missing (Playwright's own browser
    download cannot reach its servers from here)."""
    path = os.environ.get("PORTAL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(f"Chromium is not installed at {path}: run bin/test, which installs it, or set PORTAL_CHROMIUM.")
    return path


@pytest.fixture
def browser(monkeypatch):
    """Headless Chromium driven by Playwright, for one test.

    Not one for the session: while Playwright runs, its event loop is the thread's running loop, and
    Django refuses the ORM beside a running loop unless DJANGO_ALLOW_ASYNC_UNSAFE is set, which must
    not leak into the other tests' processes (`check --deploy` rightly fails on it)."""
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the tests' ORM calls stay one at a time
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path(),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


class Screen:
    """A browser page of one person, saving a screenshot of each step under var/screenshots/<folder>/,
    numbered in the order taken by every screen of the folder."""

    emptied: set[Path] = set()

    def __init__(self, context, base_url: str, folder: str):
        self.context = context
        self.page = context.new_page()
        self.page.set_default_timeout(30_000)
        self.base_url = base_url
        self.folder = SCREENSHOTS / folder
        if self.folder not in Screen.emptied:  # last session's shots would mix with this one's
            shutil.rmtree(self.folder, ignore_errors=True)
            Screen.emptied.add(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def log_in(self, username: str, password: str | None = None) -> "Screen":
        self.page.goto(f"{self.base_url}/login/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password or f"pw-{username}")
        self.page.click("button[type=submit], input[type=submit]")
        self.page.wait_for_url(lambda url: "/login/" not in url)
        return self

    def goto(self, path: str):
        return self.page.goto(self.base_url + path)

    def shot(self, name: str) -> Path:
        path = self.folder / f"{len(list(self.folder.glob('*.png'))) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def screen(browser, live_server, request):
    """screen(folder) -> a new browser session (its own cookies) on the live server."""
    contexts = []

    def open_screen(folder: str | None = None) -> Screen:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        return Screen(context, live_server.url, folder or request.node.name)

    yield open_screen
    for context in contexts:
        context.close()


class Resolver:
    """The process's resolver with names of a test's own. `names["hooks.example.com"] = ["93.184.215.14"]`,
    or a callable asked at each lookup (a name that answers differently later: DNS rebinding). Other
    names and IP literals in any spelling go to the real resolver; `asked` lists every host looked up."""

    def __init__(self, real):
        self.real, self.names, self.asked = real, {}, []

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        self.asked.append(host)
        key = host.lower() if isinstance(host, str) else host
        if key not in self.names or flags & socket.AI_NUMERICHOST:
            return self.real(host, port, family, type, proto, flags)
        answer = self.names[key]() if callable(self.names[key]) else self.names[key]
        port = int(port or 0)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
            if ":" in address
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in answer
        ]


@pytest.fixture
def dns(monkeypatch):
    """socket.getaddrinfo, which the webhook checks and urllib3's connections both use, answering the
    test's names: the sandbox has no public DNS, and the system resolver cannot be pointed at a DNS
    server of the test's own without root (/etc/resolv.conf)."""
    resolver = Resolver(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", resolver.getaddrinfo)
    resolver.names.update({"hooks.example.com": ["93.184.215.14"], "h.example.com": ["93.184.215.14"]})
    return resolver


@pytest.fixture
def loopback_receivers_allowed(settings):
    """Deliveries to the tests' loopback receivers are allowed on purpose, as an admin allows an internal
    receiver: PORTAL_NOTIFICATIONS_ALLOWED_NETWORKS=127.0.0.0/8."""
    from portal.notifications.targets import parse_networks

    settings.NOTIFICATIONS_ALLOWED_NETWORKS = parse_networks("127.0.0.0/8")


TIERS = ("unit", "integration", "e2e", "browser")


def pytest_collection_modifyitems(config, items):
    """Each test carries its tier's marker, from its folder (tests/<tier>/...): `-m "not e2e"` and the
    like select by tier as by folder, and `long` when its module is one of tests/scheduling.py's. The
    unit tier runs first (a broken unit fails in seconds), then the long modules, longest first, then
    the rest, end-to-end first: spread over workers (`-n`, bin/test), the longest runs start at once,
    each on a worker of its own, and the many short tests fill in beside them."""
    for item in items:
        path = item.path.relative_to(ROOT)
        parts = path.parts
        if len(parts) > 2 and parts[0] == "tests" and parts[1] in TIERS:
            item.add_marker(parts[1])
        if path.as_posix() in LONG_MODULES:
            item.add_marker("long")
        name_its_parameters(item)
    items.sort(key=run_first)


def name_its_parameters(item) -> None:
    """A test named `test[...]` gets that bracket in its node id. pytest 9.2 builds a test's id from
    its function's name and its parametrize() ids only, and schemathesis names the test of each API
    operation `test_api_matches_its_schema[GET /api/v1/...]` without parametrize(): its 38 tests
    shared one id, and pytest-xdist, which schedules tests by id, ran one of them and reported
    nothing of the other 37. `_id` is pytest's own (private) field; tests/unit/architecture/
    test_node_ids.py fails if the ids are ever shared again."""
    if item._id.params is None and item.name.endswith("]") and "[" in item.name:
        item._id = item._id.with_params(item.name[item.name.index("[") + 1 : -1])


# The rest after the long modules: end-to-end first, as they are the longer (each runs terraform),
# so that the many short modules of the other tiers come last and the processes end together (the
# longest first, as in any spread of jobs over machines). Replaying one run's times on four processes:
# the last process ended 23 s after the first this way, against 42 s in tier order.
REST_ORDER = {"e2e": 2, "integration": 3, "browser": 4}


def run_first(item) -> tuple[int, int]:
    """Where the test comes in the session: unit, long (longest first), the rest (end-to-end first)."""
    if item.get_closest_marker("unit"):
        return (0, 0)
    path = item.path.relative_to(ROOT)
    seconds = LONG_MODULES.get(path.as_posix())
    return (1, -seconds) if seconds else (REST_ORDER.get(path.parts[1], 5), 0)


# --- nothing outlives the session ------------------------------------------------------------------
# What a session says at its end, as (title, text): an xdist worker's own terminal shows nothing, so a
# worker hands what it has to say to the controller, which says it (pytest_testnodedown).
Said = list[tuple[str, str]]


def stray_terraform() -> Said:
    """Terraform processes still working in the session's workspaces (a provider that a killed
    terraform left) are killed and named. They do not fail the session yet: the recovery pass now
    kills what a stopped terraform leaves (portal.runner.terraform.reap_group), and this shows
    whether anything still escapes it."""
    left = working_in(os.environ["PORTAL_WORKSPACES_DIR"])
    if not left:
        return []
    stop_processes([p["pid"] for p in left], grace=2)
    described = "\n".join(f"  pid {p['pid']} (group {p['pgid']}): {p['cmdline']}" for p in left)
    return [("STRAY TERRAFORM", f"{len(left)} terraform process(es) outlived their runs in this session's workspaces (now killed):\n{described}")]


def workspaces_folder_goes(session) -> Said:
    """The session's workspaces folder (tests/environment.py: the rendered workspaces, the workers'
    logs, the figures some tests write) goes with a session whose tests all passed: every session
    left one in the system's temporary folder, hundreds of them. After a failure it stays, for its
    logs, and the session's end says where."""
    folder = os.environ["PORTAL_WORKSPACES_DIR"]
    if session.testsfailed:
        return [("WORKSPACES KEPT", f"The session's workspaces and its RQ workers' logs, for reading: {folder}")]
    shutil.rmtree(folder, ignore_errors=True)
    return []


LEFT_BY_WORKERS = pytest.StashKey[list]()
SAID_BY_WORKERS = pytest.StashKey[list]()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """An xdist worker's leftovers and what it has to say, gathered by the controller for its own end
    of session."""
    output = getattr(node, "workeroutput", {})
    node.config.stash.setdefault(LEFT_BY_WORKERS, []).extend(output.get("leftover_processes", []))
    node.config.stash.setdefault(SAID_BY_WORKERS, []).extend(tuple(said) for said in output.get("said", []))


@pytest.hookimpl(trylast=True)  # after pytest's own sessionfinish has torn the session's fixtures down
def pytest_sessionfinish(session, exitstatus):
    """Every process a test started (they all carry this session's mark in their environment, orphans
    too) must be gone once the fixtures are torn down. Any that is left is killed and named, and the
    session fails: a leak found is a test's teardown to fix."""
    config = session.config
    if config.pluginmanager.has_plugin("dsession"):
        # pytest-xdist's controller runs no test: each worker checks its own session's processes
        # (the workers themselves carry the controller's mark) and hands its findings over here.
        left, said = config.stash.get(LEFT_BY_WORKERS, []), config.stash.get(SAID_BY_WORKERS, [])
        shutil.rmtree(os.environ["PORTAL_WORKSPACES_DIR"], ignore_errors=True)  # its own, unused
    else:
        left = leftover_processes(SESSION_MARK, os.environ[SESSION_MARK], settle=5)
        stop_processes([p["pid"] for p in left], grace=5)
        said = stray_terraform() + workspaces_folder_goes(session)
        if hasattr(config, "workeroutput"):
            config.workeroutput["leftover_processes"] = left
            config.workeroutput["said"] = said
            return
    for title, text in said:
        say(session, title, text, red=False)
    if not left:
        return
    described = "\n".join(f"  pid {p['pid']} (group {p['pgid']}): {p['cmdline']}" for p in left)
    say(session, "LEFTOVER PROCESSES", f"{len(left)} process(es) started by the tests outlived them (now killed; the session fails):\n{described}", red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def say(session, title: str, text: str, red: bool) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        reporter.write_line("")  # after xdist's progress dots, which leave their line open
        reporter.write_sep("=", title, red=red, yellow=not red, bold=True)
        reporter.write_line(text)
    else:
        print(text, file=sys.stderr)
