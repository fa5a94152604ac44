"""Single sign-on with OpenID Connect against a real provider on loopback: oidc-provider-mock
(authlib's authorization server behind Flask), started by the tests on 127.0.0.1, with this portal as
a client it registered. The portal runs in the Django test client; its backend talks to the provider
over HTTP (discovery, token, keys, userinfo), and the test plays the browser between the two."""

import json
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import werkzeug.serving
from django.contrib.auth import get_user_model
from django.urls import reverse

from portal.access import sso_settings
from portal.access.models import Membership, SingleSignOnIdentity, Team
from portal.audit.models import AuditEvent
from tests.environment import free_port

pytestmark = pytest.mark.django_db

GROUP_MAP = {
    "art-devs": {"team": "art", "role": "developers"},
    "data-devs": {"team": "data", "role": "developers"},
    "release-managers": {"role": "approvers"},
    "observers": {"team": "observability"},
}
SSO_BACKEND = "portal.access.sso.SingleSignOnBackend"


class Provider:
    """The identity provider: its accounts (claims by subject) and the portal's client at it."""

    def __init__(self, url: str, portal: str = "http://testserver"):
        self.url = url
        registered = requests.post(
            f"{url}/oauth2/clients",
            json={"redirect_uris": [f"{portal}/oidc/callback/"], "token_endpoint_auth_method": "client_secret_post"},
            timeout=5,
        )
        registered.raise_for_status()
        self.client_id = registered.json()["client_id"]
        self.client_secret = registered.json()["client_secret"]

    def account(self, sub: str, **claims):
        requests.put(f"{self.url}/users/{sub}", json=claims, timeout=5).raise_for_status()


@pytest.fixture
def provider(provider_url):
    return Provider(provider_url)


@pytest.fixture
def provider_url(monkeypatch):
    import oidc_provider_mock

    # authlib refuses plain HTTP unless told: the provider is on loopback only.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    app = oidc_provider_mock.app(require_client_registration=True, require_nonce=True)
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def sso_environment(provider: Provider, **overrides) -> dict:
    return {
        "PORTAL_OIDC_ISSUER": provider.url,
        "PORTAL_OIDC_CLIENT_ID": provider.client_id,
        "PORTAL_OIDC_CLIENT_SECRET": provider.client_secret,
        "PORTAL_OIDC_PROVIDER_NAME": "Example ID",
        "PORTAL_OIDC_GROUP_MAP": json.dumps(GROUP_MAP),
        **overrides,
    }


@pytest.fixture
def sso_on(settings, provider, groups):
    """The portal as PORTAL_OIDC_* set for this provider makes it."""
    settings.PORTAL_OIDC = sso_settings.from_environment(sso_environment(provider))
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, SSO_BACKEND]
    return provider


def start_sign_in(client, next_url: str = "") -> str:
    """The portal's start: the provider's authorization URL the browser is sent to."""
    response = client.get(reverse("oidc_authentication_init") + (f"?next={next_url}" if next_url else ""))
    assert response.status_code == 302, response.content
    return response["Location"]


