"""The API does what the pages do: a change's decisions, drift's buttons, webhooks, a workspace's lock
and the workers' queue, the Platform page and the Administrators page. The same case asked of the
page and of its endpoint gets the same answer: allowed on both, or refused on both with the same
status and the refusal's sentence (the API adds its code).

A case that acts is asked of the page inside a savepoint that is rolled back, then of the API, so
both meet the same state."""

import html
import json
import uuid

import django_rq
import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client
from django.urls import reverse

from portal.catalog.onboarding import decommission_service, register_service
from portal.core.aws import client as aws_client
from portal.drift.models import DriftCheck
from portal.notifications.models import Webhook
from portal.runner import locks
from portal.runs import queueing
from portal.runs.models import Change, LockRelease, Run, RunStatus
from portal.workspaces import identities
from portal.workspaces.layout import declared_administrators, state_bucket_path, state_bucket_workspace, sync_platform_workspaces
from portal.workspaces.models import Workspace
from tests.conftest import api_for, plan_approve_apply, record_plan

pytestmark = pytest.mark.django_db

DRIFT = [{"address": "module.this.aws_ecr_repository.this", "attribute": "image_tag_mutability", "before": '"IMMUTABLE"', "after": '"MUTABLE"'}]


def both(user, page, api):
    """(the page's response, the API's) to one case: `page(client)` and `api(client)` ask it. What
    the page did is rolled back before the API is asked."""
    browser, pipeline = Client(), api_for(user)
    browser.force_login(user)
    with transaction.atomic():
        page_answer = page(browser)
        transaction.set_rollback(True)
    return page_answer, api(pipeline)


def text(response) -> str:
    return html.unescape(response.content.decode())


def assert_refused_alike(page, api, status: int, code: str, *, page_status: int | None = None) -> None:
    """Both refuse: the API with `status` and `code`, the page with the same status (or `page_status`
    where it redirects to say why) and the same sentence."""
    body = api.json()
    assert (api.status_code, body["code"]) == (status, code), body
    assert page.status_code == (page_status or status), text(page)[:500]
    assert body["detail"] in text(page), (body["detail"], text(page)[:2000])


def assert_bad_input_alike(page, api, field: str) -> None:
    """Both refuse the input (400) with the same message for the field."""
    body = api.json()
    assert (api.status_code, body["code"], page.status_code) == (400, "invalid", 400), body
    assert body["fields"][field] and all(message in text(page) for message in body["fields"][field]), body


# --- changes ---------------------------------------------------------------------------------------
@pytest.fixture
def lead(make_user):
    """A developer who is an approver too: may approve changes, but not their own."""
    return make_user("lead", "developers", "approvers")


@pytest.fixture
def change(lead, service_form_data):
    """The lead's registration, its plans finished: it waits for approval."""
    _, change = register_service(lead, **service_form_data)
    for run in change.runs_in_order():
        record_plan(run)
    return change


def decision(name: str, change: Change):
    return (
        lambda page: page.post(reverse(f"changes:{name}", args=[change.pk])),
        lambda api: api.post(f"/api/v1/changes/{change.pk}/{name}/"),
    )


@pytest.mark.parametrize(
    "who, status, code",
    [
        ("the lead who proposed it", 403, "own_change"),
        ("a developer", 403, "not_approver"),
        ("another team's approver", 403, "other_team"),  # who may not even read it
    ],
)
def test_approving_a_change_is_refused_alike(people, make_user, lead, change, who, status, code):
    user = {"the lead who proposed it": lead, "a developer": people["dev"]}.get(who) or make_user("elsewhere", "approvers", team="other")
    page, api = both(user, *decision("approve", change))
    assert_refused_alike(page, api, status, code)
    assert not Run.objects.filter(change=change, status=RunStatus.APPROVED).exists()


def test_approving_a_change_whose_plans_run_is_refused_alike(people, service_form_data):
    _, change = register_service(people["dev"], **service_form_data)
    page, api = both(people["approver"], *decision("approve", change))
    assert_refused_alike(page, api, 409, "plan_running")


