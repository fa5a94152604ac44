"""Webhooks: run events become signed deliveries, POSTed by a real RQ worker to a real local HTTP
receiver that verifies the signature; failures are retried by RQ's Retry with backoff and every
attempt is recorded on the delivery; a service's webhooks hear only its runs, the platform's only
platform runs; bad URLs are refused; the secret is in no delivery record and no log line."""

import hashlib
import hmac
import json
import logging
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import django_rq
import pytest
from rq import Queue, SimpleWorker
from rq.scheduler import RQScheduler

from portal.catalog.models import Service
from portal.notifications.events import notify
from portal.notifications.models import Delivery, Webhook
from portal.runs.models import Run, RunStatus
from portal.workspaces.models import Workspace
from tests.builders import a_team
from tests.conftest import free_port

pytestmark = pytest.mark.django_db


# --- the receiver ----------------------------------------------------------------------------------
class Receiver:
    """A real HTTP server on a free port: answers each POST with the next scripted status (then 200)
    and keeps what it received."""

    def __init__(self):
        self.script: list[int] = []
        self.location = ""
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"headers": dict(self.headers), "body": body, "path": self.path})
                code = receiver.script.pop(0) if receiver.script else 200
                self.send_response(code)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def verify(self, request: dict, secret: str) -> dict:
        """What a receiver does (the README's example): recompute the HMAC over timestamp.body, compare
        in constant time, refuse old timestamps; then read the JSON."""
        headers = {k.lower(): v for k, v in request["headers"].items()}
        timestamp = headers["x-portal-timestamp"]
        expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + request["body"], hashlib.sha256).hexdigest()
        assert hmac.compare_digest(expected, headers["x-portal-signature"])
        assert abs(time.time() - int(timestamp)) < 300
        return json.loads(request["body"])


@pytest.fixture
def receiver(loopback_receivers_allowed):
    """A loopback receiver, and PORTAL_NOTIFICATIONS_ALLOWED_NETWORKS set to let deliveries reach it:
    without it the portal refuses loopback (tests/integration/notifications/test_webhook_targets.py)."""
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


# --- the queue and a real worker -------------------------------------------------------------------
@pytest.fixture
def queue(monkeypatch, settings):
    """A real Redis queue of this test's own, handed out for settings.NOTIFICATIONS_QUEUE only."""
    connection = django_rq.get_connection(settings.RQ_QUEUE)
    queue = Queue(f"notifications-tests-{os.getpid()}", connection=connection)
    real_get_queue = django_rq.get_queue
    asked = []

    def get_queue(name="default", *args, **kwargs):
        asked.append(name)
        return queue if name == settings.NOTIFICATIONS_QUEUE else real_get_queue(name, *args, **kwargs)

    monkeypatch.setattr(django_rq, "get_queue", get_queue)
    settings.NOTIFICATIONS_RETRY_INTERVALS = [1, 1]
    queue.asked = asked
    yield queue
    queue.empty()
    for registry in (queue.scheduled_job_registry, queue.failed_job_registry, queue.finished_job_registry):
        for job_id in registry.get_job_ids():
            registry.remove(job_id, delete_job=True)


def work(queue) -> None:
    """A real RQ worker in this process (so it sees this test's transaction), in burst mode."""
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def drain(queue, timeout: float = 20) -> None:
    """Work until nothing is queued or scheduled; scheduled retries are moved to the queue by RQ's own
    scheduler once due, as the notifications worker's --with-scheduler does."""
    deadline = time.monotonic() + timeout
    while True:
        work(queue)
        if not queue.scheduled_job_registry.get_job_ids():
            return
        assert time.monotonic() < deadline, "retries still scheduled"
        time.sleep(0.25)
        scheduler = RQScheduler([queue], connection=queue.connection)
        scheduler.acquire_locks()
        scheduler.enqueue_scheduled_jobs()
        scheduler.release_locks()


# --- services, workspaces and runs -----------------------------------------------------------------
@pytest.fixture
def dev(make_user):
    return make_user("dev", "developers")


def service_workspace(user, name: str) -> Workspace:
    service = Service.objects.create(name=name, created_by=user, team=a_team())
    return Workspace.objects.create(path=f"ecs/services/art-service-{name}", module="ecs-service", service=service)


def platform_workspace() -> Workspace:
    return Workspace.objects.create(path="ecs/cluster/art-service-cluster", module="ecs-cluster")


def move_to(workspace: Workspace, status: str) -> Run:
    """A run moved to `status` the way the worker moves it, its notification sent on commit."""
    if status == RunStatus.AWAITING_APPROVAL:
        run = Run.objects.create(workspace=workspace)
        run.start_planning()
        run.record_plan(to_add=2, to_change=0, to_destroy=0, plan_sha256="0" * 64, inputs_sha256="1" * 64)
    elif status == RunStatus.APPLIED:
        run = Run.objects.create(workspace=workspace, status=RunStatus.APPROVED)
        run.start_applying()
        run.finish_applied({})
    else:
        run = Run.objects.create(workspace=workspace)
        run.fail("terraform plan exited 1")
    return run


