"""Logins that resist guessing: failed logins lock the account, and an address that guesses across
accounts, for a while (the right password included); a success clears its account's failures; the
audit trail has every failure and each lockout; a weak password is refused where passwords are set.
Real PostgreSQL (django-axes counts in it); the lockout page in Chromium at 390 and 1440 px is
tests/browser/accounts/test_login_pages_browser.py."""

import base64
import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from portal.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

HOME, OTHER_HOME = "198.51.100.7", "203.0.113.9"


@pytest.fixture
def accounts(django_user_model):
    return {name: django_user_model.objects.create_user(name, password=f"right-{name}-horse") for name in ("alice", "bob", "carol", "dave", "erin", "frank")}


def log_in(client, username: str, password: str, address: str = HOME):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_limit_of_failures_locks_the_account_until_the_lockout_ends_right_password_included(client, accounts, settings):
    assert settings.LOGIN_FAILURE_LIMIT == 5 and settings.LOGIN_LOCKOUT_SECONDS == 900
    for _ in range(4):
        response = log_in(client, "alice", "wrong")
        assert response.status_code == 200 and "Please enter a correct username and password" in response.content.decode()
    before = timezone.now()
    response = log_in(client, "alice", "wrong")
    page = response.content.decode()
    assert response.status_code == 429 and "This account is locked" in page
    shown = {f"Try again after {(moment + timedelta(seconds=900)):%H:%M} UTC" for moment in (before, timezone.now())}
    assert any(text in page for text in shown), "the failure's time plus the lockout's 15 minutes"

    response = log_in(client, "alice", "right-alice-horse")
    assert response.status_code == 429 and not logged_in(client), "the right password does not get in while locked"
    assert log_in(client, "alice", "right-alice-horse", OTHER_HOME).status_code == 429, "the account, from anywhere"
    assert log_in(client, "bob", "right-bob-horse").status_code == 302 and logged_in(client), "other accounts are not locked"


@pytest.mark.django_db(transaction=True)
def test_guesses_sent_at_once_take_turns_so_no_more_than_the_limit_are_checked(accounts, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from django.db import connection
    from django.test import Client

    checked = []
    real_check = get_user_model().check_password
    monkeypatch.setattr(get_user_model(), "check_password", lambda user, raw: checked.append(raw) or real_check(user, raw))
    gate = Barrier(12)

    def guess(n: int) -> int:
        gate.wait()
        try:
            return log_in(Client(), "alice", f"burst-{n}").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(guess, range(12)))
    assert len(checked) == 5, f"12 at once: {len(checked)} passwords checked, the limit is 5"
    assert sorted(statuses) == [200] * 4 + [429] * 8


def test_the_admin_sites_login_counts_and_locks_alike(client, accounts):
    url = reverse("admin:login")
    statuses = [client.post(url, {"username": "alice", "password": "wrong"}, REMOTE_ADDR=HOME).status_code for _ in range(5)]
    assert statuses == [200] * 4 + [429]
    assert log_in(client, "alice", "right-alice-horse").status_code == 429, "the same count as the portal's page"


def test_the_lockout_ends_after_its_time(client, accounts, settings):
    settings.AXES_COOLOFF_TIME = timedelta(seconds=2)
    for _ in range(5):
        log_in(client, "alice", "wrong")
    assert log_in(client, "alice", "right-alice-horse").status_code == 429
    from axes.models import AccessAttempt

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(seconds=3))  # time passes
    assert log_in(client, "alice", "right-alice-horse").status_code == 302 and logged_in(client)


def test_the_api_takes_no_password_and_its_tokens_work_while_the_account_is_locked(client, accounts, groups):
    """Guessing at alice's password must not stop her pipeline: the API's keys are random, never guessed."""
    from rest_framework.test import APIClient

    from tests.conftest import api_for

    accounts["alice"].groups.add(Group.objects.get(name="developers"))
    for _ in range(5):
        log_in(client, "alice", "wrong")
    assert log_in(client, "alice", "right-alice-horse").status_code == 429
    assert api_for(accounts["alice"]).get("/api/v1/services/", REMOTE_ADDR=HOME).status_code == 200
    basic = APIClient()
    basic.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"bob:right-bob-horse").decode())
    assert basic.get("/api/v1/services/").status_code == 401, "no password is taken by the API"


def test_an_address_guessing_across_accounts_is_locked_out_whatever_the_account(client, accounts, settings):
    assert settings.LOGIN_ADDRESS_FAILURE_LIMIT == 20
    names = ["alice", "bob", "carol", "dave", "erin"]
    statuses = [log_in(client, name, "wrong").status_code for name in names for _ in range(4)]
    assert statuses == [200] * 19 + [429], "4 tries of each of 5 accounts: no account at its limit, the address at its"
    response = log_in(client, "frank", "right-frank-horse")
    assert response.status_code == 429 and "Logins from your address are locked" in response.content.decode()
    assert not logged_in(client)
    assert log_in(client, "frank", "right-frank-horse", OTHER_HOME).status_code == 302, "only that address"


