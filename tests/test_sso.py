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

    def __init__(self, url: str):
        self.url = url
        registered = requests.post(
            f"{url}/oauth2/clients",
            json={"redirect_uris": ["http://testserver/oidc/callback/"], "token_endpoint_auth_method": "client_secret_post"},
            timeout=5,
        )
        registered.raise_for_status()
        self.client_id = registered.json()["client_id"]
        self.client_secret = registered.json()["client_secret"]

    def account(self, sub: str, **claims):
        requests.put(f"{self.url}/users/{sub}", json=claims, timeout=5).raise_for_status()


@pytest.fixture
def provider(monkeypatch):
    import oidc_provider_mock

    # authlib refuses plain HTTP unless told: the provider is on loopback only.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    app = oidc_provider_mock.app(require_client_registration=True, require_nonce=True)
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield Provider(f"http://127.0.0.1:{server.server_port}")
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