@pytest.fixture
def moved(django_capture_on_commit_callbacks):
    def move(workspace, status):
        with django_capture_on_commit_callbacks(execute=True):
            return move_to(workspace, status)

    return move


# --- the events ------------------------------------------------------------------------------------
def test_a_payload_links_the_run_and_its_change_at_the_portal_s_public_address(receiver, queue, dev, settings, django_capture_on_commit_callbacks):
    from portal.changes.workflow import propose

    settings.BASE_URL = "https://portal.art.example"
    workspace = service_workspace(dev, "sourcing-data-service")
    webhook = Webhook.objects.create(service=workspace.service, url=receiver.url, events=["awaiting_approval"])
    change = propose("Change sourcing-data-service", [(workspace, {})], dev)
    (run,) = change.runs.all()
    with django_capture_on_commit_callbacks(execute=True):
        run.start_planning()
        run.record_plan(to_add=1, to_change=0, to_destroy=0, plan_sha256="0" * 64, inputs_sha256="1" * 64)
    drain(queue)

    (body,) = [receiver.verify(request, webhook.secret) for request in receiver.received]
    assert body["run"]["url"] == f"https://portal.art.example/runs/{run.pk}/"
    assert body["run"]["change_url"] == f"https://portal.art.example/changes/{change.pk}/"
    assert body["run"]["change"] == str(change.pk)


def test_each_run_event_is_delivered_signed_to_the_services_webhook(receiver, queue, moved, dev, settings):
    workspace = service_workspace(dev, "sourcing-data-service")
    webhook = Webhook.objects.create(service=workspace.service, url=receiver.url, events=["awaiting_approval", "applied", "failed"])

    runs = []
    for status in ("awaiting_approval", "applied", "failed"):
        runs.append(moved(workspace, status))
        runs[-1].mark_stale("superseded") if status == "awaiting_approval" else None  # stale is not told
    assert queue.asked == [settings.NOTIFICATIONS_QUEUE] * 3
    drain(queue)

    assert len(receiver.received) == 3
    bodies = [receiver.verify(request, webhook.secret) for request in receiver.received]
    assert [body["event"] for body in bodies] == ["awaiting_approval", "applied", "failed"]
    assert [body["run"]["id"] for body in bodies] == [str(run.pk) for run in runs]
    assert {body["service"] for body in bodies} == {"sourcing-data-service"}
    assert bodies[0]["run"]["plan"] == {"add": 2, "change": 0, "destroy": 0}
    assert bodies[2]["run"]["error"] == "terraform plan exited 1"
    for request, body in zip(receiver.received, bodies, strict=True):
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert headers["x-portal-event"] == body["event"]
        assert headers["x-portal-delivery"] == str(body["delivery"])
    deliveries = Delivery.objects.filter(webhook=webhook)
    assert {(d.status, d.attempts, d.response_code) for d in deliveries} == {("delivered", 1, 200)}
    assert all(d.delivered_at for d in deliveries)


def test_a_receiver_failing_twice_is_retried_with_backoff_and_delivered_on_the_third_attempt(receiver, queue, moved, dev):
    receiver.script = [500, 500]
    workspace = service_workspace(dev, "retried-service")
    webhook = Webhook.objects.create(service=workspace.service, url=receiver.url, events=["applied"])
    moved(workspace, "applied")

    work(queue)  # the first attempt, then RQ's Retry schedules the next one after its interval
    delivery = Delivery.objects.get(webhook=webhook)
    assert (delivery.status, delivery.attempts, delivery.response_code, delivery.outcome) == ("pending", 1, 500, "receiver_refused")
    assert delivery.outcome_text == "Refused by the receiver with status 500"
    assert delivery.next_attempt_at > delivery.last_attempt_at
    assert len(queue.scheduled_job_registry.get_job_ids()) == 1

    drain(queue)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code, delivery.error) == ("delivered", 3, 200, "")
    assert delivery.outcome_text == "Delivered (status 200)"
    assert delivery.next_attempt_at is None
    assert len(receiver.received) == 3
    for request in receiver.received:
        receiver.verify(request, webhook.secret)  # each attempt signed afresh


