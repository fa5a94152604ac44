"""API tokens have a scope, an end and optionally one service: each request with a token is asked
what the token allows (portal.access.permissions.token_allows) and what its user may; an ended
token is 401; a password change or leaving a team revokes what no longer holds; issuing on the
page asks the password again. Real PostgreSQL (and django-axes counting in it)."""

import io
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import URLPattern, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from portal.access.models import Membership, Team
from portal.api.models import ApiToken
from portal.audit.models import AuditEvent
from portal.catalog.onboarding import register_service
from portal.runs.models import Run, RunStatus
from tests.conftest import record_plan

pytestmark = pytest.mark.django_db

SERVICES = "/api/v1/services/"


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def answer(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    if code is not None:
        assert body["code"] == code and body["detail"], body
    return body


@pytest.fixture
def world(make_user, service_form_data):
    """The art team's lead (developer and approver) and a colleague who registered two services, both
    planned and awaiting approval; the billing team's service, registered by its own developer."""
    lead = make_user("lead", "developers", "approvers")
    author = make_user("author", "developers")
    billing_dev = make_user("billing-dev", "developers", team="billing")
    art, art_change = register_service(author, **service_form_data)
    other_art, other_change = register_service(author, **{**service_form_data, "name": "art-other"})
    billing, _ = register_service(billing_dev, **{**service_form_data, "name": "billing-service"})
    for change in (art_change, other_change):
        for run in change.runs_in_order():
            record_plan(run)
    return {
        "lead": lead,
        "art": art,
        "art-run": art_change.runs_in_order()[-1],
        "other-art": other_art,
        "other-art-run": other_change.runs_in_order()[-1],
        "billing": billing,
    }


def send(client, request: str, world):
    """One request of the table below, by name."""
    art, billing = world["art"].name, world["billing"].name
    return {
        "GET service": lambda: client.get(f"{SERVICES}{art}/"),
        "PATCH service": lambda: client.patch(f"{SERVICES}{art}/", {"cpu": 512}, format="json"),
        "POST deployment own team": lambda: client.post(f"{SERVICES}{art}/deployments/", {"image_tag": "1.1.0"}, format="json"),
        "POST deployment other team": lambda: client.post(f"{SERVICES}{billing}/deployments/", {"image_tag": "1.1.0"}, format="json"),
        "approve": lambda: client.post(f"/api/v1/runs/{world['art-run'].pk}/approve/"),
    }[request]()


# (status, code) per scope; the user (a developer and approver of the art team) may do every request
# but the other team's deployment, which write refuses for the user's own reason.
MATRIX = {
    "GET service": {"read": (200, None), "deploy": (200, None), "write": (200, None)},
    "PATCH service": {"read": (403, "token_scope"), "deploy": (403, "token_scope"), "write": (200, None)},
    "POST deployment own team": {"read": (403, "token_scope"), "deploy": (201, None), "write": (201, None)},
    "POST deployment other team": {"read": (403, "token_scope"), "deploy": (403, "token_team"), "write": (403, "other_team")},
    "approve": {"read": (403, "token_scope"), "deploy": (403, "token_scope"), "write": (202, None)},
}


@pytest.mark.parametrize("scope", ["read", "deploy", "write"])
@pytest.mark.parametrize("request_name", list(MATRIX))
def test_each_scope_allows_only_its_requests(world, scope, request_name):
    _, key = ApiToken.objects.issue(world["lead"], "ci", scope=scope)
    status, code = MATRIX[request_name][scope]

    response = send(client_with(key), request_name, world)

    answer(response, status, code)
    if status == 403:
        assert not Run.objects.filter(status=RunStatus.APPROVED).exists(), "a refusal changes nothing"
        assert world["art"].revisions.count() == 1


def test_a_token_bound_to_one_service_acts_and_reads_runs_of_that_one_only(world):
    _, key = ApiToken.objects.issue(world["lead"], "ci", scope="write", service=world["art"])
    client = client_with(key)
    other = world["other-art"].name

    answer(client.get(f"/api/v1/runs/{world['art-run'].pk}/"), 200)
    answer(client.get(f"{SERVICES}{other}/"), 200)  # the catalogue stays readable
    answer(client.get(SERVICES), 200)
    answer(client.get(f"/api/v1/runs/{world['other-art-run'].pk}/"), 403, "token_service")
    answer(client.get(f"/api/v1/runs/{world['other-art-run'].pk}/log/"), 403, "token_service")
    answer(client.post(f"{SERVICES}{other}/deployments/", {"image_tag": "1.1.0"}, format="json"), 403, "token_service")
    answer(client.patch(f"{SERVICES}{other}/", {"cpu": 512}, format="json"), 403, "token_service")
    answer(client.post(f"/api/v1/runs/{world['other-art-run'].pk}/approve/"), 403, "token_service")
    body = answer(client.post(SERVICES, {"name": "brand-new"}, format="json"), 403, "token_service")
    assert body["detail"] == f"This token is for the service {world['art'].name} only: it cannot register a service."
    answer(client.post(f"{SERVICES}{world['art'].name}/deployments/", {"image_tag": "1.1.0"}, format="json"), 201)
    assert world["other-art"].revisions.count() == 1


def test_a_deploy_token_registers_nothing_and_reads_no_more_than_its_user(world, make_user):
    _, deploy = ApiToken.objects.issue(world["lead"], "ci", scope="deploy")
    admin = make_user("boss", "admins")
    _, admin_deploy = ApiToken.objects.issue(admin, "ci", scope="deploy")
    _, admin_write = ApiToken.objects.issue(admin, "ops", scope="write")
    billing = f"{SERVICES}{world['billing'].name}/deployments/"

    answer(client_with(deploy).post(SERVICES, {"name": "brand-new"}, format="json"), 403, "token_scope")
    answer(client_with(deploy).delete(f"{SERVICES}{world['art'].name}/"), 403, "token_scope")
    answer(client_with(deploy).get("/api/v1/audit/"), 403, "no_role")  # the user's own refusal
    # An admin's deploy token deploys to the admin's own teams only; with write, the admin's reach.
    answer(client_with(admin_deploy).post(billing, {"image_tag": "1.1.0"}, format="json"), 403, "token_team")
    answer(client_with(admin_write).post(billing, {"image_tag": "1.1.0"}, format="json"), 201)


def test_an_expired_token_is_401_and_says_when_it_ended(world):
    token, key = ApiToken.objects.issue(world["lead"], "ci", scope="write", days=1)
    now = timezone.now()
    ApiToken.objects.filter(pk=token.pk).update(created_at=now - timedelta(days=2), expires_at=now - timedelta(minutes=1))

    body = answer(client_with(key).get(SERVICES), 401, "token_expired")
    refused_write = answer(send(client_with(key), "POST deployment own team", world), 401, "token_expired")

    assert "expired on" in body["detail"] and "UTC" in body["detail"]
    assert refused_write["detail"] == body["detail"]
    assert world["art"].revisions.count() == 1


def test_a_token_lasts_the_default_days_and_no_more_than_the_maximum(make_user, settings):
    user = make_user("lead", "developers")
    token, _ = ApiToken.objects.issue(user, "ci", scope="read")
    with pytest.raises(ValidationError) as too_long:
        ApiToken.objects.issue(user, "ci", scope="read", days=settings.TOKEN_MAX_DAYS + 1)

    assert (token.expires_at - token.created_at) == timedelta(days=settings.TOKEN_DEFAULT_DAYS)
    assert "days" in too_long.value.message_dict
    assert ApiToken.objects.count() == 1


# --- revocation ------------------------------------------------------------------------------------
def change_by_set_password(user, client, monkeypatch):
    user.set_password("a-new-long-passphrase")
    user.save()


def change_by_admin_page(user, client, monkeypatch):
    client.force_login(type(user).objects.create_superuser("root", password="a-long-admin-password"))
    response = client.post(
        reverse("admin:auth_user_password_change", args=[user.pk]),
        {"password1": "a-new-long-passphrase", "password2": "a-new-long-passphrase"},
    )
    assert response.status_code == 302 and response["Location"] != reverse("admin:login"), response.content


def change_by_command(user, client, monkeypatch):
    from django.contrib.auth.management.commands import changepassword

    monkeypatch.setattr(changepassword.getpass, "getpass", lambda prompt="": "a-new-long-passphrase")
    call_command("changepassword", user.username, stdout=io.StringIO())


def change_by_assigning_a_hash(user, client, monkeypatch):
    user.password = make_password("a-new-long-passphrase")
    user.save()


@pytest.mark.parametrize("way", ["set_password", "admin page", "changepassword", "hash assigned"])
def test_a_password_change_revokes_every_token_of_its_user(make_user, client, monkeypatch, way):
    lead, other = make_user("lead", "developers"), make_user("other", "developers")
    _, deploy = ApiToken.objects.issue(lead, "ci", scope="deploy")
    _, write = ApiToken.objects.issue(lead, "laptop", scope="write")
    _, others = ApiToken.objects.issue(other, "ci", scope="deploy")
    changes = {
        "set_password": change_by_set_password,
        "admin page": change_by_admin_page,
        "changepassword": change_by_command,
        "hash assigned": change_by_assigning_a_hash,
    }

    changes[way](lead, client, monkeypatch)

    for key in (deploy, write):
        body = answer(client_with(key).get(SERVICES), 401, "token_revoked")
        assert "password changed" in body["detail"]
    answer(client_with(others).get(SERVICES), 200)
    revoked = AuditEvent.objects.filter(action="token.revoke")
    assert sorted(e.details["reason"] for e in revoked) == ["password_changed", "password_changed"]
    assert {e.object_label for e in revoked} == {str(t) for t in ApiToken.objects.filter(user=lead)}


def test_a_login_that_rehashes_the_password_revokes_nothing(make_user, settings):
    lead = make_user("lead", "developers")  # hashed with MD5 (tests/conftest.py)
    _, key = ApiToken.objects.issue(lead, "ci", scope="deploy")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher", "django.contrib.auth.hashers.MD5PasswordHasher"]

    assert lead.check_password("pw-lead")  # upgrades the hash: user.save(update_fields=["password"])
    lead.refresh_from_db()
    assert lead.password.startswith("pbkdf2_sha256$")
    answer(client_with(key).get(SERVICES), 200)
    lead.last_name = "Lead"
    lead.save()  # any other change of the user, too
    answer(client_with(key).get(SERVICES), 200)


def test_leaving_a_team_revokes_the_tokens_that_no_longer_hold(world, make_user):
    lead, art = world["lead"], world["art"]
    search = Team.objects.create(name="search")
    Membership.objects.create(team=search, user=lead)
    bound, bound_key = ApiToken.objects.issue(lead, "art ci", scope="deploy", service=art)
    unbound_deploy, unbound_key = ApiToken.objects.issue(lead, "any ci", scope="deploy")
    write, write_key = ApiToken.objects.issue(lead, "laptop", scope="write")
    keep_other_user = make_user("colleague", "developers")
    _, colleague_key = ApiToken.objects.issue(keep_other_user, "ci", scope="deploy", service=art)

    Membership.objects.get(user=lead, team=art.team).delete()

    body = answer(client_with(bound_key).get(SERVICES), 401, "token_revoked")
    assert "left the team" in body["detail"]
    answer(client_with(unbound_key).get(SERVICES), 200)  # still in the search team: it may deploy there
    answer(client_with(write_key).get(SERVICES), 200)
    answer(client_with(colleague_key).get(SERVICES), 200)

    lead.teams.remove(search)  # the other way a membership ends: the same signal

    answer(client_with(unbound_key).get(SERVICES), 401, "token_revoked")  # in no team: it deploys nothing
    answer(client_with(write_key).get(SERVICES), 200)  # its user's permissions (no team) still apply
    events = AuditEvent.objects.filter(action="token.revoke").order_by("id")
    assert [(e.object_id, e.details["reason"], e.team) for e in events] == [
        (str(bound.pk), "left_team", art.team.name),
        (str(unbound_deploy.pk), "left_team", "search"),
    ]


# --- issuing -------------------------------------------------------------------------------------
def issue_form(**changes) -> dict:
    return {"label": "sourcing pipeline", "scope": "deploy", "service": "", "days": "30", "password": "pw-lead", **changes}


def test_the_page_issues_a_token_with_its_scope_service_and_end_after_the_password(client, world):
    client.force_login(world["lead"])

    response = client.post(reverse("tokens"), issue_form(service=str(world["art"].pk), days="7"))

    assert response.status_code == 200, response.content
    key = response.context["new_key"]
    token = ApiToken.objects.get()
    assert (token.scope, token.service, token.user) == ("deploy", world["art"], world["lead"])
    assert timedelta(days=7) - timedelta(minutes=1) < token.expires_at - timezone.now() <= timedelta(days=7)
    page = client.get(reverse("tokens")).content.decode()
    assert key not in page and "sourcing-data-service" in page and f"{token.expires_at:%Y-%m-%d %H:%M} UTC" in page
    answer(send(client_with(key), "POST deployment own team", world), 201)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"password": "not-my-password"}, "password"),
        ({"password": ""}, "password"),
        ({"days": "0"}, "days"),
        ({"days": "366"}, "days"),
        ({"days": "٣"}, "days"),
        ({"scope": "admin"}, "scope"),
    ],
)
def test_the_page_refuses_a_wrong_password_or_bad_choices_and_issues_nothing(client, world, changes, field):
    client.force_login(world["lead"])

    response = client.post(reverse("tokens"), issue_form(**changes))

    assert response.status_code == 400
    assert response.context["form"].errors[field] and response.context["new_key"] is None
    assert not ApiToken.objects.exists() and not AuditEvent.objects.filter(action="token.issue").exists()


