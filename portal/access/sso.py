"""Single sign-on with OpenID Connect (README, "Single sign-on"), on mozilla-django-oidc: its views
run the authorization code flow (state, nonce, PKCE) and its backend fetches and checks the tokens;
this module says which user a provider's account is and what its groups give.

At every sign-in:
- the user is found by the provider's issuer and `sub` (SingleSignOnIdentity). At the first, a user
  is made, named after PORTAL_OIDC_USERNAME_CLAIM (preferred_username: people read names in the
  audit trail and on teams, and `sub` is often an opaque id); an existing account of that name is
  linked only when it has no password (an admin made it for single sign-on), never taken over;
- roles are set to exactly those the groups claim maps to (the provider decides the roles of its
  users: a role given here by hand does not outlive the next sign-in);
- team memberships from the provider (source SSO) are added and removed to match the groups claim;
  memberships an admin set by hand (source MANUAL) are never touched. A team the map names is made
  when missing.
"""

import time
from dataclasses import dataclass

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.db import IntegrityError, transaction
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings

from portal import audit
from portal.access.groups import ROLES
from portal.access.models import Membership, SingleSignOnIdentity, Team
from portal.access.permissions import forget_teams
from portal.audit.models import Action
from portal.core.refusals import Refusal, Refused

VIA = "single sign-on"
TIMEOUT_SECONDS = 10
DISCOVERY_KEPT_SECONDS = 3600


class ProviderUnavailable(Exception):
    """The identity provider did not answer, or not as OpenID Connect says. Its sentence is shown."""


# --- the provider's endpoints ----------------------------------------------------------------------
@dataclass(frozen=True)
class Endpoints:
    authorization: str
    token: str
    jwks: str
    userinfo: str | None


_discovered: dict[str, tuple[float, dict]] = {}


def endpoints() -> Endpoints:
    """The endpoints set by hand, the others from the provider's discovery document (read at the first
    sign-in, not at start: the portal starts while the provider is down, and kept an hour)."""
    config = settings.PORTAL_OIDC
    found = discover(config) if config.needs_discovery else {}
    given = {**{key: found.get(name) for key, name in DISCOVERED.items()}, **config.endpoints}
    return Endpoints(given["authorization"], given["token"], given["jwks"], given.get("userinfo"))


DISCOVERED = {
    "authorization": "authorization_endpoint",
    "token": "token_endpoint",
    "jwks": "jwks_uri",
    "userinfo": "userinfo_endpoint",
}


def discover(config) -> dict:
    kept = _discovered.get(config.issuer)
    if kept and time.monotonic() - kept[0] < DISCOVERY_KEPT_SECONDS:
        return kept[1]
    try:
        response = requests.get(config.discovery_url, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"The identity provider's discovery document ({config.discovery_url}) could not be read: {type(exc).__name__}.") from None
    # OpenID Connect Discovery 1.0, section 4.3: the document must name the issuer it was asked of.
    if not isinstance(document, dict) or document.get("issuer") != config.issuer:
        raise ProviderUnavailable(
            f"The identity provider's discovery document names the issuer {document.get('issuer') if isinstance(document, dict) else None!r}, "
            f"not PORTAL_OIDC_ISSUER ({config.issuer})."
        )
    missing = [name for key, name in DISCOVERED.items() if key != "userinfo" and not document.get(name)]
    if missing:
        raise ProviderUnavailable(f"The identity provider's discovery document lacks {', '.join(missing)}.")
    _discovered[config.issuer] = (time.monotonic(), document)
    return document


def setting(name: str, *default):
    """mozilla-django-oidc's settings, from PORTAL_OIDC (portal.access.sso_settings)."""
    config = settings.PORTAL_OIDC
    given = {
        "OIDC_RP_CLIENT_ID": lambda: config.client_id,
        "OIDC_RP_CLIENT_SECRET": lambda: config.client_secret,
        "OIDC_RP_SCOPES": lambda: config.scopes,
        "OIDC_RP_SIGN_ALGO": lambda: config.signing_algorithm,
        "OIDC_OP_AUTHORIZATION_ENDPOINT": lambda: endpoints().authorization,
        "OIDC_OP_TOKEN_ENDPOINT": lambda: endpoints().token,
        "OIDC_OP_JWKS_ENDPOINT": lambda: endpoints().jwks,
        "OIDC_OP_USER_ENDPOINT": lambda: endpoints().userinfo,
        "OIDC_RP_IDP_SIGN_KEY": lambda: None,
        "OIDC_USE_NONCE": lambda: True,
        "OIDC_USE_PKCE": lambda: True,
        "OIDC_TIMEOUT": lambda: TIMEOUT_SECONDS,
        "OIDC_VERIFY_SSL": lambda: True,
        "OIDC_STORE_ACCESS_TOKEN": lambda: False,  # nothing here calls the provider for the user later
        "OIDC_STORE_ID_TOKEN": lambda: False,
    }
    if name in given:
        return given[name]()
    return import_from_settings(name, *default)


class _FromSettings:
    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner=None):
        return setting(self.name)