def test_an_approver_approves_a_change_alike(people, change):
    page, api = both(people["approver"], *decision("approve", change))
    assert page.status_code == 302 and page.url == reverse("changes:detail", args=[change.pk])
    body = api.json()
    assert api.status_code == 202 and body["id"] == str(change.pk) and body["approval_refusal"]["code"] == "already_approved"
    assert {run["status"] for run in body["runs"]} <= {RunStatus.APPROVED, RunStatus.APPLYING}
    assert [run["workspace"] for run in body["runs"]] == [run.workspace.path for run in change.runs_in_order()]


def test_discarding_is_refused_alike_for_someone_who_neither_proposed_nor_may_approve(people, change):
    page, api = both(people["dev"], *decision("discard", change))
    assert_refused_alike(page, api, 403, "not_allowed")


def test_the_proposer_discards_alike(lead, change):
    page, api = both(lead, *decision("discard", change))
    assert page.status_code == 302 and api.status_code == 202
    assert {run["status"] for run in api.json()["runs"]} == {RunStatus.DISCARDED}


def test_a_change_reads_alike_with_why_its_reader_may_not_approve_it(lead, change):
    page, api = both(lead, lambda page: page.get(reverse("changes:detail", args=[change.pk])), lambda api: api.get(f"/api/v1/changes/{change.pk}/"))
    body = api.json()
    assert page.status_code == api.status_code == 200
    assert body["approval_refusal"]["code"] == "own_change" and body["approval_refusal"]["detail"] in text(page)
    assert body["discard_refusal"] is None and body["title"] == change.title and len(body["runs"]) == change.runs.count()


def test_a_platform_change_is_refused_alike_to_a_developer(people):
    workspace = Workspace.objects.create(path="ecs/ecr-repositories/platform-repo", module="ecr-repository", variables={"name": "x"})
    from portal.changes.workflow import propose

    change = propose("A platform change", [(workspace, workspace.variables)], people["admin"])
    page, api = both(people["dev"], lambda page: page.get(reverse("changes:detail", args=[change.pk])), lambda api: api.get(f"/api/v1/changes/{change.pk}/"))
    assert_refused_alike(page, api, 403, "platform")


def test_an_unknown_change_is_404_alike(people):
    missing = uuid.uuid4()
    page, api = both(people["admin"], lambda page: page.get(f"/changes/{missing}/"), lambda api: api.get(f"/api/v1/changes/{missing}/"))
    assert page.status_code == api.status_code == 404 and api.json()["code"] == "not_found"


# --- drift -----------------------------------------------------------------------------------------
@pytest.fixture
def onboarded(people, service_form_data):
    """An applied service, whose first workspace's latest check found drift."""
    service, change = register_service(people["dev"], **service_form_data)
    plan_approve_apply(change, people["approver"])
    return service


def first_workspace(service) -> Workspace:
    return service.workspaces.order_by("apply_order").first()


def drifted(workspace) -> DriftCheck:
    return DriftCheck.objects.create(workspace=workspace, drifted=True, drift=DRIFT)


def drift_button(name: str, workspace: Workspace):
    """The badge's button, asked as its script asks (a refusal is a 409 in words), and the endpoint."""
    return (
        lambda page: page.post(reverse(f"drift:{name}", args=[workspace.pk]), headers={"Accept": "application/json"}),
        lambda api: api.post(f"/api/v1/workspaces/{workspace.pk}/drift/{name}/"),
    )


@pytest.fixture
def drift_queue(monkeypatch):
    """Drift checks go to a queue of their own that no worker takes (as in test_drift)."""
    from rq import Queue

    from portal.drift import scheduling

    queue = Queue(f"{django_settings.DRIFT_QUEUE}-parity-{uuid.uuid4().hex[:6]}", connection=django_rq.get_connection(django_settings.RQ_QUEUE))
    monkeypatch.setattr(scheduling, "queue", lambda: queue)
    monkeypatch.setattr(scheduling, "ensure_sweep", lambda: None)
    yield queue
    queue.empty()


