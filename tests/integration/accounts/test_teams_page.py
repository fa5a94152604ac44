"""The Teams page and moving a service: admins make teams and change who is in them; everyone else
reads them. Every change is audited; bad input is a 400 that changes nothing."""

import pytest

from portal.access.models import Membership, Team
from portal.audit.models import AuditEvent
from portal.catalog.onboarding import register_service
from tests.builders import a_team
from tests.conftest import api_for


@pytest.fixture
def admin(make_user):
    return make_user("the-admin", "admins", team=None)


@pytest.mark.django_db
def test_an_admin_creates_a_team_and_adds_and_removes_a_member(client, admin, make_user):
    member = make_user("mia", "developers", team=None)
    client.force_login(admin)
    assert client.post("/teams/", {"name": "billing", "description": "Invoices"}).status_code == 302
    team = Team.objects.get(name="billing")
    assert client.post("/teams/billing/members/", {f"team-{team.pk}-username": "mia"}).status_code == 302
    assert list(team.members.all()) == [member]
    page = client.get("/teams/").content.decode()
    assert 'id="team-billing"' in page and "mia" in page
    assert client.post("/teams/billing/members/mia/remove/").status_code == 302
    assert not team.members.exists()
    assert list(AuditEvent.objects.filter(action__startswith="team.").order_by("id").values_list("action", "details__member")) == [
        ("team.create", None),
        ("team.member_add", "mia"),
        ("team.member_remove", "mia"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, says",
    [("Billing", "Lowercase letters"), ("-billing", "Lowercase letters"), ("art", "A team with this name exists"), ("x" * 64, "at most 63")],
)
def test_a_bad_team_name_is_refused_and_nothing_is_made(client, admin, name, says):
    a_team("art")
    client.force_login(admin)
    response = client.post("/teams/", {"name": name})
    assert response.status_code == 400 and says in response.content.decode()
    assert list(Team.objects.values_list("name", flat=True)) == ["art"]
    assert not AuditEvent.objects.filter(action="team.create").exists()


@pytest.mark.django_db
def test_adding_someone_unknown_or_twice_is_refused(client, admin, make_user):
    make_user("mia", "developers", team="art")
    team = Team.objects.get(name="art")
    client.force_login(admin)
    for username, says in [("nobody", "Nobody has this username"), ("mia", "mia is in art already")]:
        response = client.post("/teams/art/members/", {f"team-{team.pk}-username": username})
        assert response.status_code == 400 and says in response.content.decode()
    assert Membership.objects.count() == 1


@pytest.mark.django_db
def test_a_developer_reads_the_teams_but_changes_nothing(client, make_user):
    developer = make_user("dev", "developers", team="art")
    client.force_login(developer)
    page = client.get("/teams/").content.decode()
    assert 'id="team-art"' in page and "your team" in page and 'id="team-form"' not in page
    response = client.post("/teams/", {"name": "mine"})
    assert response.status_code == 403 and "Teams and their members are managed by an admin" in response.content.decode()
    assert client.post("/teams/art/members/dev/remove/").status_code == 403
    assert not Team.objects.filter(name="mine").exists() and developer.memberships.exists()


@pytest.mark.django_db
def test_a_moved_service_is_the_new_team_s_to_change(client, admin, make_user, service_form_data, parked_queue):
    developer = make_user("dev", "developers", team="art")
    newcomer = make_user("new-dev", "developers", team="blue")
    service, _ = register_service(developer, **service_form_data)
    client.force_login(developer)
    assert client.get(f"/services/{service.name}/move/").status_code == 403

    client.force_login(admin)
    assert client.post(f"/services/{service.name}/move/", {"team": "nowhere"}).status_code == 400
    assert client.post(f"/services/{service.name}/move/", {"team": "art"}).status_code == 400  # already there
    assert client.post(f"/services/{service.name}/move/", {"team": "blue"}).status_code == 302
    service.refresh_from_db()
    assert service.team.name == "blue"
    event = AuditEvent.objects.get(action="service.move")
    assert (event.details["from_team"], event.details["to_team"], event.actor) == ("art", "blue", admin)

    change = {"cpu": 512, "memory": 1024}
    assert api_for(developer).patch(f"/api/v1/services/{service.name}/", change, format="json").status_code == 403
    assert api_for(newcomer).patch(f"/api/v1/services/{service.name}/", change, format="json").status_code == 200


@pytest.mark.django_db
def test_a_team_that_could_not_exist_is_a_clear_answer_never_a_server_error(client, admin, make_user, service_form_data, parked_queue):
    developer = make_user("dev", "developers", team="art")
    service, _ = register_service(developer, **service_form_data)
    client.force_login(admin)
    assert client.post("/teams/bad%00name/members/", {"x": "y"}).status_code == 404
    assert client.post("/teams/art/members/de%00v/remove/").status_code == 404
    assert client.post(f"/services/{service.name}/move/", {"team": "bl\x00ue"}).status_code == 400
    api = api_for(developer)
    assert api.get("/api/v1/services/", {"team": "a\x00rt"}).status_code == 400
    response = api.post("/api/v1/services/", {**service_form_data, "name": "other-name", "team": "a\x00rt"}, format="json")
    assert response.status_code == 400 and "team" in response.json()["fields"]
    client.force_login(developer)
    assert client.get("/runs/", {"team": "a\x00rt"}).status_code == 400
    assert client.get("/services/", {"team": "a\x00rt"}).status_code == 400
