"""Malformed input is refused with a 400 and a message, never a 500, and changes nothing: every query
parameter, path segment and body field of the pages and the API, with the values that break parsers."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from portal.api.models import ApiToken
from portal.catalog.models import Service
from portal.catalog.onboarding import register_service
from portal.runs.models import Change, Run
from tests.conftest import record_plan

# Each is malformed for every field it is tried on below.
MALFORMED_NUMBERS = ["١٢٨", "²", "𝟏𝟐𝟖", "9" * 5000, "9" * 30, "-1", "\x00", "1\x00", "0x10", "1e3", ""]
MALFORMED_NAMES = ["\x00", "a\x00b", "a" * 5000, "Ünïcode", "UPPER", "-x-"]
MALFORMED_BODY_NUMBERS = ["١٢٨", "²", "𝟏𝟐𝟖", "9" * 5000, "9" * 30, "\x00", True, 2.5, [], {}]


@pytest.fixture
def service(make_user, service_form_data):
    author = make_user("author", "developers")
    service, change = register_service(author, **service_form_data)
    for run in change.runs_in_order():
        record_plan(run)
    return service


@pytest.fixture
def admin(make_user):
    return make_user("bad-input-admin", "admins")


@pytest.fixture
def api(admin):
    _, key = ApiToken.objects.issue(admin)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def snapshot():
    return (
        Service.objects.count(),
        Change.objects.count(),
        sorted(Run.objects.values_list("status", flat=True)),
        list(Service.objects.values_list("name", flat=True)),
    )


def assert_refused(response, *statuses):
    statuses = statuses or (400,)
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    body = response.content.decode()
    assert body.strip(), "a refusal says why"


# --- the API ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", MALFORMED_NUMBERS)
def test_api_log_offset(api, service, value):
    run = service.changes.get().runs_in_order()[0]
    response = api.get(f"/api/v1/runs/{run.pk}/log/", {"offset": value})
    assert_refused(response)
    assert response.json()["fields"] or response.json()["detail"]


@pytest.mark.parametrize("parameter", ["page", "page_size"])
@pytest.mark.parametrize("value", MALFORMED_NUMBERS)
def test_api_pagination(api, service, parameter, value):
    assert_refused(api.get("/api/v1/services/", {parameter: value}))


@pytest.mark.parametrize("value", ["", "\x00", "nonsense", "ACTIVE " * 1000])
def test_api_status_filter(api, service, value):
    assert_refused(api.get("/api/v1/services/", {"status": value}))


@pytest.mark.parametrize("name", MALFORMED_NAMES)
@pytest.mark.parametrize(
    "method, suffix, body",
    [
        ("get", "", None),
        ("patch", "", {"cpu": 512}),
        ("delete", "", None),
        ("post", "deployments/", {"image_tag": "2.0.0"}),
    ],
)
def test_api_service_name_in_path(api, service, name, method, suffix, body):
    before = snapshot()
    response = getattr(api, method)(f"/api/v1/services/{name}/{suffix}", body, format="json")
    assert_refused(response, 400)
    assert snapshot() == before


@pytest.mark.parametrize("field", ["container_port", "cpu", "memory", "desired_count"])
@pytest.mark.parametrize("value", MALFORMED_BODY_NUMBERS)
def test_api_register_numbers(api, service_form_data, field, value):
    before = snapshot()
    response = api.post("/api/v1/services/", {**service_form_data, "name": "other", field: value}, format="json")
    assert_refused(response)
    assert field in response.json()["fields"]
    assert snapshot() == before


@pytest.mark.parametrize("field", ["cpu", "desired_count"])
@pytest.mark.parametrize("value", MALFORMED_BODY_NUMBERS)
def test_api_change_numbers(api, service, field, value):
    before = snapshot()
    response = api.patch(f"/api/v1/services/{service.name}/", {field: value}, format="json")
    assert_refused(response)
    assert snapshot() == before


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", "a\x00b"),
        ("name", "x" * 5000),
        ("health_check_path", "/\x00"),
        ("health_check_path", "/" + "a" * 5000),
        ("image_tag", "1.0\x00"),
        ("image_tag", "v" * 5000),
    ],
)
def test_api_register_strings(api, service_form_data, field, value):
    before = snapshot()
    response = api.post("/api/v1/services/", {**service_form_data, "name": "other", field: value}, format="json")
    assert_refused(response)
    assert snapshot() == before


def test_a_long_valid_health_check_path_does_not_overflow_the_change_title(api, service):
    path = "/" + "a" * 1000
    response = api.patch(f"/api/v1/services/{service.name}/", {"health_check_path": path}, format="json")
    assert response.status_code == 200, response.content
    change = Change.objects.order_by("-created_at").first()
    assert len(change.title) <= Change._meta.get_field("title").max_length
    assert change.revision.health_check_path == path


# --- the pages -------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", MALFORMED_NUMBERS)
def test_page_log_offset(client, admin, service, value):
    client.force_login(admin)
    run = service.changes.get().runs_in_order()[0]
    assert_refused(client.get(reverse("runs:run-log", kwargs={"run_id": run.pk}), {"offset": value}))


@pytest.mark.parametrize("name", MALFORMED_NAMES)
@pytest.mark.parametrize("suffix", ["", "change/", "decommission/"])
def test_page_service_name_in_path(client, admin, service, name, suffix):
    client.force_login(admin)
    before = snapshot()
    assert_refused(client.get(f"/services/{name}/{suffix}"), 400)
    assert snapshot() == before


@pytest.mark.parametrize("value", ["", "\x00", "nonsense"])
def test_page_status_filter(client, admin, service, value):
    client.force_login(admin)
    assert_refused(client.get(reverse("catalog:service-list"), {"status": value}))


@pytest.mark.parametrize("field", ["container_port", "cpu", "memory", "desired_count"])
@pytest.mark.parametrize("value", ["١٢٨", "²", "9" * 5000, "9" * 30, "\x00"])
def test_page_register_numbers(client, admin, service_form_data, field, value):
    client.force_login(admin)
    before = snapshot()
    response = client.post(reverse("catalog:service-register"), {**service_form_data, "name": "other", field: value})
    assert response.status_code == 400  # the form again, with the message next to the field
    assert response.context["form"].errors[field]
    assert snapshot() == before


def test_page_change_with_a_long_valid_health_check_path(client, admin, service, service_form_data):
    client.force_login(admin)
    data = {**service_form_data, "health_check_path": "/" + "a" * 1000}
    response = client.post(reverse("catalog:service-change", kwargs={"name": service.name}), data)
    assert response.status_code == 302
    assert Change.objects.order_by("-created_at").first().revision.health_check_path == data["health_check_path"]


@pytest.mark.parametrize("name", ["register"])
def test_names_of_pages_are_reserved(api, service_form_data, name):
    response = api.post("/api/v1/services/", {**service_form_data, "name": name}, format="json")
    assert_refused(response)
    assert "reserved" in response.json()["fields"]["name"][0]


@pytest.mark.parametrize("path", ["/tokens/{n}/revoke/", "/platform/{n}/plan/"])
def test_page_ids_too_large_for_the_database_are_not_found(client, admin, path):
    client.force_login(admin)
    response = client.post(path.format(n="9" * 30))
    assert response.status_code == 404


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("post", "/api/v1/services/", {"desired_cout": 3}),
        ("post", "/api/v1/services/", {"status": "decommissioned"}),
        ("patch", "/api/v1/services/sourcing-data-service/", {"cpus": 512}),
        ("post", "/api/v1/services/sourcing-data-service/deployments/", {"image_tag": "2.0.0", "cpu": 512}),
    ],
)
def test_api_refuses_fields_it_does_not_take(api, service, service_form_data, method, path, body):
    before = snapshot()
    data = {**service_form_data, "name": "other", **body} if path == "/api/v1/services/" else body
    response = getattr(api, method)(path, data, format="json")
    assert_refused(response)
    unknown = (set(body) - set(service_form_data)) if path == "/api/v1/services/" else {k for k in body if k != "image_tag"}
    assert set(response.json()["fields"]) == unknown
    assert snapshot() == before


# --- the API of the other pages (changes, drift, webhooks, workspaces, platform, administrators) ---------
MALFORMED_IDS = ["9" * 30, "9" * 5000, "-1", "0", "١٢٨", "x", "\x00"]


@pytest.mark.parametrize("value", MALFORMED_IDS)
@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/v1/workspaces/{}/"),
        ("post", "/api/v1/workspaces/{}/unlock/"),
        ("get", "/api/v1/workspaces/{}/drift/"),
        ("post", "/api/v1/workspaces/{}/drift/check/"),
        ("post", "/api/v1/workspaces/{}/drift/restore/"),
        ("post", "/api/v1/platform/workspaces/{}/plan/"),
        ("delete", "/api/v1/webhooks/{}/"),
        ("get", "/api/v1/changes/{}/"),
        ("post", "/api/v1/changes/{}/approve/"),
    ],
)
def test_api_an_id_that_names_no_row_is_404(api, service, value, method, path):
    before = snapshot()
    response = getattr(api, method)(path.format(value), {}, format="json")
    assert_refused(response, 404)
    assert snapshot() == before


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/v1/services/sourcing-data-service/webhooks/", []),
        ("/api/v1/services/sourcing-data-service/webhooks/", {"url": True, "events": ["applied"]}),
        ("/api/v1/services/sourcing-data-service/webhooks/", {"url": "https://h.example.com/", "events": "applied"}),
        ("/api/v1/services/sourcing-data-service/webhooks/", {"url": "https://h.example.com/", "events": [1, {}]}),
        ("/api/v1/services/sourcing-data-service/webhooks/", {"url": "\x00", "events": ["applied"]}),
        ("/api/v1/services/sourcing-data-service/webhooks/", {"url": "https://" + "a" * 5000, "events": ["applied"]}),
        ("/api/v1/webhooks/", {"url": "https://h.example.com/", "events": ["applied"], "secret": "mine"}),
        ("/api/v1/administrators/", {"service_type": "logs", "name_patterns": "art-*"}),
        ("/api/v1/administrators/", {"service_type": ["logs"], "name_patterns": [1]}),
        ("/api/v1/administrators/", {"service_type": "logs", "name_patterns": ["\x00"]}),
        ("/api/v1/workspaces/1/unlock/", {"lock_id": "x" * 100, "confirm": True}),
        ("/api/v1/workspaces/1/unlock/", {"lock_id": "x", "confirm": "maybe"}),
    ],
)
def test_api_malformed_bodies_of_the_other_pages(api, service, path, body):
    from portal.notifications.models import Webhook

    workspace = service.workspaces.first()
    before = snapshot(), Webhook.objects.count()
    response = api.post(path.replace("/1/", f"/{workspace.pk}/"), body, format="json")
    assert_refused(response, 400)
    fields = response.json()["fields"]
    assert fields and all(isinstance(messages, list) and all(isinstance(m, str) for m in messages) for messages in fields.values()), fields
    assert (snapshot(), Webhook.objects.count()) == before