def test_checking_drift_is_allowed_alike_to_the_teams_approvers(people, onboarded, drift_queue):
    workspace = first_workspace(onboarded)
    page, api = both(people["approver"], *drift_button("check", workspace))
    assert page.status_code == 302 and api.status_code == 202
    assert api.json() == {"workspace": workspace.path, "queued": False}, "the page's check waits already (Redis is not rolled back)"
    assert [job.kwargs for job in drift_queue.jobs] == [{"workspace_id": workspace.pk}]


@pytest.mark.parametrize(
    "case, status, code",
    [
        ("another team's developer", 403, "other_team"),
        ("never applied", 409, "not_applied"),
        ("a run going on", 409, "workspace_busy"),
        ("the platform's, asked by a developer", 403, "platform"),
    ],
)
def test_checking_drift_is_refused_alike(people, make_user, onboarded, drift_queue, case, status, code):
    user, workspace = people["dev"], first_workspace(onboarded)
    if case == "another team's developer":
        user = make_user("outsider", "developers", team="other")
    elif case == "never applied":
        workspace = Workspace.objects.create(path="ecs/services/never-applied", module="ecs-service", service=onboarded)
    elif case == "a run going on":
        Run.objects.create(workspace=workspace, status=RunStatus.QUEUED, variables=workspace.variables)
    else:
        workspace = Workspace.objects.create(path="ecs/ecr-repositories/platform-repo", module="ecr-repository")
    page, api = both(user, *drift_button("check", workspace))
    assert_refused_alike(page, api, status, code)
    assert not drift_queue.jobs


def test_planning_to_restore_is_allowed_alike_to_a_developer_of_the_team(people, onboarded):
    workspace = first_workspace(onboarded)
    drifted(workspace)
    page, api = both(people["dev"], *drift_button("restore", workspace))
    body = api.json()
    assert page.status_code == 302 and page.url.startswith("/changes/")
    assert api.status_code == 201 and body["title"] == f"Restore {workspace.path} after drift" and body["service"] == onboarded.name
    assert [run["workspace"] for run in body["runs"]] == [workspace.path]


@pytest.mark.parametrize(
    "case, status, code",
    [
        ("an approver", 403, "no_role"),
        ("no drift", 409, "no_drift"),
        ("a decommission waits", 409, "decommissioning"),
        ("the platform's, asked by a developer", 403, "no_role"),
    ],
)
def test_planning_to_restore_is_refused_alike(people, onboarded, case, status, code):
    user, workspace = people["dev"], first_workspace(onboarded)
    if case == "an approver":
        user = people["approver"]
    if case == "a decommission waits":
        decommission_service(onboarded, people["admin"])
    if case == "the platform's, asked by a developer":
        workspace = Workspace.objects.create(path="ecs/ecr-repositories/platform-repo", module="ecr-repository")
    if case != "no drift":
        drifted(workspace)
    runs_before = Run.objects.count()
    page, api = both(user, *drift_button("restore", workspace))
    assert_refused_alike(page, api, status, code)
    assert Run.objects.count() == runs_before


def test_drift_reads_alike_on_the_service_page_and_the_api(people, make_user, onboarded):
    workspace = first_workspace(onboarded)
    drifted(workspace)
    page, api = both(
        people["approver"],
        lambda page: page.get(reverse("catalog:service-detail", args=[onboarded.name])),
        lambda api: api.get(f"/api/v1/workspaces/{workspace.pk}/drift/"),
    )
    body = api.json()
    assert page.status_code == api.status_code == 200
    assert body["state"] == "drifted" and "Drifted" in text(page)
    assert body["checks"][0]["drift"] == DRIFT and "image_tag_mutability" in text(page)