def at_provider(authorization_url: str, sub: str) -> str:
    """The person signs in at the provider (its form takes the subject); the callback URL it sends the
    browser back to, with the code and the state."""
    response = requests.post(authorization_url, data={"sub": sub}, allow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def back_at_portal(client, callback_url: str):
    parts = urlsplit(callback_url)
    assert parts.path == reverse("oidc_authentication_callback")
    return client.get(parts.path, parse_qs(parts.query))


def sign_in(client, sub: str):
    return back_at_portal(client, at_provider(start_sign_in(client), sub))


def signed_in_as(client):
    user_id = client.session.get("_auth_user_id")
    return get_user_model().objects.get(pk=user_id) if user_id else None


def roles(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def teams(user) -> dict[str, str]:
    return dict(Membership.objects.filter(user=user).values_list("team__name", "source"))


def test_a_first_sign_in_makes_the_user_with_the_teams_and_roles_its_groups_map_to(client, sso_on):
    sso_on.account("u-1001", preferred_username="alice", email="alice@example.com", given_name="Alice", groups=["art-devs", "release-managers", "unmapped"])

    response = sign_in(client, "u-1001")

    assert response.status_code == 302 and response["Location"] == reverse("catalog:service-list")
    alice = signed_in_as(client)
    assert (alice.username, alice.email, alice.first_name) == ("alice", "alice@example.com", "Alice")
    assert not alice.has_usable_password(), "the account signs in at the provider only"
    assert SingleSignOnIdentity.objects.get(user=alice).subject == "u-1001"
    assert roles(alice) == {"developers", "approvers"}
    assert teams(alice) == {"art": Membership.Source.SSO}
    login = AuditEvent.objects.get(action="user.login")
    assert login.actor_username == "alice"
    synced = AuditEvent.objects.get(action="user.sso_sync")
    assert synced.details == {
        "groups": ["art-devs", "release-managers"],
        "roles_added": ["approvers", "developers"],
        "roles_removed": [],
        "teams_joined": ["art"],
        "teams_left": [],
        "teams_created": ["art"],
    }
    assert client.get(reverse("catalog:service-list")).status_code == 200


def test_a_user_removed_from_a_group_at_the_provider_loses_its_team_and_role_at_the_next_sign_in_but_keeps_a_manual_membership(client, sso_on):
    sso_on.account("u-1002", preferred_username="bob", groups=["art-devs", "data-devs", "release-managers"])
    sign_in(client, "u-1002")
    bob = signed_in_as(client)
    assert teams(bob) == {"art": "sso", "data": "sso"} and roles(bob) == {"developers", "approvers"}
    # An admin also puts bob in the ops team by hand.
    Membership.objects.create(team=Team.objects.create(name="ops"), user=bob, source=Membership.Source.MANUAL)

    sso_on.account("u-1002", preferred_username="bob", groups=["data-devs"])  # out of art-devs and release-managers
    client.logout()
    sign_in(client, "u-1002")

    assert signed_in_as(client) == bob
    assert teams(bob) == {"data": "sso", "ops": "manual"}, "art's SSO membership went, ops' manual one stayed"
    assert roles(bob) == {"developers"}, "approvers is no longer given"
    synced = AuditEvent.objects.filter(action="user.sso_sync").order_by("id").last()
    assert (synced.details["teams_left"], synced.details["roles_removed"], synced.details["teams_joined"]) == (["art"], ["approvers"], [])
    assert Team.objects.filter(name="art").exists(), "a team is never deleted by a sign-in"

    sso_on.account("u-1002", preferred_username="bob")  # no groups claim at all
    client.logout()
    sign_in(client, "u-1002")
    assert teams(bob) == {"ops": "manual"} and roles(bob) == set(), "no groups: nothing from the provider"


def test_a_manual_membership_of_a_mapped_team_stays_manual_and_stays_when_the_group_goes(client, sso_on, make_user):
    # An account an admin made for single sign-on: no password, in art by hand, a developer by hand.
    carol = make_user("carol", "developers", team="art")
    carol.set_unusable_password()
    carol.save()
    sso_on.account("u-1003", preferred_username="carol", groups=["art-devs"])
    sign_in(client, "u-1003")
    assert signed_in_as(client) == carol, "an account without a password is linked"
    assert teams(carol) == {"art": "manual"}

    sso_on.account("u-1003", preferred_username="carol", groups=[])
    client.logout()
    sign_in(client, "u-1003")
    assert teams(carol) == {"art": "manual"}, "an admin's membership is the admin's to remove"
    assert roles(carol) == set(), "roles are the provider's: exactly the mapped ones"


def test_a_local_account_with_a_password_is_not_taken_over_and_still_logs_in_with_it(client, sso_on, django_user_model):
    django_user_model.objects.create_user("dave", password="dave-local-password-1")
    sso_on.account("u-1004", preferred_username="dave", groups=["art-devs"])

    response = sign_in(client, "u-1004")

    assert response.status_code == 403 and signed_in_as(client) is None
    assert "A local account named dave exists here, with a password" in response.content.decode()
    assert not SingleSignOnIdentity.objects.exists() and not Membership.objects.exists()
    failed = AuditEvent.objects.get(action="user.login_failed")
    assert failed.details == {"username": "dave", "via": "single sign-on", "reason": "local_account"}
    assert failed.object_label == "dave"
    response = client.post(reverse("login"), {"username": "dave", "password": "dave-local-password-1"})
    assert response.status_code == 302 and signed_in_as(client).username == "dave"


def test_the_account_follows_the_subject_not_the_name(client, sso_on, django_user_model):
    sso_on.account("u-1005", preferred_username="erin", groups=["observers"])
    sign_in(client, "u-1005")
    erin = signed_in_as(client)

    sso_on.account("u-1005", preferred_username="erin.smith", groups=["observers"])  # renamed at the provider
    client.logout()
    sign_in(client, "u-1005")
    assert signed_in_as(client) == erin and django_user_model.objects.count() == 1

    sso_on.account("u-9999", preferred_username="erin", groups=["art-devs"])  # someone else, same name
    client.logout()
    response = sign_in(client, "u-9999")
    assert response.status_code == 403 and signed_in_as(client) is None
    assert "belongs to another account of the identity provider" in response.content.decode()
    assert teams(erin) == {"observability": "sso"}


def test_a_callback_whose_state_no_sign_in_here_started_is_refused(client, sso_on):
    sso_on.account("u-1006", preferred_username="frank", groups=["art-devs"])
    callback = at_provider(start_sign_in(client), "u-1006")
    forged = callback.replace("state=", "state=x")  # another state than the one this browser holds

    response = back_at_portal(client, forged)

    assert response.status_code == 400 and signed_in_as(client) is None
    assert "could not be verified" in response.content.decode()
    assert not get_user_model().objects.filter(username="frank").exists()
    assert AuditEvent.objects.get(action="user.login_failed").details["reason"].startswith("not_verified")


def test_an_answer_meant_for_another_browser_is_refused(client, sso_on):
    """Login CSRF: an attacker's own code and state, sent to a victim's browser, log nobody in."""
    from django.test import Client

    sso_on.account("u-1007", preferred_username="mallory", groups=["art-devs"])
    mallorys = at_provider(start_sign_in(Client()), "u-1007")

    response = back_at_portal(client, mallorys)  # the victim's browser started no sign-in

    assert response.status_code == 403 and signed_in_as(client) is None
    assert not get_user_model().objects.filter(username="mallory").exists()


def test_an_id_token_whose_nonce_is_not_this_sign_ins_is_refused(client, sso_on):
    sso_on.account("u-1008", preferred_username="grace", groups=["art-devs"])
    authorization = start_sign_in(client)
    query = parse_qs(urlsplit(authorization).query)
    assert query["nonce"] and query["code_challenge_method"] == ["S256"]
    # The provider is asked with another nonce than the one this browser's sign-in holds: its ID
    # token carries that one (a token minted for another sign-in, replayed here).
    tampered = authorization.replace(f"nonce={query['nonce'][0]}", "nonce=replayed-from-elsewhere")

    response = back_at_portal(client, at_provider(tampered, "u-1008"))

    assert response.status_code == 400 and signed_in_as(client) is None
    assert "Nonce verification failed" in response.content.decode()
    assert not get_user_model().objects.filter(username="grace").exists()


def test_an_id_token_from_another_issuer_than_the_one_set_is_refused(client, settings, provider, groups):
    """The endpoints set by hand (no discovery), the issuer set to another name of the same server:
    the ID token's `iss` is the provider's own, which is not the one the portal trusts."""
    url = provider.url
    settings.PORTAL_OIDC = sso_settings.from_environment(
        sso_environment(
            provider,
            PORTAL_OIDC_ISSUER=url.replace("127.0.0.1", "localhost"),
            PORTAL_OIDC_AUTHORIZATION_ENDPOINT=f"{url}/oauth2/authorize",
            PORTAL_OIDC_TOKEN_ENDPOINT=f"{url}/oauth2/token",
            PORTAL_OIDC_JWKS_URI=f"{url}/jwks",
        )
    )
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, SSO_BACKEND]
    provider.account("u-1014", preferred_username="pia", groups=["art-devs"])

    response = sign_in(client, "u-1014")

    assert response.status_code == 400 and signed_in_as(client) is None
    assert f"The ID token was issued by &#x27;{url}&#x27;" in response.content.decode()


def test_a_code_used_twice_is_refused_by_the_provider_and_the_page_says_so(client, sso_on):
    sso_on.account("u-1009", preferred_username="heidi", groups=["art-devs"])
    first = at_provider(start_sign_in(client), "u-1009")
    second = at_provider(start_sign_in(client), "u-1009")  # a second tab: its state is this browser's too
    assert back_at_portal(client, first).status_code == 302
    # The first answer's code, spent, under the second sign-in's state: only the provider can tell.
    code, state = parse_qs(urlsplit(first).query)["code"][0], parse_qs(urlsplit(second).query)["state"][0]

    response = back_at_portal(client, f"{urlsplit(first).path}?code={code}&state={state}")

    assert response.status_code == 400, "the provider's refusal is the sign-in's, not a server error"
    assert "The identity provider refused this sign-in&#x27;s code (HTTP 400)" in response.content.decode()
    assert AuditEvent.objects.filter(action="user.login_failed").get().details["reason"] == "provider_refused: 400"


def test_the_person_declining_at_the_provider_is_told_and_not_signed_in(client, sso_on):
    authorization = start_sign_in(client)
    declined = requests.post(authorization, data={"action": "deny"}, allow_redirects=False, timeout=5)
    assert "error=access_denied" in declined.headers["Location"]

    response = back_at_portal(client, declined.headers["Location"])

    assert response.status_code == 403 and signed_in_as(client) is None
    assert "did not sign you in (it answered access_denied)" in response.content.decode()


def test_the_sign_in_goes_back_to_the_page_asked_for(client, sso_on):
    sso_on.account("u-1010", preferred_username="ivan", groups=["art-devs"])
    page = client.get(reverse("login") + "?next=/runs/")
    assert 'href="/oidc/authenticate/?next=/runs/"' in page.content.decode()
    callback = at_provider(start_sign_in(client, "/runs/"), "u-1010")
    assert back_at_portal(client, callback)["Location"] == "/runs/"
    evil = at_provider(start_sign_in(client, "https://evil.example/"), "u-1010")
    assert back_at_portal(client, evil)["Location"] == reverse("catalog:service-list"), "no open redirect"


def test_a_provider_that_does_not_answer_gets_a_page_that_says_so(client, settings, groups):
    port = free_port()
    settings.PORTAL_OIDC = sso_settings.from_environment(
        {"PORTAL_OIDC_ISSUER": f"http://127.0.0.1:{port}", "PORTAL_OIDC_CLIENT_ID": "portal", "PORTAL_OIDC_CLIENT_SECRET": "s"}
    )
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, SSO_BACKEND]

    response = client.get(reverse("oidc_authentication_init"))

    assert response.status_code == 502
    assert "The identity provider cannot be reached now" in response.content.decode()
    assert "log in with a local account" in response.content.decode()