def test_a_success_clears_the_accounts_failures_but_not_the_addresss(client, accounts, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 10
    for _ in range(4):
        log_in(client, "alice", "wrong")
    assert log_in(client, "alice", "right-alice-horse").status_code == 302
    client.logout()
    assert [log_in(client, "alice", "wrong").status_code for _ in range(5)] == [200] * 4 + [429], "a fresh allowance of 5"

    # A good login to one account does not buy the address more guesses at another.
    for _ in range(4):
        log_in(client, "bob", "wrong", OTHER_HOME)
    assert log_in(client, "carol", "right-carol-horse", OTHER_HOME).status_code == 302
    client.logout()
    assert [log_in(client, "dave", "wrong", OTHER_HOME).status_code for _ in range(4)] == [200] * 4
    assert [log_in(client, "erin", "wrong", OTHER_HOME).status_code for _ in range(2)] == [200, 429], "bob's 4 + dave's 4 + erin's 2 = 10"


def test_the_audit_trail_has_every_failure_and_the_lockout_once(client, accounts):
    first = (AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    for _ in range(7):
        log_in(client, "alice", "guess-123")
    log_in(client, "nobody-such", "guess-123", OTHER_HOME)
    events = list(AuditEvent.objects.filter(id__gte=first).order_by("id"))

    failures = [e for e in events if e.action == "user.login_failed"]
    assert len(failures) == 8
    assert {(e.details["username"], e.address, e.actor_id) for e in failures[:7]} == {("alice", HOME, None)}
    assert failures[0].object_type == "auth.user" and failures[0].object_id == str(accounts["alice"].pk)
    assert (failures[7].details, failures[7].address, failures[7].object_type) == ({"username": "nobody-such"}, OTHER_HOME, "")

    lockouts = [e for e in events if e.action == "user.locked_out"]
    assert len(lockouts) == 1, "once, when the limit is reached; tries while locked are failures"
    lockout = lockouts[0]
    assert lockout.address == HOME and lockout.object_id == str(accounts["alice"].pk)
    assert lockout.details["username"] == "alice" and lockout.details["locked"] == ["account"]
    assert lockout.details["account_failures"] == 5 and "until" in lockout.details
    assert "guess-123" not in str([e.as_json for e in events]), "never the password tried"

    admin = get_user_model().objects.create_superuser("auditor", password="auditors-long-password")
    client.force_login(admin)
    page = client.get(reverse("audit:list"), {"action": "user.locked_out"}).content.decode()
    assert "user.locked_out" in page and "alice" in page and HOME in page and "someone not logged in" in page


def test_a_weak_password_is_refused_in_the_admin_site(client, accounts):
    admin = get_user_model().objects.create_superuser("root", password="a-long-admin-password")
    client.force_login(admin)
    response = client.post(
        reverse("admin:auth_user_add"),
        {"username": "newbie", "password1": "password", "password2": "password", "usable_password": "true"},
    )
    page = response.content.decode()
    assert response.status_code == 200 and "This password is too common" in page and "at least 12 characters" in page
    assert not get_user_model().objects.filter(username="newbie").exists()

    alice = accounts["alice"]
    response = client.post(reverse("admin:auth_user_password_change", args=[alice.pk]), {"password1": "12345678901234", "password2": "12345678901234"})
    assert response.status_code == 200 and "This password is entirely numeric" in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password("right-alice-horse"), "unchanged"

    new_password = {"password1": "a-far-better-passphrase", "password2": "a-far-better-passphrase"}
    response = client.post(reverse("admin:auth_user_password_change", args=[alice.pk]), new_password)
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("a-far-better-passphrase")


def test_createsuperuser_refuses_a_weak_password(monkeypatch):
    from django.contrib.auth.management.commands import createsuperuser
    from django.core.management import call_command

    passwords = iter(["password", "password", "correct-battery-staple-9", "correct-battery-staple-9"])
    monkeypatch.setattr(createsuperuser.getpass, "getpass", lambda prompt="": next(passwords))
    monkeypatch.setattr("builtins.input", lambda prompt="": "n")  # "Bypass password validation?" no
    said = io.StringIO()
    call_command("createsuperuser", interactive=True, username="boss", email="", stdin=TTY(), stdout=io.StringIO(), stderr=said)
    assert "This password is too common" in said.getvalue()
    assert get_user_model().objects.get(username="boss").check_password("correct-battery-staple-9")


class TTY(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(
    "name, value, says",
    [
        ("PORTAL_LOGIN_FAILURE_LIMIT", "0", "PORTAL_LOGIN_FAILURE_LIMIT must be a whole number from 1 to 100"),
        ("PORTAL_LOGIN_FAILURE_LIMIT", "five", "PORTAL_LOGIN_FAILURE_LIMIT must be a whole number from 1 to 100"),
        ("PORTAL_LOGIN_ADDRESS_FAILURE_LIMIT", "3", "PORTAL_LOGIN_ADDRESS_FAILURE_LIMIT must be a whole number from PORTAL_LOGIN_FAILURE_LIMIT"),
        ("PORTAL_LOGIN_LOCKOUT_SECONDS", "0", "PORTAL_LOGIN_LOCKOUT_SECONDS must be a whole number of seconds"),
        ("PORTAL_PASSWORD_MIN_LENGTH", "6", "PORTAL_PASSWORD_MIN_LENGTH must be a whole number from 8 to 128"),
    ],
)
def test_a_login_setting_out_of_range_stops_the_portal_at_start(name, value, says):
    from tests.integration.settings.test_safe_defaults import django_process

    refused = django_process({"DJANGO_DEBUG": "1", name: value}, "check")
    assert refused.returncode != 0 and says in refused.stderr