# --- webhooks --------------------------------------------------------------------------------------
def add_webhook(service, url="https://hooks.example.com/portal"):
    data = {"url": url, "events": ["applied", "failed"]}
    if service is None:
        return (lambda page: page.post(reverse("notifications:platform"), data), lambda api: api.post("/api/v1/webhooks/", data, format="json"))
    return (
        lambda page: page.post(reverse("notifications:service", args=[service.name]), data),
        lambda api: api.post(f"/api/v1/services/{service.name}/webhooks/", data, format="json"),
    )


def test_a_developer_of_the_team_adds_a_webhook_alike(people, onboarded, dns):
    page, api = both(people["dev"], *add_webhook(onboarded))
    body = api.json()
    assert page.status_code == 200 and api.status_code == 201
    webhook = Webhook.objects.get()
    assert (body["url"], body["events"], body["service"]) == (webhook.url, ["applied", "failed"], onboarded.name)
    assert body["secret"] == webhook.secret and body["secret_hint"] == webhook.secret[-4:]


@pytest.mark.parametrize(
    "who, team, service, status, code",
    [
        ("approvers", "art", "the service", 403, "no_role"),
        ("developers", "other", "the service", 403, "other_team"),
        ("developers", "art", "the platform", 403, "no_role"),
    ],
)
def test_adding_a_webhook_is_refused_alike(make_user, onboarded, dns, who, team, service, status, code):
    user = make_user("someone", who, team=team)
    page, api = both(user, *add_webhook(onboarded if service == "the service" else None))
    assert_refused_alike(page, api, status, code)
    assert not Webhook.objects.exists()


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/", "http://user:pw@hooks.example.com/", "https://hooks.example.com:25/"])
def test_a_url_the_portal_may_not_send_to_is_refused_alike_with_the_same_message(people, onboarded, dns, url):
    page, api = both(people["dev"], *add_webhook(onboarded, url))
    assert_bad_input_alike(page, api, "url")
    assert not Webhook.objects.exists()


def test_removing_a_webhook_is_refused_alike_to_another_team_and_done_alike_by_its_own(people, make_user, onboarded, dns):
    webhook = Webhook.objects.create(service=onboarded, url="https://hooks.example.com/x", events=["applied"])
    remove = (lambda page: page.post(reverse("notifications:remove", args=[webhook.pk])), lambda api: api.delete(f"/api/v1/webhooks/{webhook.pk}/"))
    page, api = both(make_user("outsider", "developers", team="other"), *remove)
    assert_refused_alike(page, api, 403, "other_team")
    page, api = both(people["dev"], *remove)
    assert page.status_code == 302 and api.status_code == 204
    assert not Webhook.objects.exists()


def test_webhooks_read_alike_with_their_deliveries(people, onboarded):
    webhook = Webhook.objects.create(service=onboarded, url="https://hooks.example.com/x", events=["applied"])
    webhook.deliveries.create(event="applied", payload={}, attempts=1, status="failed", outcome="receiver_refused", response_code=503)
    page, api = both(
        people["approver"],
        lambda page: page.get(reverse("notifications:service", args=[onboarded.name])),
        lambda api: api.get(f"/api/v1/services/{onboarded.name}/webhooks/"),
    )
    [listed] = api.json()["results"]
    assert page.status_code == api.status_code == 200
    assert listed["url"] in text(page) and listed["recent_deliveries"][0]["outcome_text"] in text(page)
    assert "secret" not in listed


def test_the_platforms_webhooks_are_refused_alike_to_a_developer(people):
    page, api = both(people["dev"], lambda page: page.get(reverse("notifications:platform")), lambda api: api.get("/api/v1/webhooks/"))
    assert_refused_alike(page, api, 403, "no_role")


# --- workspaces: the page, the lock, the queue -----------------------------------------------------
@pytest.fixture
def bucket(settings):
    name = f"portal-test-{uuid.uuid4().hex[:10]}"
    aws_client("s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": settings.AWS_REGION})
    settings.STATE_BUCKET = name
    return name


