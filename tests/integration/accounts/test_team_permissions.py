"""Who may do what, by team: one table over (role, the service's team is theirs or another's, action),
and for every cell the page and the API give the same answer, because both ask the one function of
portal.access.permissions for the action.

Before teams, every cell of the "other team" column answered as the "own team" column does: the
cells where the two columns differ below are the ones the old code got wrong
(16 of the 108).
"""

import pytest
from django.test import override_settings

from portal.catalog.models import Service
from portal.catalog.onboarding import register_service
from portal.runs.models import Run
from tests.builders import a_team
from tests.conftest import api_for, record_plan

ROLES = {"developer": ("developers",), "approver": ("approvers",), "admin": ("admins",)}
RELATIONS = ("own", "other")
ACTIONS = ("read", "read_log", "register", "change", "deploy", "decommission", "approve", "discard", "cancel")
SURFACES = ("page", "api")

# What each role may do to a service of its own team and of another team. Admins act for every team.
ALLOWED = {
    ("developer", "own"): {"read", "read_log", "register", "change", "deploy"},
    ("developer", "other"): {"read"},
    ("approver", "own"): {"read", "read_log", "approve", "discard", "cancel"},
    ("approver", "other"): {"read"},
    ("admin", "own"): set(ACTIONS),
    ("admin", "other"): set(ACTIONS),
}


@pytest.fixture
def cast(make_user, parked_queue):
    """The actor's team is `art`; each team's services are registered by an author of that team."""
    a_team("art"), a_team("blue")
    return {
        "art": make_user("author-art", "developers", "approvers", team="art"),
        "blue": make_user("author-blue", "developers", "approvers", team="blue"),
    }


def a_service(cast, team: str, form_data, name: str):
    service, change = register_service(cast[team], **{**form_data, "name": name}, team=a_team(team))
    return service, change


def planned(change):
    for run in change.runs_in_order():
        record_plan(run)
    return change


# Each action: (page request, API request) for the service's state built here; each returns a response.
def do(action: str, surface: str, actor, cast, team: str, form_data):
    from django.test import Client

    page = Client()
    page.force_login(actor)
    api = api_for(actor)
    name = f"svc-{team}-{action}"[:40].replace("_", "-")
    if action == "register":
        body = {**form_data, "name": name, "team": team}
        if surface == "page":
            return page.post("/services/register/", body)
        return api.post("/api/v1/services/", body, format="json")
    service, change = a_service(cast, team, form_data, name)
    run = change.runs_in_order()[0]
    if action == "read":
        return page.get(f"/services/{service.name}/") if surface == "page" else api.get(f"/api/v1/services/{service.name}/")
    if action == "read_log":
        return page.get(f"/runs/{run.pk}/log/") if surface == "page" else api.get(f"/api/v1/runs/{run.pk}/log/")
    if action in ("change", "deploy"):
        # Before the first apply a change builds on the proposed revision; the page sends the whole form.
        edit = {"cpu": 512, "memory": 1024} if action == "change" else {"image_tag": "2.0.0"}
        if surface == "page":
            return page.post(f"/services/{service.name}/change/", {**service.base_revision().declaration(), **edit, "secrets": ""})
        if action == "change":
            return api.patch(f"/api/v1/services/{service.name}/", edit, format="json")
        return api.post(f"/api/v1/services/{service.name}/deployments/", edit, format="json")
    if action == "decommission":
        if surface == "page":
            return page.post(f"/services/{service.name}/decommission/", {"confirm_name": service.name})
        return api.delete(f"/api/v1/services/{service.name}/")
    if action in ("approve", "discard"):
        planned(change)
        if surface == "page":
            return page.post(f"/changes/{change.pk}/{action}/")
        return api.post(f"/api/v1/runs/{run.pk}/{action}/")
    if action == "cancel":
        return page.post(f"/runs/{run.pk}/cancel/") if surface == "page" else api.post(f"/api/v1/runs/{run.pk}/cancel/")
    raise AssertionError(action)


def allowed(response) -> bool:
    """A page that did the thing answers 200 or redirects; the API answers 2xx. A refusal of who
    asks is a 403 on both."""
    assert response.status_code in (200, 201, 202, 302, 403), (response.status_code, response.content[:500])
    return response.status_code != 403


CELLS = [(role, relation, action, surface) for role in ROLES for relation in RELATIONS for action in ACTIONS for surface in SURFACES]