# --- the backend -----------------------------------------------------------------------------------
class SingleSignOnBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend, with the checks it leaves to its users (the ID token's issuer and
    audience, the userinfo's subject) and the portal's own linking and group mapping."""

    get_settings = staticmethod(setting)
    # Read when used, not when the backend is made: Django makes every backend to find a session's
    # user on every request, and that must not wait on the provider.
    OIDC_OP_TOKEN_ENDPOINT = _FromSettings()
    OIDC_OP_USER_ENDPOINT = _FromSettings()
    OIDC_OP_JWKS_ENDPOINT = _FromSettings()
    OIDC_RP_CLIENT_ID = _FromSettings()
    OIDC_RP_CLIENT_SECRET = _FromSettings()
    OIDC_RP_SIGN_ALGO = _FromSettings()
    OIDC_RP_IDP_SIGN_KEY = _FromSettings()

    def __init__(self, *args, **kwargs):
        self.UserModel = get_user_model()

    # The library's get_user does not ask whether the account is still active.
    get_user = ModelBackend.get_user

    def authenticate(self, request, **kwargs):
        # Only the callback's (portal.access.sso_views): Django asks every backend at every login, and
        # a password login posted to /login/?code=...&state=... must not become a token exchange.
        if settings.PORTAL_OIDC is None or not getattr(request, "single_sign_on", False):
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token, **kwargs):
        try:
            payload = super().verify_token(token, **kwargs)
        except jwt.InvalidTokenError as exc:  # the library turns only a bad signature into a refusal
            raise SuspiciousOperation(f"The ID token is not valid: {exc}.") from None
        if "nonce" in kwargs:  # the ID token (a signed userinfo answer is checked without a nonce)
            check_id_token(payload)
        return payload

    def retrieve_matching_jwk(self, token):
        # A provider that publishes one key may leave `kid` out of its tokens (OpenID Connect Core 1.0,
        # 10.1); the library then fails on the missing header.
        header = jwt.get_unverified_header(token)
        if "kid" in header:
            return super().retrieve_matching_jwk(token)
        answer = requests.get(self.OIDC_OP_JWKS_ENDPOINT, timeout=TIMEOUT_SECONDS)
        answer.raise_for_status()
        keys = [key for key in answer.json().get("keys", []) if key.get("use", "sig") == "sig" and key.get("alg", header.get("alg")) == header.get("alg")]
        if len(keys) != 1:
            raise SuspiciousOperation("The ID token names no key (kid) and the provider publishes several.")
        return jwt.PyJWK(keys[0])

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims, with the userinfo endpoint's when the provider has one (some send the
        groups in one, some in the other)."""
        if not self.OIDC_OP_USER_ENDPOINT:
            return dict(payload)
        userinfo = super().get_userinfo(access_token, id_token, payload)
        # OpenID Connect Core 1.0, 5.3.2: the answer is about the ID token's subject, or unusable.
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The userinfo answer is about another subject than the ID token.")
        return {**userinfo, **{name: payload[name] for name in ("iss", "sub", "aud") if name in payload}}

    def get_or_create_user(self, access_token, id_token, payload):
        try:
            claims = self.get_userinfo(access_token, id_token, payload)
        except SuspiciousOperation as exc:  # the library would swallow it into a silent failure
            record_failure(f"not_verified: {exc}"[:200])
            refuse("sso_not_verified", f"This sign-in could not be verified ({exc}). Start again from the login page.")
        return sign_in(claims)


def check_id_token(payload: dict) -> None:
    """What mozilla-django-oidc does not check of an ID token (its signature, expiry and nonce it
    does): issued by our provider, for our client (OpenID Connect Core 1.0, 3.1.3.7)."""
    config = settings.PORTAL_OIDC
    if payload.get("iss") != config.issuer:
        raise SuspiciousOperation(f"The ID token was issued by {payload.get('iss')!r}, not {config.issuer!r}.")
    audience = payload.get("aud")
    audience = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    if config.client_id not in audience:
        raise SuspiciousOperation("The ID token was not issued for this portal's client id.")
    if len(audience) > 1 and payload.get("azp") != config.client_id:
        raise SuspiciousOperation("The ID token names several audiences and was not issued to this portal (azp).")
    if not payload.get("sub"):
        raise SuspiciousOperation("The ID token has no subject.")


# --- who signs in, and what their groups give ------------------------------------------------------
def sign_in(claims: dict):
    """The user these (verified) claims are, made or linked at the first sign-in, with roles and
    teams set from their groups. Raises Refused, recorded, when the sign-in must not go through."""
    config = settings.PORTAL_OIDC
    username = claims.get(config.username_claim)
    try:
        groups = provider_groups(claims)
        with transaction.atomic():
            user = account_for(config.issuer, str(claims["sub"]), username, claims)
            sync(user, groups)
    except Refused as refused:
        account = get_user_model().objects.filter(username=username).first() if isinstance(username, str) and username else None
        audit.record(
            Action.USER_LOGIN_FAILED,
            None,
            account,
            username=str(username or "")[:150],
            via=VIA,
            reason=refused.refusal.code,
        )
        raise
    return user


def record_failure(reason: str, username: str = "") -> None:
    """A sign-in that came back from the provider and was not let in, for a reason found before the
    account was known (the views'): the audit trail's login failure."""
    audit.record(Action.USER_LOGIN_FAILED, None, None, username=username, via=VIA, reason=reason)


def refuse(code: str, message: str):
    raise Refused(Refusal(code, message, forbidden=True))


def provider_groups(claims: dict) -> list[str]:
    """The groups claim as names. Absent: no groups (so no team or role from the provider)."""
    claim = settings.PORTAL_OIDC.groups_claim
    value = claims.get(claim)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(name, str) for name in value):
        return value
    refuse("groups_claim", f"The identity provider's {claim!r} claim is not a list of group names; ask its admins.")


