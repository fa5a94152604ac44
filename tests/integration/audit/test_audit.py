"""The audit trail: every action is recorded once, where it happens (the page and the API call the
same function), with who, when, from which address and on what; PostgreSQL refuses to change or
delete an event; admins read it on a page, in the API and as JSON lines; no secret is ever in it."""

import io
import json
import re
import uuid

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal import audit
from portal.api.models import ApiToken
from portal.audit.context import client_address
from portal.audit.models import AuditEvent
from portal.catalog.models import Service
from portal.catalog.onboarding import register_service
from portal.changes import workflow
from portal.core.aws import client as aws_client
from portal.runner import locks
from portal.runs.models import RunStatus
from portal.workspaces.models import Workspace
from tests.conftest import api_for, plan_approve_apply, record_plan

pytestmark = pytest.mark.django_db

PAGE_ADDRESS, API_ADDRESS = "10.1.2.3", "10.9.8.7"
FIRST_ID = 0


@pytest.fixture
def page(client, people):
    client.force_login(people["dev"])
    return client


@pytest.fixture
def api(people):
    client = api_for(people["dev"])
    client.defaults["REMOTE_ADDR"] = API_ADDRESS
    return client


def as_user(client, user):
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def this_tests_events(db):
    """The test database keeps the events of its creation (post_migrate made the groups); a test
    looks at its own."""
    global FIRST_ID
    FIRST_ID = (AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1


def recorded():
    return AuditEvent.objects.filter(id__gte=FIRST_ID).order_by("id")


def events(action: str) -> list[AuditEvent]:
    return list(recorded().filter(action=action))


def who_where_what(event: AuditEvent) -> tuple:
    return event.actor_username, event.address, event.object_type, event.object_label


def onboarded(people, data, name: str) -> Service:
    service, change = register_service(people["dev"], **{**data, "name": name})
    plan_approve_apply(change, people["approver"])
    return Service.objects.get(pk=service.pk)


def planned(change):
    for run in change.runs_in_order():
        record_plan(run)
    return change


# --- each action, once, through the page and through the API ---------------------------------------
def test_registering_is_recorded_once_through_the_page_and_once_through_the_api(page, api, service_form_data):
    page.post(reverse("catalog:service-register"), service_form_data, REMOTE_ADDR=PAGE_ADDRESS)
    assert api.post("/api/v1/services/", {**service_form_data, "name": "billing"}, format="json").status_code == 201

    on_page, on_api = events("service.register")
    assert who_where_what(on_page) == ("dev", PAGE_ADDRESS, "catalog.service", "sourcing-data-service")
    assert who_where_what(on_api) == ("dev", API_ADDRESS, "catalog.service", "billing")
    assert on_page.object_id == str(Service.objects.get(name="sourcing-data-service").pk)
    assert on_page.details["declaration"]["cpu"] == service_form_data["cpu"]
    assert on_page.request_id and on_page.request_id != on_api.request_id
    assert on_page.actor.username == "dev" and on_page.time


def test_changing_and_deploying_are_recorded_once_each(people, page, api, service_form_data):
    first = onboarded(people, service_form_data, "first")
    second = onboarded(people, service_form_data, "second")
    declaration = {k: v for k, v in service_form_data.items() if k != "name"}

    page.post(reverse("catalog:service-change", kwargs={"name": first.name}), {**declaration, "cpu": 512, "memory": 1024}, REMOTE_ADDR=PAGE_ADDRESS)
    assert api.patch(f"/api/v1/services/{second.name}/", {"cpu": 512, "memory": 1024}, format="json").status_code == 200
    assert api.post(f"/api/v1/services/{second.name}/deployments/", {"image_tag": "2.0.0"}, format="json").status_code == 201

    on_page, on_api = events("service.change")
    assert who_where_what(on_page) == ("dev", PAGE_ADDRESS, "catalog.service", "first")
    assert who_where_what(on_api) == ("dev", API_ADDRESS, "catalog.service", "second")
    assert on_api.details["diff"] == {"cpu": [256, 512], "memory": [512, 1024]}
    [deploy] = events("service.deploy")
    assert who_where_what(deploy) == ("dev", API_ADDRESS, "catalog.service", "second")
    assert deploy.details["diff"] == {"image_tag": ["1.0.0", "2.0.0"]}


def test_decommissioning_is_recorded_once_through_the_page_and_the_api(people, client, service_form_data):
    first = onboarded(people, service_form_data, "first")
    second = onboarded(people, service_form_data, "second")
    as_user(client, people["admin"]).post(
        reverse("catalog:service-decommission", kwargs={"name": first.name}), {"confirm_name": first.name}, REMOTE_ADDR=PAGE_ADDRESS
    )
    admin_api = api_for(people["admin"])
    assert admin_api.delete(f"/api/v1/services/{second.name}/", REMOTE_ADDR=API_ADDRESS).status_code == 202

    on_page, on_api = events("service.decommission")
    assert who_where_what(on_page) == ("admin", PAGE_ADDRESS, "catalog.service", "first")
    assert who_where_what(on_api) == ("admin", API_ADDRESS, "catalog.service", "second")


def test_approving_and_discarding_are_recorded_once_through_the_page_and_the_api(people, client, service_form_data):
    changes = [planned(register_service(people["dev"], **{**service_form_data, "name": f"svc-{i}"})[1]) for i in range(4)]
    approver_api = api_for(people["approver"])
    as_user(client, people["approver"])

    client.post(reverse("changes:approve", kwargs={"change_id": changes[0].pk}), REMOTE_ADDR=PAGE_ADDRESS)
    approver_api.post(f"/api/v1/runs/{changes[1].runs_in_order()[0].pk}/approve/", REMOTE_ADDR=API_ADDRESS)
    client.post(reverse("changes:discard", kwargs={"change_id": changes[2].pk}), REMOTE_ADDR=PAGE_ADDRESS)
    approver_api.post(f"/api/v1/runs/{changes[3].runs_in_order()[0].pk}/discard/", REMOTE_ADDR=API_ADDRESS)

    for action, (page_change, api_change) in (("change.approve", changes[:2]), ("change.discard", changes[2:])):
        on_page, on_api = events(action)
        assert who_where_what(on_page) == ("approver", PAGE_ADDRESS, "runs.change", page_change.title)
        assert who_where_what(on_api) == ("approver", API_ADDRESS, "runs.change", api_change.title)
        assert on_api.object_id == str(api_change.pk)
        assert sorted(on_api.details["runs"]) == sorted(str(run.pk) for run in api_change.runs.all())


def test_a_refused_approval_is_not_recorded(people, service_form_data):
    change = planned(register_service(people["dev"], **service_form_data)[1])
    with pytest.raises(workflow.Refused):
        workflow.approve(change, people["dev"])
    assert not events("change.approve")


def test_cancelling_is_recorded_once_through_the_page_and_the_api(people, page, api, service_form_data):
    first_run = register_service(people["dev"], **{**service_form_data, "name": "first"})[1].runs_in_order()[0]
    second_run = register_service(people["dev"], **{**service_form_data, "name": "second"})[1].runs_in_order()[0]

    page.post(reverse("runs:run-cancel", kwargs={"run_id": first_run.pk}), REMOTE_ADDR=PAGE_ADDRESS)
    assert api.post(f"/api/v1/runs/{second_run.pk}/cancel/").status_code == 202

    on_page, on_api = events("run.cancel")
    assert (on_page.actor_username, on_page.address, on_page.object_type, on_page.object_id) == ("dev", PAGE_ADDRESS, "runs.run", str(first_run.pk))
    assert (on_api.actor_username, on_api.address, on_api.object_id) == ("dev", API_ADDRESS, str(second_run.pk))
    assert on_api.details["status"] == RunStatus.CANCELLED


def test_administrator_changes_are_recorded(people, client, parked_queue):
    as_user(client, people["admin"]).post(
        reverse("administrators:scope", args=["ecr"]), {"name_patterns": "art-service-*, legacy-billing"}, REMOTE_ADDR=PAGE_ADDRESS
    )
    [event] = events("administrators.change")
    assert (event.actor_username, event.address, event.object_type) == ("admin", PAGE_ADDRESS, "runs.change")
    assert event.details["after"]["ecr"]["name_patterns"] == ["art-service-*", "legacy-billing"]
    assert event.details["before"]["ecr"]["name_patterns"] == ["art-service*"]


# --- state locks: an admin's force-unlock, and the portal's own release --------------------------------
@pytest.fixture
def bucket(settings):
    name = f"portal-test-{uuid.uuid4().hex[:10]}"
    aws_client("s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": settings.AWS_REGION})
    settings.STATE_BUCKET = name
    return name


