"""Single sign-on's settings (README, "Single sign-on"), read from PORTAL_OIDC_* and refused at start
when wrong. Off unless PORTAL_OIDC_ISSUER is set: the local stack (bin/portal) has local accounts
only. Imports no model: portal/settings.py calls it."""

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured, ValidationError

from portal.access.groups import ROLES
from portal.access.naming import TEAM_NAME_MAX_LENGTH, TEAM_NAME_RULE, team_name_validators
from portal.core import setting_readers as read

PREFIX = "PORTAL_OIDC_"
# Endpoints the provider's discovery document gives; set all but userinfo to skip discovery.
ENDPOINTS = {
    "authorization": "PORTAL_OIDC_AUTHORIZATION_ENDPOINT",
    "token": "PORTAL_OIDC_TOKEN_ENDPOINT",
    "userinfo": "PORTAL_OIDC_USERINFO_ENDPOINT",
    "jwks": "PORTAL_OIDC_JWKS_URI",
}
# Asymmetric signatures checked against the provider's published keys, or HS256 keyed with the client
# secret (mozilla-django-oidc's choices).
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "HS256")


@dataclass(frozen=True)
class Grant:
    """What one of the provider's groups gives: membership of a team, a role, or both."""

    team: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class SingleSignOn:
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)  # never on a debug page
    provider_name: str = ""
    scopes: str = "openid email profile"
    username_claim: str = "preferred_username"
    groups_claim: str = "groups"
    group_map: dict[str, Grant] = field(default_factory=dict)
    signing_algorithm: str = "RS256"
    endpoints: dict[str, str] = field(default_factory=dict)  # the ones set by hand

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    @property
    def needs_discovery(self) -> bool:
        return not {"authorization", "token", "jwks"} <= set(self.endpoints)


def from_environment(environ) -> SingleSignOn | None:
    issuer = read.text("PORTAL_OIDC_ISSUER", "", strip=True, check=is_provider_url, accepts=PROVIDER_URL, environ=environ)
    if not issuer:
        stray = sorted(name for name, value in environ.items() if name.startswith(PREFIX) and value.strip())
        if stray:
            raise ImproperlyConfigured(
                f"{', '.join(stray)} {'is' if len(stray) == 1 else 'are'} set but PORTAL_OIDC_ISSUER is not: single "
                "sign-on is on only with the identity provider's issuer URL. Set it, or unset the others."
            )
        return None
    client_id = read.text("PORTAL_OIDC_CLIENT_ID", "", strip=True, environ=environ)
    client_secret = read.text("PORTAL_OIDC_CLIENT_SECRET", "", environ=environ)
    if not client_id or not client_secret:
        # The secret's value is never repeated.
        raise ImproperlyConfigured(
            "PORTAL_OIDC_CLIENT_ID and PORTAL_OIDC_CLIENT_SECRET must both be set when PORTAL_OIDC_ISSUER is: the "
            "portal's client at the identity provider (a confidential client, authorization code flow)."
        )
    scopes = " ".join(read.text("PORTAL_OIDC_SCOPES", "openid email profile", refused="email profile", environ=environ).split())
    if "openid" not in scopes.split():
        raise ImproperlyConfigured(f"PORTAL_OIDC_SCOPES must include openid (got {scopes!r}).")
    algorithm = read.choice("PORTAL_OIDC_SIGNING_ALGORITHM", "RS256", SIGNING_ALGORITHMS, environ=environ)
    endpoints = {}
    for key, name in ENDPOINTS.items():
        value = read.text(name, "", strip=True, check=is_provider_url, accepts=PROVIDER_URL, environ=environ)
        if value:
            endpoints[key] = value
    claims = {}
    for name, default in (("PORTAL_OIDC_USERNAME_CLAIM", "preferred_username"), ("PORTAL_OIDC_GROUPS_CLAIM", "groups")):
        claims[name] = read.text(
            name,
            default,
            allow_empty=False,
            strip=True,
            accepts=f"the name of a claim of the ID token or userinfo (default {default})",
            environ=environ,
        )
    return SingleSignOn(
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        provider_name=read.text("PORTAL_OIDC_PROVIDER_NAME", "", strip=True, environ=environ) or urlparse(issuer).hostname,
        scopes=scopes,
        username_claim=claims["PORTAL_OIDC_USERNAME_CLAIM"],
        groups_claim=claims["PORTAL_OIDC_GROUPS_CLAIM"],
        group_map=group_map(
            read.json_mapping(
                "PORTAL_OIDC_GROUP_MAP",
                example=MAP_EXAMPLE,
                why="It maps the identity provider's groups to a team and a role.",
                environ=environ,
            )
        ),
        signing_algorithm=algorithm,
        endpoints=endpoints,
    )


PROVIDER_URL = "an https:// URL without query or fragment (http:// only to this machine, e.g. http://127.0.0.1:9000)"


def is_provider_url(value: str) -> bool:
    """HTTPS, or plain HTTP to this machine only (the tests' provider, a provider beside bin/portal):
    the codes and tokens that travel there are the sign-in."""
    parsed = urlparse(value)
    if parsed.scheme == "https" and parsed.hostname and not parsed.query and not parsed.fragment:
        return True
    return parsed.scheme == "http" and bool(parsed.hostname) and on_loopback(parsed.hostname)


def on_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


MAP_EXAMPLE = '{"platform-devs": {"team": "platform", "role": "developers"}, "portal-admins": {"role": "admins"}}'


def group_map(parsed: dict) -> dict[str, Grant]:
    """PORTAL_OIDC_GROUP_MAP, read as a JSON object: the provider's group names to what each gives."""
    grants = {}
    for group, grant in parsed.items():
        where = f"PORTAL_OIDC_GROUP_MAP[{group!r}]"
        if not group.strip():
            raise ImproperlyConfigured("PORTAL_OIDC_GROUP_MAP has an empty group name.")
        if not isinstance(grant, dict) or not grant or set(grant) - {"team", "role"}:
            raise ImproperlyConfigured(f'{where} must be an object with "team", "role" or both, e.g. {{"team": "platform", "role": "developers"}}.')
        team, role = grant.get("team"), grant.get("role")
        if role is not None and role not in ROLES:
            raise ImproperlyConfigured(f"{where}: the role must be one of {', '.join(ROLES)} (got {role!r}).")
        if team is not None:
            if not isinstance(team, str) or len(team) > TEAM_NAME_MAX_LENGTH:
                raise ImproperlyConfigured(f"{where}: the team must be a name of at most {TEAM_NAME_MAX_LENGTH} characters.")
            try:
                for validate in team_name_validators:
                    validate(team)
            except ValidationError:
                raise ImproperlyConfigured(f"{where}: the team {team!r} is not a team name: {TEAM_NAME_RULE}") from None
        grants[group] = Grant(team=team, role=role)
    return grants