@pytest.mark.django_db
@pytest.mark.parametrize("role,relation,action,surface", CELLS, ids=["-".join(cell) for cell in CELLS])
def test_the_permission_table(role, relation, action, surface, cast, make_user, service_form_data):
    actor = make_user(f"the-{role}", *ROLES[role], team="art")
    team = "art" if relation == "own" else "blue"
    response = do(action, surface, actor, cast, team, service_form_data)
    expected = action in ALLOWED[(role, relation)]
    assert allowed(response) == expected, response.content[:800]
    if not expected and surface == "api":
        assert response.json()["code"] in {"other_team", "no_role", "not_approver", "not_allowed"}, response.json()


@pytest.mark.django_db
def test_a_refused_action_changes_nothing(cast, make_user, service_form_data):
    actor = make_user("the-developer", "developers", team="art")
    service, _ = a_service(cast, "blue", service_form_data, "canvas-api")
    revisions, runs = service.revisions.count(), Run.objects.count()
    response = api_for(actor).patch(f"/api/v1/services/{service.name}/", {"cpu": 512, "memory": 1024}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"].startswith("canvas-api belongs to the team blue")
    assert (service.revisions.count(), Run.objects.count()) == (revisions, runs)


@pytest.mark.django_db
def test_another_team_s_logs_and_plans_stay_closed_while_its_declaration_is_open(cast, make_user, service_form_data, client):
    actor = make_user("the-developer", "developers", team="art")
    service, change = a_service(cast, "blue", service_form_data, "canvas-api")
    client.force_login(actor)
    assert client.get(f"/services/{service.name}/").status_code == 200
    assert client.get(f"/changes/{change.pk}/").status_code == 403
    assert client.get(f"/runs/{change.runs_in_order()[0].pk}/").status_code == 403
    # The runs page lists only the runs the user may open.
    own, _ = a_service(cast, "art", service_form_data, "easel-api")
    listed = client.get("/runs/").content.decode()
    assert "easel-api" in listed and "canvas-api" not in listed


@pytest.mark.django_db
def test_a_closed_catalogue_hides_other_teams_services(cast, make_user, service_form_data, client):
    actor = make_user("the-developer", "developers", team="art")
    a_service(cast, "blue", service_form_data, "canvas-api")
    a_service(cast, "art", service_form_data, "easel-api")
    api = api_for(actor)
    with override_settings(PORTAL_CATALOGUE_OPEN=False):
        names = [row["name"] for row in api.get("/api/v1/services/").json()["results"]]
        assert names == ["easel-api"]
        assert api.get("/api/v1/services/canvas-api/").status_code == 403
        client.force_login(actor)
        assert client.get("/services/canvas-api/").status_code == 403
    assert len(api.get("/api/v1/services/").json()["results"]) == 2


@pytest.mark.django_db
def test_listings_filter_by_team(cast, make_user, service_form_data, client):
    actor = make_user("the-admin", "admins", team="art")
    a_service(cast, "blue", service_form_data, "canvas-api")
    a_service(cast, "art", service_form_data, "easel-api")
    api = api_for(actor)
    assert [row["name"] for row in api.get("/api/v1/services/?team=blue").json()["results"]] == ["canvas-api"]
    assert [row["name"] for row in api.get("/api/v1/services/?team=mine").json()["results"]] == ["easel-api"]
    refused = api.get("/api/v1/services/?team=nobody")
    assert refused.status_code == 400 and "team" in refused.json()["fields"]
    client.force_login(actor)
    page = client.get("/runs/?team=blue").content.decode()
    assert "canvas-api" in page and "easel-api" not in page
    assert client.get("/runs/?team=nobody").status_code == 400


@pytest.mark.django_db
def test_registration_names_one_of_the_user_s_teams(make_user, service_form_data, parked_queue):
    a_team("blue")
    in_two = make_user("two-teams", "developers", team="art")
    in_two.memberships.create(team=a_team("blue"))
    api = api_for(in_two)
    response = api.post("/api/v1/services/", service_form_data, format="json")
    assert response.status_code == 400 and "team" in response.json()["fields"]
    response = api.post("/api/v1/services/", {**service_form_data, "team": "blue"}, format="json")
    assert response.status_code == 201 and response.json()["service"]["team"] == "blue"
    nobody = make_user("no-team", "developers", team=None)
    response = api_for(nobody).post("/api/v1/services/", {**service_form_data, "name": "other-name"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "no_team"
    assert not Service.objects.filter(name="other-name").exists()


@pytest.mark.parametrize("value", ["treu", "closed", ""])
def test_a_catalogue_setting_that_is_not_true_or_false_stops_the_portal_at_start(value):
    from tests.integration.settings.test_safe_defaults import django_process

    refused = django_process({"DJANGO_DEBUG": "1", "PORTAL_CATALOGUE_OPEN": value}, "check")
    assert refused.returncode != 0 and "PORTAL_CATALOGUE_OPEN must be true or false" in refused.stderr