def test_the_page_offers_only_services_of_the_users_teams(client, world):
    client.force_login(world["lead"])

    response = client.post(reverse("tokens"), issue_form(service=str(world["billing"].pk)))

    assert response.status_code == 400 and response.context["form"].errors["service"]
    assert "billing-service" not in client.get(reverse("tokens")).content.decode()
    assert not ApiToken.objects.exists()


def test_wrong_passwords_on_the_page_count_towards_the_lockout(client, world, settings):
    client.force_login(world["lead"])

    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert client.post(reverse("tokens"), issue_form(password="guess")).status_code == 400
    locked = client.post(reverse("tokens"), issue_form(password="guess"))
    right_but_locked = client.post(reverse("tokens"), issue_form())

    assert locked.status_code == 429 and right_but_locked.status_code == 429
    assert not ApiToken.objects.exists()
    failed = AuditEvent.objects.filter(action="user.login_failed")
    assert failed.count() >= settings.LOGIN_FAILURE_LIMIT and {e.details["username"] for e in failed} == {"lead"}
    assert AccessAttempt.objects.filter(username="lead").exists()
    assert AuditEvent.objects.filter(action="user.locked_out").count() == 1


def test_the_page_marks_expired_and_revoked_tokens(client, world):
    lead = world["lead"]
    expired, _ = ApiToken.objects.issue(lead, "old ci", scope="read", days=1)
    now = timezone.now()
    ApiToken.objects.filter(pk=expired.pk).update(created_at=now - timedelta(days=3), expires_at=now - timedelta(days=2))
    ApiToken.objects.issue(lead, "laptop", scope="write")
    client.force_login(lead)
    lead.set_password("a-new-long-passphrase")
    lead.save()
    client.force_login(lead)  # a password change ends the session too

    page = client.get(reverse("tokens")).content.decode()

    assert page.count('class="status status-revoked"') == 1 and "its user&#x27;s password changed" in page
    assert page.count('class="status status-expired"') == 1