def test_a_receiver_always_failing_ends_failed_with_the_error_recorded(receiver, queue, moved, dev):
    receiver.script = [503] * 10
    workspace = service_workspace(dev, "failing-service")
    webhook = Webhook.objects.create(service=workspace.service, url=receiver.url, events=["failed"])
    moved(workspace, "failed")
    drain(queue)

    delivery = Delivery.objects.get(webhook=webhook)
    assert (delivery.status, delivery.attempts, delivery.response_code, delivery.outcome) == ("failed", 3, 503, "receiver_refused")
    assert delivery.next_attempt_at is None and delivery.delivered_at is None
    assert len(receiver.received) == 3
    assert len(queue.failed_job_registry.get_job_ids()) == 1


def test_a_redirect_is_not_followed(receiver, queue, dev, settings, django_capture_on_commit_callbacks):
    settings.NOTIFICATIONS_RETRY_INTERVALS = []
    receiver.script, receiver.location = [302], "http://elsewhere.invalid/steal"
    workspace = service_workspace(dev, "redirected-service")
    webhook = Webhook.objects.create(service=workspace.service, url=receiver.url, events=["drift_found"])
    with django_capture_on_commit_callbacks(execute=True):
        notify("drift_found", service=workspace.service, payload={"drift": {"workspace": workspace.path}})
    work(queue)
    delivery = Delivery.objects.get(webhook=webhook)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 1, 302)
    assert delivery.outcome_text == "Refused by the receiver with status 302 (redirects are not followed)"
    assert "elsewhere.invalid" not in delivery.error
    assert len(receiver.received) == 1


def test_drift_found_is_told_through_notify(receiver, queue, dev, django_capture_on_commit_callbacks):
    workspace = service_workspace(dev, "drifting-service")
    webhook = Webhook.objects.create(service=workspace.service, url=receiver.url, events=["drift_found"])
    Webhook.objects.create(service=workspace.service, url=receiver.url + "/applied-only", events=["applied"])
    with django_capture_on_commit_callbacks(execute=True):
        deliveries = notify("drift_found", service=workspace.service, payload={"drift": {"workspace": workspace.path}})
    assert [d.webhook_id for d in deliveries] == [webhook.pk]
    drain(queue)
    [request] = receiver.received
    body = receiver.verify(request, webhook.secret)
    assert body["event"] == "drift_found" and body["drift"] == {"workspace": workspace.path}
    with pytest.raises(ValueError):
        notify("exploded", service=workspace.service)


def test_a_service_webhook_hears_only_its_service_and_a_platform_webhook_only_platform_runs(receiver, queue, moved, dev):
    mine, other, platform = service_workspace(dev, "mine"), service_workspace(dev, "other"), platform_workspace()
    events = ["awaiting_approval", "applied", "failed"]
    mine_hook = Webhook.objects.create(service=mine.service, url=receiver.url + "/mine", events=events)
    platform_hook = Webhook.objects.create(service=None, url=receiver.url + "/platform", events=events)
    Webhook.objects.create(service=mine.service, url=receiver.url + "/inactive", events=events, active=False)

    mine_run = moved(mine, "applied")
    moved(other, "applied")
    platform_run = moved(platform, "failed")
    drain(queue)

    by_path = {request["path"]: json.loads(request["body"]) for request in receiver.received}
    assert sorted(by_path) == ["/hook/mine", "/hook/platform"]
    assert by_path["/hook/mine"]["run"]["id"] == str(mine_run.pk)
    assert by_path["/hook/platform"]["run"]["id"] == str(platform_run.pk)
    assert by_path["/hook/platform"]["service"] is None
    assert Delivery.objects.filter(webhook=mine_hook).count() == 1
    assert Delivery.objects.filter(webhook=platform_hook).count() == 1
    assert Delivery.objects.count() == 2


def test_a_run_moving_to_an_untold_status_makes_no_delivery(queue, dev, django_capture_on_commit_callbacks):
    workspace = service_workspace(dev, "quiet-service")
    Webhook.objects.create(service=workspace.service, url="http://127.0.0.1:9/hook", events=["awaiting_approval", "applied", "failed"])
    with django_capture_on_commit_callbacks(execute=True):
        run = Run.objects.create(workspace=workspace)
        run.start_planning()
        run.record_plan(to_add=0, to_change=0, to_destroy=0, plan_sha256="0" * 64, inputs_sha256="1" * 64)
    assert run.status == RunStatus.NO_CHANGES
    assert not Delivery.objects.exists() and queue.count == 0


# --- the secret ------------------------------------------------------------------------------------
def test_the_secret_is_in_no_delivery_record_and_no_log_line(receiver, queue, moved, dev, caplog):
    caplog.set_level(logging.DEBUG)
    receiver.script = [500]
    workspace = service_workspace(dev, "secret-service")
    webhook = Webhook.objects.create(service=workspace.service, url=receiver.url, events=["applied"])
    moved(workspace, "applied")
    drain(queue)

    delivery = Delivery.objects.get(webhook=webhook)
    assert delivery.status == "delivered" and delivery.attempts == 2
    record = json.dumps(list(Delivery.objects.values()), default=str)
    assert webhook.secret not in record
    assert webhook.secret not in caplog.text
    assert "Refused by the receiver with status 500" in caplog.text  # the failed attempt was logged, without it
    assert webhook.secret not in repr(webhook)
    for request in receiver.received:
        assert webhook.secret.encode() not in request["body"]
        assert webhook.secret not in json.dumps(request["headers"])