def put_lock(workspace, who="root@worker-1") -> str:
    lock_id = str(uuid.uuid4())
    body = {"ID": lock_id, "Operation": "OperationTypeApply", "Who": who, "Version": "1.11.4", "Created": "2026-11-25T10:00:00.123456789Z"}
    aws_client("s3").put_object(Bucket=django_settings.STATE_BUCKET, Key=locks.lockfile_key(workspace), Body=json.dumps(body))
    return lock_id


def unlock(workspace, lock_id, confirm=True):
    return (
        lambda page: page.post(reverse("workspace:unlock", args=[workspace.pk]), {"lock_id": lock_id, **({"confirm": "on"} if confirm else {})}),
        lambda api: api.post(f"/api/v1/workspaces/{workspace.pk}/unlock/", {"lock_id": lock_id, "confirm": confirm}, format="json"),
    )


def test_a_workspace_reads_alike_with_its_lock(people, onboarded, bucket):
    workspace = first_workspace(onboarded)
    lock_id = put_lock(workspace)
    page, api = both(
        people["dev"], lambda page: page.get(reverse("workspace:detail", args=[workspace.pk])), lambda api: api.get(f"/api/v1/workspaces/{workspace.pk}/")
    )
    body = api.json()
    assert page.status_code == api.status_code == 200
    assert body["lock"]["id"] == lock_id and lock_id in text(page) and body["lock"]["who"] in text(page)
    assert body["unlock_refusal"]["code"] == "no_role" and 'id="force-unlock"' not in text(page)
    assert body["path"] == workspace.path and [run["id"] for run in body["recent_runs"]] == [str(run.pk) for run in workspace.runs.all()[:10]]


@pytest.mark.parametrize("who, team, status, code", [("developers", "other", 403, "other_team"), ("approvers", "art", 403, "platform")])
def test_a_workspace_is_refused_alike_to_who_may_not_read_its_runs(make_user, onboarded, who, team, status, code):
    workspace = first_workspace(onboarded) if code == "other_team" else Workspace.objects.create(path="vpc/x-network", module="network")
    page, api = both(
        make_user("someone", who, team=team),
        lambda page: page.get(reverse("workspace:detail", args=[workspace.pk])),
        lambda api: api.get(f"/api/v1/workspaces/{workspace.pk}/"),
    )
    assert_refused_alike(page, api, status, code)


def test_an_admin_removes_a_lock_alike(people, onboarded, bucket):
    workspace = first_workspace(onboarded)
    lock_id = put_lock(workspace)
    browser = Client()
    browser.force_login(people["admin"])
    page = browser.post(reverse("workspace:unlock", args=[workspace.pk]), {"lock_id": lock_id, "confirm": "on"})
    assert page.status_code == 302 and locks.read(workspace) is None
    lock_id = put_lock(workspace)  # S3 is not rolled back: the API removes a lock of its own
    api = api_for(people["admin"]).post(f"/api/v1/workspaces/{workspace.pk}/unlock/", {"lock_id": lock_id, "confirm": True}, format="json")
    assert api.status_code == 200 and api.json()["lock_id"] == lock_id and api.json()["released_by"] == "admin"
    assert locks.read(workspace) is None and LockRelease.objects.count() == 2


@pytest.mark.parametrize("case, status, code", [("a developer", 403, "no_role"), ("a changed lock", 409, "lock_changed"), ("no lock", 409, "no_lock")])
def test_removing_a_lock_is_refused_alike(people, onboarded, bucket, case, status, code):
    workspace = first_workspace(onboarded)
    lock_id = put_lock(workspace) if case != "no lock" else "gone"
    user = people["dev"] if case == "a developer" else people["admin"]
    page, api = both(user, *unlock(workspace, "another" if case == "a changed lock" else lock_id))
    assert_refused_alike(page, api, status, code)
    assert not LockRelease.objects.exists()