# --- the operator's command ----------------------------------------------------------------------
def test_issue_token_takes_a_scope_days_and_a_service(world):
    out, err = io.StringIO(), io.StringIO()

    call_command("issue_token", "lead", "--scope", "deploy", "--days", "7", "--service", world["art"].name, stdout=out, stderr=err)

    token = ApiToken.objects.get()
    assert (token.scope, token.service, (token.expires_at - token.created_at).days) == ("deploy", world["art"], 7)
    assert out.getvalue().strip().endswith(token.hint) and "expires" in err.getvalue()


@pytest.mark.parametrize(
    "args, says",
    [
        (["--scope", "deploy", "--days", "0"], "--days: A token lasts from 1 to 365 days"),
        (["--scope", "deploy", "--service", "no-such-service"], "No live service named 'no-such-service'"),
        (["--scope", "deploy", "--service", "billing-service"], "--service: A deploy token is for your teams' services"),
    ],
)
def test_issue_token_refuses_what_the_page_refuses(world, args, says):
    with pytest.raises(CommandError, match=says):
        call_command("issue_token", "lead", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert not ApiToken.objects.exists()


def test_issue_token_needs_a_scope(world):
    with pytest.raises(CommandError, match="--scope"):
        call_command("issue_token", "lead", stdout=io.StringIO(), stderr=io.StringIO())


# --- the rules' one place --------------------------------------------------------------------------
def test_every_api_endpoint_says_what_each_method_is_for_tokens():
    from portal.api import urls
    from portal.api.scopes import TokenLimits

    unnamed = []
    for pattern in urls.urlpatterns:
        view = getattr(pattern.callback, "view_class", None) if isinstance(pattern, URLPattern) else None
        if view is None or view.__module__ != "portal.api.views" or view.__name__ == "NotFoundView":
            continue
        methods = {m.upper() for m in view.http_method_names if hasattr(view, m)} - {"HEAD", "OPTIONS"}
        if TokenLimits not in view.permission_classes or methods - set(getattr(view, "token_actions", {})):
            unnamed.append(view.__name__)
    assert not unnamed


# --- settings and the migration --------------------------------------------------------------------
@pytest.mark.parametrize(
    "env, says",
    [
        ({"PORTAL_TOKEN_MAX_DAYS": "0"}, "PORTAL_TOKEN_MAX_DAYS must be a whole number from 1 to 3650"),
        ({"PORTAL_TOKEN_MAX_DAYS": "3651"}, "PORTAL_TOKEN_MAX_DAYS must be a whole number from 1 to 3650"),
        ({"PORTAL_TOKEN_MAX_DAYS": "a year"}, "PORTAL_TOKEN_MAX_DAYS must be a whole number from 1 to 3650"),
        ({"PORTAL_TOKEN_DEFAULT_DAYS": "0"}, "PORTAL_TOKEN_DEFAULT_DAYS must be a whole number from 1 to PORTAL_TOKEN_MAX_DAYS"),
        (
            {"PORTAL_TOKEN_MAX_DAYS": "30", "PORTAL_TOKEN_DEFAULT_DAYS": "90"},
            "PORTAL_TOKEN_DEFAULT_DAYS must be a whole number from 1 to PORTAL_TOKEN_MAX_DAYS (30)",
        ),
    ],
)
def test_a_token_setting_out_of_range_stops_the_portal_at_start(env, says):
    from tests.integration.settings.test_safe_defaults import django_process

    refused = django_process({"DJANGO_DEBUG": "1", **env}, "check")
    assert refused.returncode != 0 and says in refused.stderr


@pytest.mark.django_db(transaction=True)
def test_tokens_from_before_scopes_keep_working_with_write_and_an_end_from_the_upgrade(django_user_model, settings):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("api", "0001_initial")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    user = old.get_model("auth", "User").objects.create(username="old-ci")
    OldToken = old.get_model("api", "ApiToken")
    key = "portal_old-key-from-before-scopes"
    from portal.api.models import digest

    long_ago = timezone.now() - timedelta(days=800)
    OldToken.objects.create(user=user, label="ci", digest=digest(key), hint=key[-4:], created_at=long_ago)
    OldToken.objects.create(user=user, label="gone", digest=digest("x"), hint="x", created_at=long_ago, revoked_at=long_ago)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    upgraded_at = timezone.now()
    executor.migrate(executor.loader.graph.leaf_nodes())

    live, revoked = ApiToken.objects.get(label="ci"), ApiToken.objects.get(label="gone")
    assert (live.scope, live.service, live.revoked_at) == ("write", None, None)
    ends = upgraded_at + timedelta(days=settings.TOKEN_DEFAULT_DAYS)
    assert ends - timedelta(minutes=1) < live.expires_at < ends + timedelta(minutes=1)
    assert revoked.revoked_reason == "by_hand"
    assert ApiToken.objects.for_key(key) == live