# --- the pages -------------------------------------------------------------------------------------
def test_a_service_owner_adds_a_webhook_and_sees_its_secret_once(client, dev, parked_queue, service_form_data, dns):
    from portal.catalog.onboarding import register_service

    service, _ = register_service(dev, **service_form_data)
    client.force_login(dev)
    page = f"/webhooks/services/{service.name}/"

    response = client.post(page, {"url": "https://hooks.example.com/portal", "events": ["applied", "failed"]})
    assert response.status_code == 200
    webhook = Webhook.objects.get()
    assert (webhook.service, webhook.events, webhook.created_by) == (service, ["applied", "failed"], dev)
    assert webhook.secret in response.content.decode()

    response = client.get(page)
    assert response.status_code == 200
    assert webhook.secret not in response.content.decode() and "https://hooks.example.com/portal" in response.content.decode()
    detail = client.get(f"/services/{service.name}/").content.decode()
    assert 'id="webhooks-link"' in detail and "https://hooks.example.com/portal" in detail


def test_the_deliveries_are_listed_on_the_webhooks_page(client, dev):
    workspace = service_workspace(dev, "listed-service")
    webhook = Webhook.objects.create(service=workspace.service, url="https://hooks.example.com/x", events=["failed"])
    Delivery.objects.create(webhook=webhook, event="failed", payload={}, attempts=3, status="failed", response_code=502, outcome="receiver_refused")
    Delivery.objects.create(
        webhook=webhook, event="failed", payload={}, attempts=1, status="pending", outcome="unreachable", error="the connection was refused"
    )
    client.force_login(dev)
    content = client.get(f"/webhooks/services/{workspace.service.name}/").content.decode()
    assert "Refused by the receiver with status 502" in content and "Failed" in content
    assert "Unreachable: the connection was refused" in content


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://hooks.example.com/x", "Enter a valid URL"),
        ("https://user:pw@hooks.example.com/x", "must not carry credentials"),
        ("https://token@hooks.example.com/x", "must not carry credentials"),
        ("not a url", "Enter a valid URL"),
        ("javascript:alert(1)", "Enter a valid URL"),
    ],
)
def test_a_bad_url_is_refused_with_a_message_and_nothing_saved(client, dev, url, message, dns):
    workspace = service_workspace(dev, "refusing-service")
    client.force_login(dev)
    response = client.post(f"/webhooks/services/{workspace.service.name}/", {"url": url, "events": ["applied"]})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Webhook.objects.exists()


def test_unknown_events_are_refused(client, dev, dns):
    workspace = service_workspace(dev, "evented-service")
    client.force_login(dev)
    response = client.post(f"/webhooks/services/{workspace.service.name}/", {"url": "https://h.example.com/", "events": ["exploded"]})
    assert response.status_code == 400 and not Webhook.objects.exists()


def test_who_may_add_and_remove_webhooks(client, make_user, dev, dns):
    approver, admin = make_user("approver", "approvers"), make_user("admin", "admins")
    workspace = service_workspace(dev, "guarded-service")
    service_page = f"/webhooks/services/{workspace.service.name}/"
    hook = Webhook.objects.create(service=workspace.service, url="https://h.example.com/s", events=["applied"])
    platform_hook = Webhook.objects.create(url="https://h.example.com/p", events=["failed"])

    client.force_login(approver)  # may see the service, not change it
    assert client.get(service_page).status_code == 200
    assert client.post(service_page, {"url": "https://h.example.com/x", "events": ["applied"]}).status_code == 403
    assert client.post(f"/webhooks/{hook.pk}/remove/").status_code == 403

    client.force_login(dev)  # a service owner: the service's webhooks, not the platform's
    assert client.get("/webhooks/").status_code == 403
    assert client.post(f"/webhooks/{platform_hook.pk}/remove/").status_code == 403
    assert client.post(f"/webhooks/{hook.pk}/remove/").status_code == 302
    assert not Webhook.objects.filter(pk=hook.pk).exists()

    client.force_login(admin)
    response = client.post("/webhooks/", {"url": "https://h.example.com/p2", "events": ["drift_found"]})
    assert response.status_code == 200 and Webhook.objects.filter(service=None).count() == 2
    assert client.post(f"/webhooks/{platform_hook.pk}/remove/").status_code == 302
    assert Webhook.objects.filter(service=None).count() == 1