def put_lock(workspace) -> str:
    lock_id = str(uuid.uuid4())
    body = {"ID": lock_id, "Operation": "OperationTypeApply", "Who": "root@worker-1", "Version": "1.11.4", "Created": "2026-11-25T10:00:00Z"}
    aws_client("s3").put_object(Bucket=locks.settings.STATE_BUCKET, Key=locks.lockfile_key(workspace), Body=json.dumps(body))
    return lock_id


def test_a_force_unlock_is_recorded_with_the_admin_and_a_release_by_the_portal_without_an_address(people, client, bucket):
    workspace = Workspace.objects.create(path="ecs/ecr-repositories/art-service-audit", module="ecr-repository", variables={})
    lock_id = put_lock(workspace)
    as_user(client, people["admin"]).post(reverse("workspace:unlock", args=[workspace.pk]), {"lock_id": lock_id, "confirm": "on"}, REMOTE_ADDR=PAGE_ADDRESS)
    again = put_lock(workspace)
    locks.release(workspace, locks.read(workspace), reason="its terraform died")  # what the reaper does

    [by_hand] = events("lock.force_unlock")
    assert who_where_what(by_hand) == ("admin", PAGE_ADDRESS, "workspaces.workspace", workspace.path)
    assert (by_hand.details["lock_id"], by_hand.details["holder"]) == (lock_id, "root@worker-1")
    [by_portal] = events("lock.release")
    assert (by_portal.actor, by_portal.actor_username, by_portal.address, by_portal.request_id) == (None, "", None, None)
    assert by_portal.details["lock_id"] == again