def test_removing_a_lock_without_confirming_is_refused_alike(people, onboarded, bucket):
    workspace = first_workspace(onboarded)
    page, api = both(people["admin"], *unlock(workspace, put_lock(workspace), confirm=False))
    assert_bad_input_alike(page, api, "confirm")
    assert locks.read(workspace) is not None


def test_the_workers_queue_reads_alike(people, onboarded, parked_queue):
    workspace = first_workspace(onboarded)
    run = Run.objects.create(workspace=workspace, status=RunStatus.QUEUED, variables=workspace.variables, requested_by=people["dev"])
    queueing.put_on_queue(run.pk, queueing.job_id(run))
    page, api = both(people["dev"], lambda page: page.get(reverse("workspace:detail", args=[workspace.pk])), lambda api: api.get("/api/v1/queue/"))
    [queued] = api.json()["results"]
    assert page.status_code == api.status_code == 200
    assert queued == {"position": 1, "run": str(run.pk), "workspace": workspace.path, "kind": "apply", "status": "queued"}
    assert str(run.pk) in text(page)
    assert api_for(people["dev"]).get(f"/api/v1/workspaces/{workspace.pk}/").json()["queue_position"] == 1


# --- the platform ----------------------------------------------------------------------------------
def plan_platform(workspace):
    return (
        lambda page: page.post(reverse("platform:plan", args=[workspace.pk]), follow=True),
        lambda api: api.post(f"/api/v1/platform/workspaces/{workspace.pk}/plan/"),
    )


def test_an_admin_plans_a_platform_workspace_alike(people):
    network = next(w for w in sync_platform_workspaces() if w.path.startswith("vpc/"))
    page, api = both(people["admin"], *plan_platform(network))
    body = api.json()
    assert page.status_code == 200 and page.redirect_chain[0][0].startswith("/runs/")
    assert api.status_code == 201 and body["title"] == f"Plan {network.path}" and body["service"] is None
    assert [run["workspace"] for run in body["runs"]] == [network.path]
    assert body["approval_refusal"]["code"] == "own_change"


def test_planning_the_state_bucket_is_refused_alike(people):
    bucket = state_bucket_workspace()
    page, api = both(people["admin"], *plan_platform(bucket))
    assert_refused_alike(page, api, 409, "state_bucket", page_status=200)
    assert not bucket.runs.exists()


def test_the_platform_is_refused_alike_to_a_developer_and_reads_alike_for_an_admin(people):
    read = (lambda page: page.get(reverse("platform:page")), lambda api: api.get("/api/v1/platform/"))
    page, api = both(people["dev"], *read)
    assert_refused_alike(page, api, 403, "no_role")
    page, api = both(people["admin"], *read)
    body = api.json()
    assert page.status_code == api.status_code == 200 and body["state_bucket"] == state_bucket_path()
    assert body["workspaces"] and all(workspace["path"] in text(page) for workspace in body["workspaces"])


def test_a_service_workspace_is_no_platform_workspace_alike(people, onboarded):
    page, api = both(people["admin"], *plan_platform(first_workspace(onboarded)))
    assert page.status_code == api.status_code == 404


# --- the administrators ----------------------------------------------------------------------------
def test_the_administrators_are_refused_alike_to_a_developer(people):
    page, api = both(people["dev"], lambda page: page.get(reverse("administrators:list")), lambda api: api.get("/api/v1/administrators/"))
    assert_refused_alike(page, api, 403, "no_role")


def test_the_administrators_read_alike(people):
    page, api = both(people["admin"], lambda page: page.get(reverse("administrators:list")), lambda api: api.get("/api/v1/administrators/"))
    body = api.json()
    assert page.status_code == api.status_code == 200
    declared = [row for row in body["administrators"] if row["declared"]]
    assert {row["service_type"] for row in declared} == set(declared_administrators())
    assert [row["service_type"] for row in body["administrators"]] == [t for t in identities.TYPES]
    assert all(row["description"] in text(page) for row in body["administrators"])


