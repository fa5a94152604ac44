"""Provisioning that survives a failed step, on the real parts: RQ workers, PostgreSQL, Redis,
terraform, and this session's in-process emulator, into which the faults are injected.

- A call whose answer is lost after it took effect (the fault bin/portal met: the AWS SDK retries a
  CreateSubnet the emulator had carried out, and the retry is refused with InvalidSubnet.Conflict):
  provisioning clears what the failed apply left outside the state, plans again, applies what is
  left, and the platform ends applied, with one subnet per CIDR.
- A step that cannot succeed: `bin/portal`'s stack (portal.devstack, as a person runs it) keeps
  serving; its terminal says what failed and what to do, and the Platform page shows the failed run
  and plans it again.
"""

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connections

from portal.core.aws import client
from portal.platform.provisioning import provision_platform, terraform_errors
from portal.runner import leftovers
from portal.runs.models import Run, RunStatus
from portal.workspaces.layout import cluster_path, network_path, workload_roles_path
from portal.workspaces.models import Workspace
from portal.workspaces.rendering import default_tags
from tests.conftest import ROOT, SCREENSHOTS, Screen, free_port, wait_until
from tests.environment import emulator_server
from tests.forget_platform import forget_the_platform

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CONFLICTING_CIDR = "10.0.11.0/24"  # the second private subnet, as in the first failed bin/portal


# --- faults in the emulator ------------------------------------------------------------------------
class LostAnswer:
    """Wraps the in-process emulator's WSGI app: the first request that `matches` is carried out, and
    then its connection is closed before any answer, as when a connection breaks after the server
    acted. The AWS SDK counts that as an error sending the request and retries it."""

    def __init__(self, app, matches):
        self.app, self.matches = app, matches
        self.seen: list[dict] = []  # the matching requests, in order
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            return self.app(environ, start_response)  # not a query-protocol call (EC2's): left alone
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        params = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}
        if not self.matches(params):
            return self.app(environ, start_response)
        with self.lock:
            self.seen.append(params)
            first = len(self.seen) == 1
        if not first:
            return self.app(environ, start_response)
        b"".join(self.app(environ, lambda *args: None))  # carried out; its answer goes nowhere
        environ["werkzeug.socket"].shutdown(2)  # SHUT_RDWR: the client reads the end of the stream
        raise ConnectionResetError("the answer was lost")  # werkzeug drops the connection quietly


@pytest.fixture
def lost_answer(monkeypatch):
    def install(matches) -> LostAnswer:
        server = emulator_server()._server
        wrapper = LostAnswer(server.app, matches)
        monkeypatch.setattr(server, "app", wrapper)
        return wrapper

    return install


@pytest.fixture
def provisioned_platform_is_destroyed(runner_credentials):
    """The platform provisioned here is forgotten again (tests/forget_platform.py): other tests of the
    session start without it. Not the session's `state_bucket`: provisioning bootstraps the account
    when it is the session's first (the administrators trusting the session's runner), the state
    bucket's lifecycle rule applied beside the rest, as bin/portal does."""
    yield
    forget_the_platform()


def platform_runs() -> dict[str, list[Run]]:
    """Each platform workspace's runs, oldest first."""
    return {workspace.path: list(workspace.runs.order_by("created_at")) for workspace in Workspace.objects.filter(service=None).prefetch_related("runs")}