# --- tokens ----------------------------------------------------------------------------------------
def test_tokens_issued_and_revoked_are_recorded_without_their_key(people, page):
    form = {"label": "ci", "scope": "deploy", "days": "30", "password": "pw-dev"}
    response = page.post(reverse("tokens"), form, REMOTE_ADDR=PAGE_ADDRESS)
    key = response.context["new_key"]
    token = ApiToken.objects.get(label="ci")
    page.post(reverse("token-revoke", args=[token.pk]), REMOTE_ADDR=PAGE_ADDRESS)
    out = io.StringIO()
    call_command("issue_token", "dev", "--label", "pipeline", "--scope", "deploy", stdout=out, stderr=io.StringIO())
    command_key = out.getvalue().strip()

    issued, from_command = events("token.issue")
    [revoked] = events("token.revoke")
    assert (issued.actor_username, issued.address, issued.object_type, issued.object_id) == ("dev", PAGE_ADDRESS, "api.apitoken", str(token.pk))
    assert (revoked.actor_username, revoked.address, revoked.object_id) == ("dev", PAGE_ADDRESS, str(token.pk))
    assert (from_command.address, from_command.request_id, from_command.details["label"]) == (None, None, "pipeline")
    everything = json.dumps([e.as_json for e in AuditEvent.objects.all()])
    assert key not in everything and command_key not in everything
    assert token.digest not in everything


def test_a_detail_named_like_a_secret_is_refused(people):
    for name in ("password", "key", "api_key", "secret", "token", "session_token"):
        with pytest.raises(ValueError, match="must not hold secrets"):
            audit.record("token.issue", people["dev"], **{name: "x"})
    assert audit.record("user.change", people["dev"], password_changed=True, secrets={"DB": "arn:aws:ssm:..."})