def test_with_single_sign_on_off_there_is_no_sso_url_and_no_button(client, settings, django_user_model):
    assert settings.PORTAL_OIDC is None and SSO_BACKEND not in settings.AUTHENTICATION_BACKENDS, "off by default"
    page = client.get(reverse("login")).content.decode()
    assert "Sign in with" not in page and "/oidc/" not in page
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404
    django_user_model.objects.create_user("judy", password="judy-local-password-1")
    assert client.post(reverse("login"), {"username": "judy", "password": "judy-local-password-1"}).status_code == 302


def test_with_single_sign_on_on_the_login_page_offers_it_beside_the_local_login(client, sso_on):
    page = client.get(reverse("login")).content.decode()
    assert "Sign in with Example ID" in page and 'name="password"' in page


def test_local_logins_are_still_counted_and_locked_out_with_single_sign_on_on(client, sso_on, django_user_model):
    django_user_model.objects.create_user("kim", password="kim-local-password-1")
    statuses = [client.post(reverse("login"), {"username": "kim", "password": "wrong"}).status_code for _ in range(5)]
    assert statuses == [200] * 4 + [429]
    assert client.post(reverse("login"), {"username": "kim", "password": "kim-local-password-1"}).status_code == 429


def test_a_password_login_is_never_taken_for_a_sign_in_callback(client, sso_on, django_user_model):
    django_user_model.objects.create_user("nina", password="nina-local-password-1")
    url = reverse("login") + "?code=attackers-code&state=attackers-state"
    assert client.post(url, {"username": "nina", "password": "wrong"}).status_code == 200, "the form's error, no token exchange"
    assert client.post(url, {"username": "nina", "password": "nina-local-password-1"}).status_code == 302
    assert signed_in_as(client).username == "nina"