@pytest.fixture
def two_administrators(settings):
    """The administrators before any is applied: iam and ecs; the other types have none."""
    settings.IAM_ADMIN_SERVICE_TYPES = ["ecs", "iam"]


def an_undeclared_type() -> str:
    return next(t for t in identities.TYPES if t not in declared_administrators())


def test_an_admin_adds_an_administrator_alike(people, two_administrators):
    service_type = an_undeclared_type()
    page, api = both(
        people["admin"],
        lambda page: page.post(reverse("administrators:add"), {"service_type": service_type, "name_patterns": "art-service-*, legacy"}),
        lambda api: api.post("/api/v1/administrators/", {"service_type": service_type, "name_patterns": ["art-service-*", "legacy"]}, format="json"),
    )
    body = api.json()
    assert page.status_code == 302 and page.url.startswith("/runs/")
    assert api.status_code == 201 and body["status"] == RunStatus.QUEUED
    run = Run.objects.get(pk=body["id"])
    assert run.change.title == f"Add the {service_type} administrator"
    assert run.variables["administrators"][service_type] == {"name_patterns": ["art-service-*", "legacy"]}


def test_a_bad_pattern_is_refused_alike_with_the_same_message(people):
    service_type = next(iter(t for t in declared_administrators() if t != "iam"))
    page, api = both(
        people["admin"],
        lambda page: page.post(reverse("administrators:scope", args=[service_type]), {"name_patterns": "Not_A*Pattern"}),
        lambda api: api.patch(f"/api/v1/administrators/{service_type}/", {"name_patterns": ["Not_A*Pattern"]}, format="json"),
    )
    assert_bad_input_alike(page, api, "name_patterns")


@pytest.mark.parametrize(
    "case, code",
    [
        ("retire iam", "iam_stays"),
        ("retire an undeclared type", "not_declared"),
        ("rescope an undeclared type", "not_declared"),
        ("rescope to the same", "no_change"),
    ],
)
def test_a_change_of_the_administrators_is_refused_alike(people, two_administrators, case, code):
    declared = declared_administrators()
    service_type = {"retire iam": "iam", "rescope to the same": next(t for t in declared if t != "iam")}.get(case, an_undeclared_type())
    if case.startswith("retire"):
        ask = (
            lambda page: page.post(reverse("administrators:retire", args=[service_type]), {"confirm": "on"}, follow=True),
            lambda api: api.delete(f"/api/v1/administrators/{service_type}/"),
        )
    else:
        patterns = declared.get(service_type, {"name_patterns": ["x-*"]})["name_patterns"]
        ask = (
            lambda page: page.post(reverse("administrators:scope", args=[service_type]), {"name_patterns": ", ".join(patterns)}, follow=True),
            lambda api: api.patch(f"/api/v1/administrators/{service_type}/", {"name_patterns": patterns}, format="json"),
        )
    page, api = both(people["admin"], *ask)
    assert_refused_alike(page, api, 409, code, page_status=200)
    assert not Run.objects.exists()


# --- the lists read in a fixed number of queries ----------------------------------------------------
def test_the_new_lists_answer_in_as_many_queries_for_many_rows_as_for_one(people, service_form_data, dns):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api = api_for(people["admin"])

    def queries(path) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(path).status_code == 200
        return len(captured)

    service, _ = register_service(people["dev"], **service_form_data)
    Webhook.objects.create(service=service, url="https://hooks.example.com/1", events=["applied"], created_by=people["dev"])
    few = {path: queries(path) for path in ("/api/v1/workspaces/", f"/api/v1/services/{service.name}/webhooks/")}
    for number in range(2, 12):
        register_service(people["dev"], **{**service_form_data, "name": f"svc-{number}"})
        webhook = Webhook.objects.create(service=service, url=f"https://hooks.example.com/{number}", events=["applied"], created_by=people["admin"])
        webhook.deliveries.create(event="applied", payload={})
    many = {path: queries(path) for path in few}
    assert many == few