# --- users and groups ------------------------------------------------------------------------------
def test_user_and_group_changes_are_recorded_from_the_signals(django_user_model):
    user = django_user_model.objects.create_user("newcomer", password="hunter2-secret")
    user.email = "newcomer@example.org"
    user.set_password("another-secret")
    user.save()
    group = Group.objects.create(name="auditors")
    user.groups.add(group)
    group.permissions.add(Permission.objects.get(codename="view_auditevent"))
    user.groups.remove(group)
    group.name = "readers"
    group.save()
    group.delete()
    user.delete()

    actions = [e.action for e in recorded()]
    assert actions == [
        "user.create",
        "user.change",
        "group.create",
        "user.groups",
        "group.permissions",
        "user.groups",
        "group.change",
        "group.delete",
        "user.delete",
    ]
    changed = events("user.change")[0]
    assert changed.details == {"changed": {"email": ["", "newcomer@example.org"]}, "password_changed": True}
    assert events("user.groups")[0].details == {"added": ["auditors"]}
    assert events("group.permissions")[0].details == {"added": ["audit.view_auditevent"]}
    assert all(e.address is None for e in recorded()), "no request: a shell or a command"
    everything = json.dumps([e.as_json for e in recorded()])
    assert "hunter2" not in everything and "another-secret" not in everything and "md5$" not in everything


def test_a_user_change_through_the_admin_site_has_its_actor_and_address(client, django_user_model):
    boss = django_user_model.objects.create_superuser("boss", password="pw")
    client.force_login(boss)
    client.post(reverse("admin:auth_group_add"), {"name": "ops", "permissions": []}, REMOTE_ADDR=PAGE_ADDRESS)
    client.post(reverse("login"), {"username": "boss", "password": "pw"}, REMOTE_ADDR=PAGE_ADDRESS)

    [created] = events("group.create")
    assert (created.actor_username, created.address, created.object_label) == ("boss", PAGE_ADDRESS, "ops")
    login = events("user.login")[-1]  # force_login logs in too, outside any request
    assert (login.actor_username, login.address) == ("boss", PAGE_ADDRESS)
    assert not events("user.change"), "a login's last_login is the login, not a change"


def test_deleting_a_user_keeps_their_events_with_their_username(people, django_user_model):
    dev = people["dev"]
    audit.record("token.issue", dev, label="x")
    dev.delete()
    event = events("token.issue")[0]
    assert (event.actor_id, event.actor_username) == (None, "dev")


# --- append-only ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "attempt",
    [
        lambda: AuditEvent.objects.update(action="service.change"),
        lambda: AuditEvent.objects.all().delete(),
        lambda: AuditEvent.objects.first().delete(),
        lambda: connection.cursor().execute("UPDATE audit_auditevent SET actor_username = 'someone-else'"),
        lambda: connection.cursor().execute("UPDATE audit_auditevent SET actor_id = NULL, address = '1.2.3.4'"),
        lambda: connection.cursor().execute("DELETE FROM audit_auditevent"),
    ],
    ids=["orm-update", "orm-bulk-delete", "orm-delete", "sql-update", "sql-update-beside-actor", "sql-delete"],
)
def test_postgresql_refuses_to_change_or_delete_an_event(people, attempt):
    audit.record("service.register", people["dev"], label="x")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        attempt()
    event = AuditEvent.objects.get(action="service.register")
    assert (event.actor_username, event.address) == ("dev", None)