def test_an_address_locked_out_for_guessing_passwords_still_signs_in_at_the_provider(client, sso_on, django_user_model, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 5
    for name in ("a1", "a2", "a3", "a4", "a5"):
        client.post(reverse("login"), {"username": name, "password": "wrong"})
    assert client.post(reverse("login"), {"username": "a6", "password": "wrong"}).status_code == 429
    sso_on.account("u-1011", preferred_username="leo", groups=["art-devs"])

    assert sign_in(client, "u-1011").status_code == 302 and signed_in_as(client).username == "leo"


# --- settings --------------------------------------------------------------------------------------
def environment(**changes) -> dict:
    return {"PORTAL_OIDC_ISSUER": "https://id.example.com", "PORTAL_OIDC_CLIENT_ID": "portal", "PORTAL_OIDC_CLIENT_SECRET": "s3", **changes}


@pytest.mark.parametrize(
    "changes, says",
    [
        ({"PORTAL_OIDC_GROUP_MAP": "{not json"}, "PORTAL_OIDC_GROUP_MAP is not valid JSON"),
        ({"PORTAL_OIDC_GROUP_MAP": '["art-devs"]'}, "PORTAL_OIDC_GROUP_MAP must be a JSON object"),
        ({"PORTAL_OIDC_GROUP_MAP": '{"g": {"role": "owners"}}'}, "the role must be one of developers, approvers, admins (got 'owners')"),
        ({"PORTAL_OIDC_GROUP_MAP": '{"g": {"team": "Art Team"}}'}, "the team 'Art Team' is not a team name"),
        ({"PORTAL_OIDC_GROUP_MAP": '{"g": {"teams": "art"}}'}, 'must be an object with "team", "role" or both'),
        ({"PORTAL_OIDC_GROUP_MAP": '{"g": {}}'}, 'must be an object with "team", "role" or both'),
        ({"PORTAL_OIDC_CLIENT_SECRET": ""}, "PORTAL_OIDC_CLIENT_ID and PORTAL_OIDC_CLIENT_SECRET must both be set"),
        ({"PORTAL_OIDC_ISSUER": "http://id.example.com"}, "PORTAL_OIDC_ISSUER must be an https:// URL"),
        ({"PORTAL_OIDC_SCOPES": "email profile"}, "PORTAL_OIDC_SCOPES must include openid"),
        ({"PORTAL_OIDC_SIGNING_ALGORITHM": "none"}, "PORTAL_OIDC_SIGNING_ALGORITHM must be one of"),
        ({"PORTAL_OIDC_ISSUER": "", "PORTAL_OIDC_CLIENT_SECRET": ""}, "PORTAL_OIDC_CLIENT_ID is set but PORTAL_OIDC_ISSUER is not"),
    ],
)
def test_a_wrong_single_sign_on_setting_is_refused_saying_what_is_wrong(changes, says):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured) as refused:
        sso_settings.from_environment(environment(**changes))
    assert says in str(refused.value)
    assert "s3" not in str(refused.value), "the client secret is never repeated"