# --- a transient failure ---------------------------------------------------------------------------
def test_a_lost_answer_fails_the_network_apply_and_provisioning_clears_the_leftover_plans_again_and_applies(
    rq_worker, lost_answer, make_user, provisioned_platform_is_destroyed
):
    approver = make_user("platform-admin", "admins")
    left = leftovers.state_ids(Workspace(path=network_path()))
    assert not left, f"An earlier test left {network_path()} applied ({len(left or ())} ids): this test needs an account without a network."
    fault = lost_answer(lambda p: p.get("Action") == "CreateSubnet" and p.get("CidrBlock") == CONFLICTING_CIDR)
    said = []

    changes = provision_platform(requester=None, approver=approver, attempts=3, say=said.append, pause=1)

    # The fault: carried out, its answer lost, retried by the SDK, refused as a conflict.
    assert len(fault.seen) >= 3, f"the SDK's retry and the recovery's create: {len(fault.seen)} requests"
    runs = platform_runs()
    failed, recovered = runs[network_path()][-2:]
    assert failed.status == RunStatus.FAILED, failed.log[-3000:]
    errors = terraform_errors(failed.log)
    assert any("aws_subnet.private[1]" in e and "InvalidSubnet.Conflict" in e and CONFLICTING_CIDR in e for e in errors), errors
    assert "RequestID" not in " ".join(errors)

    # What failed is written where people see it: the terminal's lines and the next change's title.
    text = "\n".join(said)
    assert f"Provision {network_path()}: attempt 1 of 3 failed" in text, text
    assert "InvalidSubnet.Conflict" in text, text
    leftover = re.search(r"removed (subnet-\w+) \(ec2:subnet\): the failed apply made it but it is not in the state", text)
    assert leftover, text
    assert recovered.change.title == f"Provision {network_path()} (attempt 2 of 3; run {failed.pk} failed)"

    # The new plan held only what was left, and applied.
    assert recovered.status == RunStatus.APPLIED, recovered.log[-3000:]
    assert recovered.to_add < failed.to_add, (recovered.to_add, failed.to_add)
    assert [run.status for run in runs[workload_roles_path()]][-1] in (RunStatus.APPLIED, RunStatus.NO_CHANGES)
    for change in changes:
        assert {run.status for run in change.runs.all()} <= {RunStatus.APPLIED, RunStatus.NO_CHANGES}

    # AWS holds one subnet per CIDR, every one in the state; the leftover is gone.
    network = Workspace.objects.get(path=network_path())
    vpc_id = recovered.outputs["vpc_id"]
    subnets = client("ec2").describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    cidrs = sorted(subnet["CidrBlock"] for subnet in subnets)
    assert cidrs == sorted(set(cidrs)) and CONFLICTING_CIDR in cidrs, cidrs
    in_state = leftovers.state_ids(network)
    assert {subnet["SubnetId"] for subnet in subnets} <= in_state
    assert leftover[1] not in {subnet["SubnetId"] for subnet in subnets}
    assert leftovers.find(network) == []

    # A second plan finds nothing to do.
    again = provision_platform(requester=None, approver=approver, attempts=1)
    assert {run.status for change in again for run in change.runs.all()} == {RunStatus.NO_CHANGES}


def test_leftovers_are_found_by_the_tag_every_resource_of_a_workspace_carries():
    assert leftovers.WORKSPACE_TAG in default_tags(Workspace(path="vpc/anything"))


# --- a failure for good: the stack keeps serving ---------------------------------------------------
class Devstack:
    """`python -m portal.devstack` (what bin/portal runs after setting up .venv), in a process group
    of its own, on this session's PostgreSQL, Redis and emulator, with queues, a web port and a
    state directory of its own."""

    def __init__(self, tmp_path: Path, **env_changes: str):
        from django.db import connection

        db = connection.settings_dict
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state_dir = tmp_path / "var"
        queue = f"devstack-test-{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            "DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "PORTAL_STATE_DIR": str(self.state_dir),
            "PORTAL_WORKSPACES_DIR": str(tmp_path / "workspaces"),
            "PORTAL_WEB_ADDRESS": f"127.0.0.1:{self.port}",
            "PORTAL_WEB_WORKERS": "2",
            "PORTAL_WEB_THREADS": "4",
            "PORTAL_WORKERS": "1",
            "RQ_QUEUE": queue,
            "PORTAL_DRIFT_QUEUE": f"{queue}-low",
            "PORTAL_NOTIFICATIONS_QUEUE": f"{queue}-notifications",
            # The administrators as this session bootstrapped them: their plan finds nothing to change.
            "PORTAL_RUNNER_PRINCIPAL_ARNS": ",".join(settings.RUNNER_PRINCIPAL_ARNS),
            **env_changes,
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.output_path = tmp_path / "bin-portal.out"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "portal.devstack"],
            cwd=ROOT,
            env=env,
            stdout=self.output_path.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def running(self) -> bool:
        return self.process.poll() is None

    def serves(self) -> bool:
        assert self.running(), f"bin/portal exited ({self.process.returncode}):\n{self.output[-4000:]}"
        try:
            return requests.get(self.url + "/login/", timeout=10).status_code == 200
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still booting
            return False

    def admin_password(self) -> str:
        return (self.state_dir / "local-admin-password").read_text()

    def group(self) -> list[str]:
        listing = subprocess.run(["ps", "-e", "-o", "pgid=,pid=,stat=,args="], capture_output=True, text=True).stdout
        return [line for line in listing.splitlines() if line.split()[0] == str(self.process.pid) and not line.split()[2].startswith("Z")]

    def interrupt(self) -> None:
        """Ctrl-C, as a terminal sends it to the whole foreground group."""
        if self.running():
            os.killpg(self.process.pid, signal.SIGINT)
            self.process.wait(timeout=90)

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


@pytest.fixture
def devstack(tmp_path):
    started = []

    def start(**env_changes) -> Devstack:
        started.append(Devstack(tmp_path, **env_changes))
        return started[-1]

    yield start
    for stack in started:
        stack.kill()  # whatever a failed test left of it