# --- the source address ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "trusted, forwarded, expected",
    [
        (0, "203.0.113.9", "10.0.0.1"),  # the header is not believed by default
        (1, "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # what our proxy saw; the rest the client wrote
        (2, "198.51.100.1, 203.0.113.9, 10.0.0.5", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.1"),  # fewer hops than proxies: not ours, ignored
        (1, "not-an-address", "10.0.0.1"),
        (1, "", "10.0.0.1"),
    ],
)
def test_the_source_address_honours_x_forwarded_for_only_behind_trusted_proxies(settings, trusted, forwarded, expected):
    settings.PORTAL_TRUSTED_PROXY_COUNT = trusted
    assert client_address({"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": forwarded}) == expected


def test_the_trusted_proxy_count_is_validated():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import portal.settings"],
        env={"PORTAL_TRUSTED_PROXY_COUNT": "-1", "DJANGO_DEBUG": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "PORTAL_TRUSTED_PROXY_COUNT must be a whole number" in result.stderr


# --- the page, the API and the export ----------------------------------------------------------------
@pytest.fixture
def trail(people, make_user, service_form_data):
    """Two registrations, by developers of two teams: dev's in art, pay-dev's in pay."""
    register_service(people["dev"], **service_form_data)
    register_service(make_user("pay-dev", "developers", team="pay"), **{**service_form_data, "name": "billing"})
    return AuditEvent.objects.filter(action="service.register")


def test_only_admins_read_the_audit_trail(people, client, trail):
    for name in ("dev", "approver"):
        as_user(client, people[name])
        assert client.get(reverse("audit:list")).status_code == 403
        assert client.get(reverse("audit:export")).status_code == 403
        assert api_for(people[name]).get("/api/v1/audit/").status_code == 403
    client.logout()
    assert client.get(reverse("audit:list")).status_code == 302
    assert api_for(people["admin"]).get("/api/v1/audit/").status_code == 200
    assert as_user(client, people["admin"]).get(reverse("audit:list")).status_code == 200


def test_the_page_filters_by_action_actor_team_object_and_dates(people, client, trail):
    as_user(client, people["admin"])
    billing = Service.objects.get(name="billing")
    url = reverse("audit:list")

    by_actor = client.get(url, {"action": "service.register", "actor": "pay-dev"})
    by_object = client.get(url, {"object_type": "catalog.service", "object_id": str(billing.pk)})
    today = trail.first().time.date().isoformat()
    by_day = client.get(url, {"action": "service.register", "since": today, "until": today})
    before = client.get(url, {"action": "service.register", "until": "2000-01-01"})

    for response in (by_actor, by_object, by_day, before):
        assert response.status_code == 200, response.content.decode()[-300:]
    assert [e.object_label for e in by_actor.context["page"].items] == ["billing"]
    assert [e.action for e in by_object.context["page"].items] == ["service.register"]
    assert len(by_day.context["page"].items) == 2
    assert len(before.context["page"].items) == 0
    assert 'id="audit-events"' in by_actor.content.decode() and "billing" in by_actor.content.decode()

    by_team = client.get(url, {"team": "pay"})
    assert [(e.action, e.object_label, e.team) for e in by_team.context["page"].items] == [("service.register", "billing", "pay")]
    assert client.get(url, {"team": "nobody"}).context["page"].count == 0


@pytest.mark.parametrize(
    "query, message",
    [
        ({"action": "nonsense"}, "action"),
        ({"since": "yesterday"}, "since"),
        ({"until": "9999-12-31"}, ""),  # a whole last day: must not overflow into a 500
        ({"since": "2026-02-30"}, "since"),
        ({"since": "2026-11-26", "until": "2026-11-25"}, "until"),
        ({"actor": "a\x00b"}, "actor"),
        ({"object_id": "x" * 65}, "object_id"),
        ({"team": "t" * 64}, "team"),
        ({"page": "²"}, "page"),
    ],
)
def test_bad_filters_are_a_400_with_a_message_on_the_page_and_in_the_api(people, client, query, message):
    as_user(client, people["admin"])
    page_response = client.get(reverse("audit:list"), query)
    export_response = client.get(reverse("audit:export"), query) if "page" not in query else page_response
    api_response = api_for(people["admin"]).get("/api/v1/audit/", query)

    if query == {"until": "9999-12-31"}:
        assert page_response.status_code in (200, 400) and api_response.status_code in (200, 400)
        return
    assert page_response.status_code == 400 and message in page_response.content.decode()
    assert export_response.status_code == 400
    assert api_response.status_code == 400 and message in json.dumps(api_response.json()["fields"])


def test_the_page_reads_in_a_constant_number_of_queries(people, client, service_form_data):
    as_user(client, people["admin"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("audit:list")).status_code == 200
        return len(captured)

    register_service(people["dev"], **service_form_data)
    few = queries()
    for index in range(20):
        register_service(people["dev"], **{**service_form_data, "name": f"more-{index}"})
    assert queries() == few


def pages_links(response) -> dict[str, str]:
    block = re.search(r'<p class="pages" id="pages">(.*?)</p>', response.content.decode(), re.S)
    return {name: href.replace("&amp;", "&") for href, name in re.findall(r'<a href="\?([^"]*)">(\w+)</a>', block[1])}


def test_the_page_is_paginated_by_place_and_a_page_number_from_before_is_still_served(people, client):
    for index in range(120):
        audit.record("token.issue", people["dev"], label=str(index))
    as_user(client, people["admin"])
    url = reverse("audit:list")
    first = client.get(url, {"action": "token.issue"})
    labels = [event.details["label"] for event in first.context["page"].items]
    assert labels == [str(index) for index in range(119, 69, -1)], "the newest fifty, newest first"
    assert "120 events match these filters." in first.content.decode()
    links = pages_links(first)
    assert set(links) == {"Older"} and links["Older"].startswith("action=token.issue&older=")

    second = client.get(f"{url}?{links['Older']}")
    assert [event.details["label"] for event in second.context["page"].items] == [str(index) for index in range(69, 19, -1)]
    third = client.get(f"{url}?{pages_links(second)['Older']}")
    assert [event.details["label"] for event in third.context["page"].items] == [str(index) for index in range(19, -1, -1)]
    assert set(pages_links(third)) == {"Newest", "Newer"}, "nothing older than the oldest"

    back = client.get(f"{url}?{pages_links(third)['Newer']}")
    assert [event.details["label"] for event in back.context["page"].items] == [str(index) for index in range(69, 19, -1)]
    top = client.get(f"{url}?{pages_links(back)['Newer']}")
    assert [event.details["label"] for event in top.context["page"].items] == labels and set(pages_links(top)) == {"Older"}

    # An event recorded while someone reads an older page does not shift it.
    audit.record("token.issue", people["dev"], label="new")
    again = client.get(f"{url}?{links['Older']}")
    assert [event.details["label"] for event in again.context["page"].items] == [str(index) for index in range(69, 19, -1)]

    numbered = client.get(url, {"action": "token.issue", "page": 2})
    assert [event.details["label"] for event in numbered.context["page"].items] == [str(index) for index in range(70, 20, -1)]
    assert "121 events match these filters (page 2)." in numbered.content.decode()
    assert set(pages_links(numbered)) == {"Newest", "Newer", "Older"}
    assert client.get(url, {"page": 4, "action": "token.issue"}).status_code == 404


def test_a_deep_page_of_the_trail_seeks_to_its_place_and_counts_only_so_far(people, client, settings, monkeypatch):
    from portal.access import audit_pages

    for index in range(12):
        audit.record("token.issue", people["dev"], label=str(index))
    as_user(client, people["admin"])
    settings.DEBUG = True  # the queries' text, for the test to read
    place = audit_pages.EVENTS.place(AuditEvent.objects.get(details__label="5"))
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("audit:list"), {"older": place, "action": "token.issue"})
    assert [event.details["label"] for event in response.context["page"].items] == ["4", "3", "2", "1", "0"]
    sql = " ".join(query["sql"] for query in captured.captured_queries if "audit_auditevent" in query["sql"])
    assert "OFFSET" not in sql and "LIMIT 10001" in sql, "seeks to the place; counts no further than the limit"

    monkeypatch.setattr(audit_pages, "COUNT_LIMIT", 10)
    assert "More than 10 events in the trail." in client.get(reverse("audit:list")).content.decode()


@pytest.mark.parametrize(
    "query, message",
    [
        ({"older": "yesterday"}, "older: give a place as the page&#x27;s Newer and Older links do"),
        ({"newer": "1.zz"}, "newer: give a place"),
        ({"older": "1" * 18 + ".1"}, "older: give a place"),
        ({"older": "1.1", "newer": "1.1"}, "older: give older or newer, not both."),
        ({"older": "1.1", "page": "2"}, "page: give page, or older or newer, not both."),
    ],
)
def test_a_bad_place_is_a_400_that_says_what_it_takes(people, client, query, message):
    as_user(client, people["admin"])
    response = client.get(reverse("audit:list"), query)
    assert response.status_code == 400 and message in response.content.decode()


def test_the_api_lists_events_newest_first_with_the_same_filters(people, trail):
    api = api_for(people["admin"])
    body = api.get("/api/v1/audit/", {"action": "service.register", "page_size": 1}).json()
    assert body["count"] == 2 and len(body["results"]) == 1
    newest = body["results"][0]
    assert (newest["actor"], newest["object_label"], newest["object_type"], newest["team"]) == ("pay-dev", "billing", "catalog.service", "pay")
    assert set(newest) == {"id", "time", "action", "actor", "actor_id", "address", "team", "object_type", "object_id", "object_label", "details", "request_id"}
    by_team = api.get("/api/v1/audit/", {"team": "art", "action": "service.register"}).json()
    assert [(event["object_label"], event["team"]) for event in by_team["results"]] == [("sourcing-data-service", "art")]
    token_issued = api.get("/api/v1/audit/", {"action": "token.issue"}).json()["results"][0]
    assert token_issued["team"] is None  # a person's own token belongs to no team
    unknown = api.get("/api/v1/audit/", {"who": "x"})
    assert unknown.status_code == 400


def test_the_api_links_its_pages_by_place_and_still_serves_page_numbers(people, settings):
    api = api_for(people["admin"])  # issuing its token is an event too, older than these
    for index in range(7):
        audit.record("token.revoke", people["dev"], label=str(index))

    def labels(body) -> list[str]:
        return [event["details"]["label"] for event in body["results"]]

    first = api.get("/api/v1/audit/", {"action": "token.revoke", "page_size": 3}).json()
    assert labels(first) == ["6", "5", "4"] and first["count"] == 7 and first["previous"] is None
    assert "older=" in first["next"] and "page_size=3" in first["next"] and "action=token.revoke" in first["next"]
    second = api.get(first["next"]).json()
    third = api.get(second["next"]).json()
    assert labels(second) == ["3", "2", "1"] and labels(third) == ["0"] and third["next"] is None
    assert second["count"] == third["count"] == 7
    assert labels(api.get(third["previous"]).json()) == ["3", "2", "1"]
    assert labels(api.get(second["previous"]).json()) == ["6", "5", "4"]

    numbered = api.get("/api/v1/audit/", {"action": "token.revoke", "page_size": 3, "page": 2}).json()
    assert labels(numbered) == ["3", "2", "1"] and "older=" in numbered["next"] and "page=" not in numbered["next"]
    assert labels(api.get(numbered["previous"]).json()) == ["6", "5", "4"]

    for query, field in [({"older": "soon"}, "older"), ({"older": "1.1", "page": "1"}, "page"), ({"older": "1.1", "newer": "1.1"}, "older")]:
        refused = api.get("/api/v1/audit/", query)
        assert refused.status_code == 400 and field in refused.json()["fields"], refused.content


def test_the_export_streams_every_selected_event_as_json_lines(people, client, trail):
    as_user(client, people["admin"])
    response = client.get(reverse("audit:export"), {"action": "service.register"})

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("application/jsonl")
    assert "attachment" in response["Content-Disposition"]
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert [(line["actor"], line["object_label"], line["team"]) for line in lines] == [
        ("pay-dev", "billing", "pay"),
        ("dev", "sourcing-data-service", "art"),
    ]
    only_pay = b"".join(client.get(reverse("audit:export"), {"team": "pay"}).streaming_content).decode().splitlines()
    assert [json.loads(line)["object_label"] for line in only_pay] == ["billing"]
    assert lines[0]["details"]["declaration"]["image_tag"] == "1.0.0"


def test_the_api_exports_json_lines_with_a_token(people, trail):
    response = api_for(people["admin"]).get("/api/v1/audit/", {"action": "service.register", "format": "jsonl"})
    assert response.status_code == 200 and response.streaming
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert [line["object_label"] for line in lines] == ["billing", "sourcing-data-service"]
    refused = api_for(people["dev"]).get("/api/v1/audit/", {"format": "jsonl"})
    bad = api_for(people["admin"]).get("/api/v1/audit/", {"format": "jsonl", "since": "soon"})
    assert refused.status_code == 403 and bad.status_code == 400 and b"since" in bad.content


@pytest.mark.parametrize("paging", [{"page_size": "832"}, {"page_size": "0"}, {"page": "first"}, {"older": "first"}, {"newer": "1.x"}])
def test_the_json_lines_export_refuses_malformed_paging_as_the_json_list_does(people, trail, paging):
    # The export is unpaginated, yet a page_size the schema forbids is refused, never quietly ignored.
    admin = api_for(people["admin"])
    as_lines = admin.get("/api/v1/audit/", {"format": "jsonl", **paging})
    as_json = admin.get("/api/v1/audit/", paging)
    assert as_lines.status_code == as_json.status_code == 400
    assert next(iter(paging)) in as_lines.json()["fields"]