def test_the_group_map_gives_a_team_a_role_or_both():
    config = sso_settings.from_environment(environment(PORTAL_OIDC_GROUP_MAP=json.dumps(GROUP_MAP)))
    assert config.group_map["release-managers"] == sso_settings.Grant(team=None, role="approvers")
    assert config.group_map["observers"] == sso_settings.Grant(team="observability", role=None)
    assert config.provider_name == "id.example.com" and "s3" not in repr(config)


def test_a_malformed_group_map_stops_the_portal_at_start():
    from tests.integration.settings.test_safe_defaults import django_process

    refused = django_process({"DJANGO_DEBUG": "1", **environment(PORTAL_OIDC_GROUP_MAP='{"g": {"role": "root"}}')}, "check")
    assert refused.returncode != 0 and "PORTAL_OIDC_GROUP_MAP['g']: the role must be one of" in refused.stderr


def test_a_deactivated_account_is_refused_and_its_profile_follows_the_provider_while_active(client, sso_on):
    sso_on.account("u-1012", preferred_username="mia", email="mia@old.example", groups=["art-devs"])
    sign_in(client, "u-1012")
    mia = signed_in_as(client)
    sso_on.account("u-1012", preferred_username="mia", email="mia@new.example", family_name="Lind", groups=["art-devs"])
    client.logout()
    sign_in(client, "u-1012")
    mia.refresh_from_db()
    assert (mia.email, mia.last_name) == ("mia@new.example", "Lind")

    mia.is_active = False
    mia.save()
    client.logout()
    response = sign_in(client, "u-1012")
    assert response.status_code == 403 and signed_in_as(client) is None
    assert "The account mia is deactivated here" in response.content.decode()


@pytest.mark.parametrize(
    "claims, says",
    [
        ({"preferred_username": "o p"}, "cannot be a username here"),
        ({"email": "o@example.com"}, "sent no &#x27;preferred_username&#x27; claim"),
        ({"preferred_username": "oscar", "groups": {"art-devs": True}}, "claim is not a list of group names"),
    ],
)
def test_claims_the_portal_cannot_use_refuse_the_sign_in_saying_why(client, sso_on, claims, says):
    sso_on.account("u-1013", **claims)
    response = sign_in(client, "u-1013")
    assert response.status_code == 403 and signed_in_as(client) is None
    assert says in response.content.decode()
    assert not get_user_model().objects.exists()