def test_provisioning_that_fails_for_good_leaves_the_stack_serving_and_the_platform_page_offers_to_plan_again(
    state_bucket, runner_credentials, make_user, devstack, browser, monkeypatch
):
    from moto.iam.exceptions import LimitExceededException
    from moto.iam.models import IAMBackend

    from portal.workspaces.layout import WORKLOAD_ROLE_PATH

    create_role = IAMBackend.create_role
    refusing = threading.Event()
    refusing.set()

    def quota_reached(backend, role_name, assume_role_policy_document, path, *args, **kwargs):
        if refusing.is_set() and path == WORKLOAD_ROLE_PATH:
            raise LimitExceededException("Cannot exceed quota for RolesPerAccount: 1000")
        return create_role(backend, role_name, assume_role_policy_document, path, *args, **kwargs)

    monkeypatch.setattr(IAMBackend, "create_role", quota_reached)
    make_user("second-admin", "admins")  # the groups exist before bin/portal's local admin joins one
    started = time.monotonic()
    stack = devstack(PORTAL_PROVISION_ATTEMPTS="2")

    wait_until(stack.serves, 180, 1, "bin/portal's web server")
    served_after = time.monotonic() - started
    wait_until(lambda: "Provisioning did not finish" in stack.output, 600, 2, "provisioning to give up")
    print(f"web serving after {served_after:.0f} s; provisioning gave up after {time.monotonic() - started:.0f} s")

    # The stack is up: nothing was taken down, nothing restarted.
    assert stack.running() and stack.serves()
    assert requests.get(stack.url + "/healthz", timeout=10).json()["checks"]
    out = stack.output
    assert "stopped (exit" not in out, out[-4000:]
    roles = Workspace.objects.get(path=workload_roles_path())
    failed = roles.runs.order_by("created_at")
    assert [run.status for run in failed] == [RunStatus.FAILED, RunStatus.FAILED], [r.error for r in failed]
    last = failed.last()
    # The terminal says what failed and what to do.
    assert f"Provision {workload_roles_path()}: attempt 1 of 2 failed" in out, out[-4000:]
    assert "Platform provisioning failed" in out and "LimitExceeded" in out, out[-4000:]
    assert f"Its log: {stack.url}/runs/{last.pk}/" in out
    assert f"{stack.url}/platform/" in out and "What to do" in out
    assert "Traceback" not in out, out[-4000:]
    # The network was planned beside the roles (its plan only names their flow logs' role) and its
    # apply held for that role: with the roles failed, its plan was discarded, nothing of it applied.
    network = list(Run.objects.filter(workspace__path=network_path()))
    assert [run.status for run in network] == [RunStatus.DISCARDED], [(run.status, run.log[-500:]) for run in network]
    assert "Provisioning discarded this plan, unapplied" in network[0].log
    assert not Run.objects.filter(workspace__path=cluster_path()).exists(), "nothing after the failed step ran"

    # The Platform page shows the failed run and offers to plan it again.
    shots = SCREENSHOTS / "provisioning-failed"
    pages = {}
    for width in (390, 1440):
        context = browser.new_context(viewport={"width": width, "height": 900})
        pages[width] = Screen(context, stack.url, "provisioning-failed").log_in("admin", stack.admin_password())
        pages[width].goto("/platform/")
        panel = pages[width].page.locator("#failed-runs")
        assert panel.is_visible()
        text = panel.inner_text()
        assert workload_roles_path() in text and "LimitExceeded" in text and "Cannot exceed quota" in text, text
        assert pages[width].page.locator("#failed-runs button", has_text="Plan again").is_visible()
        assert panel.evaluate("panel => panel.scrollWidth <= panel.clientWidth"), f"the panel overflows at {width}px"
        pages[width].shot(f"failed-run-{width}px")
    assert shots.exists()

    refusing.clear()  # the quota was raised
    page = pages[1440].page
    page.locator("#failed-runs button", has_text="Plan again").click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]+/$"))
    again = roles.runs.order_by("-created_at").first()
    assert again.pk not in {run.pk for run in failed}
    wait_until(
        lambda: Run.objects.get(pk=again.pk).status not in (RunStatus.QUEUED, RunStatus.PLANNING),
        300,
        1,
        "bin/portal's worker to plan it",
    )
    again.refresh_from_db()
    assert again.status == RunStatus.AWAITING_APPROVAL, again.log[-3000:]
    assert again.requested_by.username == "admin"
    pages[1440].goto("/platform/")
    assert not page.locator("#failed-runs").count(), "the failed run is no longer the workspace's latest"

    # Ctrl-C stops every process bin/portal started.
    for screen in pages.values():
        screen.context.close()
    stack.interrupt()
    assert stack.process.returncode == 0, stack.output[-3000:]
    assert stack.group() == [], stack.group()
    # The ORM calls above ran beside Playwright's event loop, on a connection of their own (see the
    # browser fixture); the test database is dropped after this test, so that connection goes now.
    connections.close_all()