def account_for(issuer: str, subject: str, username, claims: dict):
    identity = SingleSignOnIdentity.objects.filter(issuer=issuer, subject=subject).select_related("user").first()
    if identity is not None:
        user = identity.user
    else:
        user = first_sign_in(issuer, subject, username)
    if not user.is_active:
        refuse("inactive", f"The account {user.get_username()} is deactivated here. Ask an admin.")
    update_profile(user, claims)
    return user


def first_sign_in(issuer: str, subject: str, username):
    User = get_user_model()
    claim = settings.PORTAL_OIDC.username_claim
    if not isinstance(username, str) or not username:
        refuse("no_username", f"The identity provider sent no {claim!r} claim to name your account; ask its admins.")
    try:
        User._meta.get_field("username").run_validators(username)  # its length and characters
    except ValidationError as exc:
        refuse("bad_username", f"The identity provider's {claim} {username!r} cannot be a username here: {' '.join(exc.messages)}")
    # Names differing only in case are one person to a reader of the audit trail.
    existing = User.objects.filter(username__iexact=username).first()
    if existing is None:
        user = User.objects.create_user(username)  # no password: this account signs in at the provider
    elif SingleSignOnIdentity.objects.filter(user=existing).exists():
        refuse(
            "username_taken",
            f"The username {existing.get_username()} belongs to another account of the identity provider. Ask an admin.",
        )
    elif existing.has_usable_password():
        refuse(
            "local_account",
            f"A local account named {existing.get_username()} exists here, with a password: single sign-on does not take it "
            "over. Log in with its password, or ask an admin to remove its password (the account is then yours at "
            "your next sign-in) or to rename it.",
        )
    else:
        user = existing  # made by an admin for single sign-on: no password to log in with
    try:
        with transaction.atomic():
            SingleSignOnIdentity.objects.create(user=user, issuer=issuer, subject=subject)
    except IntegrityError:
        refuse("retry", "Another sign-in of this account was under way. Sign in again.")
    return user


PROFILE_CLAIMS = {"email": "email", "first_name": "given_name", "last_name": "family_name"}


def update_profile(user, claims: dict) -> None:
    changed = []
    for field, claim in PROFILE_CLAIMS.items():
        value = claims.get(claim)
        limit = user._meta.get_field(field).max_length
        if isinstance(value, str) and value[:limit] != getattr(user, field):
            setattr(user, field, value[:limit])
            changed.append(field)
    if changed:
        user.save(update_fields=changed)


def grants_of(groups: list[str]) -> tuple[set[str], set[str]]:
    """The teams and roles these provider groups give, by PORTAL_OIDC_GROUP_MAP."""
    mapped = [settings.PORTAL_OIDC.group_map[name] for name in groups if name in settings.PORTAL_OIDC.group_map]
    return {g.team for g in mapped if g.team}, {g.role for g in mapped if g.role}


def sync(user, groups: list[str]) -> None:
    teams, roles = grants_of(groups)

    had_roles = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    if roles - had_roles:
        user.groups.add(*Group.objects.filter(name__in=roles - had_roles))
    if had_roles - roles:
        user.groups.remove(*Group.objects.filter(name__in=had_roles - roles))

    created = []
    for name in sorted(teams):
        _, made = Team.objects.get_or_create(name=name)
        if made:
            created.append(name)
    memberships = {m.team.name: m for m in Membership.objects.filter(user=user).select_related("team")}
    joined = sorted(teams - set(memberships))
    Membership.objects.bulk_create(
        [Membership(team=team, user=user, source=Membership.Source.SSO) for team in Team.objects.filter(name__in=joined)],
        ignore_conflicts=True,  # a membership made meanwhile (an admin's, another sign-in's) stays as it is
    )
    left = sorted(name for name, m in memberships.items() if m.source == Membership.Source.SSO and name not in teams)
    Membership.objects.filter(user=user, source=Membership.Source.SSO, team__name__in=left).delete()
    forget_teams(user)

    audit.record(
        Action.USER_SSO_SYNC,
        None,
        user,
        groups=sorted(set(groups) & set(settings.PORTAL_OIDC.group_map)),  # the ones the map knows
        roles_added=sorted(roles - had_roles),
        roles_removed=sorted(had_roles - roles),
        teams_joined=joined,
        teams_left=left,
        teams_created=created,
    )
