"""The REST API's contract, status code by status code, on real PostgreSQL and Redis."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from portal.api.models import ApiToken
from portal.catalog.forms import ServiceForm
from portal.catalog.models import Service
from portal.catalog.onboarding import register_service
from portal.runs.models import Run, RunStatus
from tests.conftest import record_plan

pytestmark = pytest.mark.django_db

SERVICES = "/api/v1/services/"


@pytest.fixture
def api(make_user):
    """api("alice", "developers") -> a client that sends a token of a new user in those groups."""

    def client_for(username, *group_names):
        user = make_user(username, *group_names)
        _, key = ApiToken.objects.issue(user, label="tests")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        client.user = user
        return client

    return client_for


@pytest.fixture
def developer(api):
    return api("dev", "developers")


@pytest.fixture
def approver(api):
    return api("approver", "approvers")


@pytest.fixture
def registered(developer, service_form_data):
    service, change = register_service(developer.user, **service_form_data)
    return service, change


def planned(change):
    for run in change.runs_in_order():
        record_plan(run)
    return change.runs_in_order()


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == status and body["code"] == code and body["detail"]
    return body


# --- authentication ------------------------------------------------------------------------------


def test_anonymous_request_gets_401_json_not_a_login_page():
    response = APIClient().get(SERVICES)

    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_unknown_or_revoked_token_gets_401(developer):
    unknown = APIClient()
    unknown.credentials(HTTP_AUTHORIZATION="Token portal_not-a-real-key")
    ApiToken.objects.filter(user=developer.user).update(revoked_at="2026-01-01T00:00Z")

    assert_error(unknown.get(SERVICES), 401, "authentication_failed")
    assert_error(developer.get(SERVICES), 401, "token_revoked")


def test_issue_token_prints_a_key_that_is_stored_only_as_a_digest(make_user, capsys):
    make_user("ci-bot", "developers")

    call_command("issue_token", "ci-bot", "--label", "CI", "--scope", "read")
    key = capsys.readouterr().out.strip()

    token = ApiToken.objects.get(user__username="ci-bot")
    assert key.startswith("portal_") and len(key) > 40
    assert key not in {token.digest, token.hint, token.label} and token.hint == key[-4:]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(SERVICES).status_code == 200


# --- services ------------------------------------------------------------------------------------


def test_register_returns_the_service_its_workspaces_and_the_queued_runs(developer, service_form_data, parked_queue, django_capture_on_commit_callbacks):
    # The parked queue: the session's worker (started by an e2e test earlier in the session) must not
    # take the jobs before they are counted.
    queue = parked_queue

    with django_capture_on_commit_callbacks(execute=True):
        response = developer.post(SERVICES, service_form_data, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["service"]["name"] == "sourcing-data-service"
    assert body["service"]["created_by"] == "dev"
    assert [w["state_key"] for w in body["service"]["workspaces"]] == [
        "ecs/ecr-repositories/art-service-sourcing-data-service/terraform.tfstate",
        "ecs/services/art-service-sourcing-data-service/terraform.tfstate",
    ]
    assert [run["status"] for run in body["runs"]] == ["queued", "queued"]
    assert {f"run-{run['id']}-queued" for run in body["runs"]} == set(queue.job_ids)


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "Sourcing_Data"},
        {"container_port": 70000},
        {"cpu": 64},
        {"memory": 10**7},
        {"desired_count": -1},
        {"health_check_path": "health"},
        {"image_tag": ".latest"},
        {"name": "ab", "cpu": 64},
    ],
)
def test_register_refuses_what_the_form_refuses_with_the_same_messages(developer, service_form_data, bad):
    data = {**service_form_data, **bad}

    response = developer.post(SERVICES, data, format="json")

    body = assert_error(response, 400, "invalid")
    form = ServiceForm(data)
    assert not form.is_valid()
    assert body["fields"] == {field: list(messages) for field, messages in form.errors.items()}
    assert not Service.objects.exists() and not Run.objects.exists()


def test_register_refuses_a_name_already_taken(developer, registered, service_form_data):
    body = assert_error(developer.post(SERVICES, service_form_data, format="json"), 400, "invalid")

    assert body["fields"] == {"name": ["A service with this name is already registered."]}
    assert Service.objects.count() == 1


def test_register_refuses_a_missing_field_and_a_wrong_type(developer, service_form_data):
    data = {**service_form_data, "cpu": "a lot"}
    del data["image_tag"]

    body = assert_error(developer.post(SERVICES, data, format="json"), 400, "invalid")

    assert set(body["fields"]) == {"cpu", "image_tag"}
    assert not Service.objects.exists()


def test_register_needs_the_permission(approver, service_form_data):
    assert_error(approver.post(SERVICES, service_form_data, format="json"), 403, "no_role")
    assert not Service.objects.exists()


def test_list_is_paginated_and_shows_latest_runs(developer, service_form_data):
    for name in ["alpha-service", "beta-service", "gamma-service"]:
        register_service(developer.user, **{**service_form_data, "name": name})

    first = developer.get(SERVICES, {"page_size": 2}).json()
    second = developer.get(first["next"]).json()

    assert first["count"] == 3
    assert [s["name"] for s in first["results"] + second["results"]] == ["alpha-service", "beta-service", "gamma-service"]
    workspace = first["results"][0]["workspaces"][1]
    assert workspace["path"] == "ecs/services/art-service-alpha-service"
    assert workspace["latest_run"]["status"] == "queued"


def test_detail_shows_state_keys_and_latest_runs(developer, registered):
    service, change = registered
    planned(change)

    body = developer.get(f"{SERVICES}{service.name}/").json()

    assert body["url"] is None
    assert [w["latest_run"]["plan"] for w in body["workspaces"]] == [{"add": 2, "change": 0, "destroy": 0}] * 2
    assert body["workspaces"][0]["latest_run"]["state_key"] == body["workspaces"][0]["state_key"]


def test_unknown_service_is_404(developer):
    assert_error(developer.get(f"{SERVICES}no-such-service/"), 404, "not_found")


def test_list_costs_the_same_queries_for_2_and_40_services(developer, service_form_data):
    def queries_for_page(size):
        with CaptureQueriesContext(connection) as queries:
            assert developer.get(SERVICES, {"page_size": size}).status_code == 200
        return len(queries)

    for index in range(40):
        register_service(developer.user, **{**service_form_data, "name": f"service-{index:02d}"})

    assert queries_for_page(2) == queries_for_page(40)


def test_patch_changes_sizing_and_queues_a_plan(developer, registered):
    service, change = registered
    planned(change)

    response = developer.patch(f"{SERVICES}{service.name}/", {"cpu": 512, "desired_count": 2}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    # Proposed, not applied: the declaration fields read the applied revision (none yet).
    assert (body["service"]["cpu"], body["service"]["desired_count"]) == (None, None)
    proposed = body["service"]["proposed"]
    assert (proposed["number"], proposed["cpu"], proposed["desired_count"]) == (2, 512, 2)
    assert [d["text"] for d in proposed["diff"]] == ["cpu 256 -> 512", "desired_count 1 -> 2"]
    assert [run["status"] for run in body["runs"]] == ["queued", "queued"]
    assert body["runs"][1]["declaration_diff"] == proposed["diff"]
    assert Run.objects.filter(change=change, status=RunStatus.STALE).count() == 2


def test_patch_without_a_change_queues_nothing(developer, registered):
    service, _ = registered

    response = developer.patch(f"{SERVICES}{service.name}/", {"cpu": 256}, format="json")

    assert response.status_code == 200 and response.json()["runs"] == []


def test_patch_refuses_bad_sizing_and_changes_nothing(developer, registered):
    service, _ = registered

    body = assert_error(developer.patch(f"{SERVICES}{service.name}/", {"memory": 1}, format="json"), 400, "invalid")

    assert list(body["fields"]) == ["memory"]
    assert service.revisions.count() == 1 and Run.objects.count() == 2


def test_patch_while_a_plan_runs_is_409(developer, registered):
    service, change = registered
    change.runs_in_order()[1].start_planning()

    assert_error(developer.patch(f"{SERVICES}{service.name}/", {"cpu": 512}, format="json"), 409, "workspace_busy")
    assert service.revisions.count() == 1, "a refused change leaves no revision behind"


def test_patch_needs_the_permission(approver, registered):
    service, _ = registered
    assert_error(approver.patch(f"{SERVICES}{service.name}/", {"cpu": 512}, format="json"), 403, "no_role")


def test_deployment_queues_a_plan_of_the_tag(developer, registered):
    service, _ = registered
    url = f"{SERVICES}{service.name}/deployments/"

    response = developer.post(url, {"image_tag": "1.1.0"}, format="json")
    again = developer.post(url, {"image_tag": "1.1.0"}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["service"]["proposed"]["image_tag"] == "1.1.0"
    assert len(response.json()["runs"]) == 2
    assert again.status_code == 200 and again.json()["runs"] == []


def test_deployment_refuses_a_bad_tag(developer, registered):
    service, _ = registered
    body = assert_error(developer.post(f"{SERVICES}{service.name}/deployments/", {"image_tag": "-x"}, format="json"), 400, "invalid")
    assert list(body["fields"]) == ["image_tag"]


def test_deployment_needs_the_permission_and_the_service(approver, developer, registered):
    service, _ = registered
    assert_error(approver.post(f"{SERVICES}{service.name}/deployments/", {"image_tag": "1"}, format="json"), 403, "no_role")
    assert_error(developer.post(f"{SERVICES}no-service/deployments/", {"image_tag": "1"}, format="json"), 404, "not_found")


def test_delete_queues_destroy_plans_for_approval(api, registered):
    service, change = registered
    planned(change)
    admin = api("admin", "admins")

    response = admin.delete(f"{SERVICES}{service.name}/")

    assert response.status_code == 202, response.content
    runs = response.json()["runs"]
    assert [(run["kind"], run["workspace"]) for run in runs] == [
        ("destroy", "ecs/services/art-service-sourcing-data-service"),
        ("destroy", "ecs/ecr-repositories/art-service-sourcing-data-service"),
    ]
    assert Service.objects.filter(pk=service.pk).exists()


def test_delete_needs_the_permission(developer, registered):
    service, _ = registered
    assert_error(developer.delete(f"{SERVICES}{service.name}/"), 403, "no_role")
    assert Run.objects.filter(kind=Run.Kind.DESTROY).count() == 0


# --- runs ----------------------------------------------------------------------------------------


def test_run_shows_its_plan_people_and_log_from_an_offset(developer, registered):
    _, change = registered
    run = planned(change)[1]
    run.append_log("line one\nline two\n")

    body = developer.get(f"/api/v1/runs/{run.pk}/").json()
    log = developer.get(body["log_url"]).json()
    rest = developer.get(f"/api/v1/runs/{run.pk}/log/", {"offset": 9}).json()

    assert body["kind"] == "apply" and body["status"] == "awaiting_approval"
    assert body["state_key"] == "ecs/services/art-service-sourcing-data-service/terraform.tfstate"
    assert body["plan"] == {"add": 2, "change": 0, "destroy": 0}
    assert body["requested_by"] == "dev" and body["approved_by"] is None
    assert body["planned_at"] and body["finished_at"] is None
    assert log == {"status": "awaiting_approval", "active": True, "text": "line one\nline two\n", "next_offset": 18}
    assert rest["text"] == "line two\n" and rest["next_offset"] == 18


def test_unknown_run_is_404(developer):
    assert_error(developer.get("/api/v1/runs/00000000-0000-0000-0000-000000000000/"), 404, "not_found")


def test_approve_is_202_and_queues_the_first_apply(approver, registered, parked_queue, django_capture_on_commit_callbacks):
    _, change = registered
    first, second = planned(change)
    queue = parked_queue
    queue.empty()

    with django_capture_on_commit_callbacks(execute=True):
        response = approver.post(f"/api/v1/runs/{second.pk}/approve/")

    assert response.status_code == 202, response.content
    assert response.json()["approved_by"] == "approver"
    assert {run.status for run in Run.objects.filter(change=change)} == {RunStatus.APPROVED}
    assert queue.job_ids == [f"run-{first.pk}-approved"]


def test_the_author_cannot_approve(api, service_form_data):
    author = api("author", "developers", "approvers")
    _, change = register_service(author.user, **service_form_data)
    run = planned(change)[0]

    assert_error(author.post(f"/api/v1/runs/{run.pk}/approve/"), 403, "own_change")
    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_APPROVAL


def test_approving_needs_the_permission(api, registered):
    _, change = registered
    run = planned(change)[0]
    assert_error(api("other-dev", "developers").post(f"/api/v1/runs/{run.pk}/approve/"), 403, "not_approver")


def test_approving_a_run_still_planning_or_stale_is_409(approver, registered):
    _, change = registered
    first, second = change.runs_in_order()
    record_plan(first)

    assert_error(approver.post(f"/api/v1/runs/{second.pk}/approve/"), 409, "plan_running")
    assert_error(approver.post(f"/api/v1/runs/{first.pk}/approve/"), 409, "plan_running")
    first.mark_stale("Superseded.")
    assert_error(approver.post(f"/api/v1/runs/{first.pk}/approve/"), 409, "stale")


def test_discard_by_the_author_is_202_then_409(developer, registered):
    _, change = registered
    run = planned(change)[0]

    response = developer.post(f"/api/v1/runs/{run.pk}/discard/")
    again = developer.post(f"/api/v1/runs/{run.pk}/discard/")

    assert response.status_code == 202 and response.json()["status"] == "discarded"
    assert {r.status for r in Run.objects.filter(change=change)} == {RunStatus.DISCARDED}
    assert_error(again, 409, "not_discardable")


def test_discard_by_another_developer_is_403(api, registered):
    _, change = registered
    run = planned(change)[0]

    assert_error(api("other-dev", "developers").post(f"/api/v1/runs/{run.pk}/discard/"), 403, "not_allowed")
    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_APPROVAL


# --- schema --------------------------------------------------------------------------------------


def test_schema_and_docs_are_served_without_a_token():
    schema = APIClient().get("/api/schema/", {"format": "json"})
    docs = APIClient().get("/api/docs/")

    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/runs/{id}/approve/" in paths
    assert set(paths["/api/v1/runs/{id}/approve/"]["post"]["responses"]) == {"202", "401", "403", "404", "409"}
    assert docs.status_code == 200 and b"swagger-ui" in docs.content


def test_a_body_in_a_media_type_the_api_does_not_read_is_a_documented_415(api):
    """DRF refuses it before any view runs; the schema says so for every operation that reads a body,
    and no operation without one claims it."""
    admin = api("root", "admins")
    operations = APIClient().get("/api/schema/", {"format": "json"}).json()["paths"]
    reading = [(path, method) for path, ops in operations.items() for method, op in ops.items() if "requestBody" in op]
    assert ("/api/v1/services/", "post") in reading and ("/api/v1/administrators/", "post") in reading
    for path, ops in operations.items():
        for method, op in ops.items():
            assert ("415" in op["responses"]) == ((path, method) in reading), (path, method)

    before = Service.objects.count()
    for body in (b"name=x", b"\x00"):
        for content_type in ("", "text/plain", "application/xml"):
            assert_error(admin.generic("POST", SERVICES, body, content_type=content_type), 415, "unsupported_media_type")
    assert_error(admin.generic("POST", "/api/v1/administrators/", b"x", content_type=""), 415, "unsupported_media_type")
    assert Service.objects.count() == before


def test_unknown_api_path_and_bad_page_size_answer_in_json(developer):
    assert_error(developer.get("/api/v1/no-such-thing/"), 404, "not_found")
    assert_error(developer.get("/api/v1/runs/not-a-uuid/"), 404, "not_found")
    body = assert_error(developer.get(SERVICES, {"page_size": 0}), 400, "invalid")
    assert list(body["fields"]) == ["page_size"]


# --- the token page ------------------------------------------------------------------------------


def test_token_page_shows_a_new_key_once_and_revoking_it_ends_its_use(client, make_user):
    user = make_user("pipeline-owner", "developers")
    client.force_login(user)

    form = {"label": "sourcing pipeline", "scope": "read", "days": "30", "password": "pw-pipeline-owner"}
    issued = client.post("/tokens/", form).content.decode()
    key = issued.split('<code id="new-key">')[1].split("</code>")[0]
    later = client.get("/tokens/").content.decode()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    before = api.get(SERVICES).status_code
    token = ApiToken.objects.get(user=user)
    client.post(f"/tokens/{token.pk}/revoke/")

    assert before == 200
    assert key not in later and "sourcing pipeline" in later and f"…{key[-4:]}" in later
    assert_error(api.get(SERVICES), 401, "token_revoked")


def test_token_page_refuses_an_empty_label_and_other_users_tokens(client, make_user):
    owner, other = make_user("owner", "developers"), make_user("other", "developers")
    token, _ = ApiToken.objects.issue(owner, label="mine")
    client.force_login(other)

    refused = client.post("/tokens/", {"label": "", "scope": "read", "days": "30", "password": "pw-other"})
    revoke = client.post(f"/tokens/{token.pk}/revoke/")

    assert refused.status_code == 400 and b"This field is required." in refused.content and b'id="new-key"' not in refused.content
    assert revoke.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None and ApiToken.objects.filter(user=other).count() == 0
