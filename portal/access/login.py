"""Logins that resist guessing, on django-axes: failed logins are counted per account and per address
in PostgreSQL (axes' AccessAttempt rows), and past a limit the login is refused for a while, the right
password included, before any password is checked.

Axes compares one number with one limit. An address gets a higher limit of its own
(PORTAL_LOGIN_ADDRESS_FAILURE_LIMIT): many people may share one (an office behind NAT), and one
person's typos must not lock out the others, while one machine guessing across accounts still is.
"""

from dataclasses import dataclass
from datetime import datetime

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max, Sum
from django.shortcuts import render

from portal import audit


@dataclass(frozen=True)
class Failures:
    account: int
    address: int
    latest: datetime | None  # the latest failure counted, from the account or the address

    @property
    def account_locked(self) -> bool:
        return self.account >= settings.LOGIN_FAILURE_LIMIT

    @property
    def address_locked(self) -> bool:
        return self.address >= settings.LOGIN_ADDRESS_FAILURE_LIMIT

    @property
    def locked(self) -> bool:
        return self.account_locked or self.address_locked


def failures(request, credentials) -> Failures:
    """The failures that count now (within the lockout time) for this login's account and address."""
    recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
    username = get_client_username(request, credentials)
    account = recent.filter(username=username).aggregate(n=Sum("failures_since_start"), latest=Max("attempt_time"))
    address = recent.filter(ip_address=request.axes_ip_address).aggregate(n=Sum("failures_since_start"), latest=Max("attempt_time"))
    account_n = (account["n"] or 0) if username else 0
    times = [t for t in (account["latest"] if username else None, address["latest"]) if t is not None]
    return Failures(account_n, address["n"] or 0, max(times, default=None))


class LoginAttempts(AxesDatabaseHandler):
    def is_whitelisted(self, request, credentials=None) -> bool:
        # A single sign-on callback (portal.access.sso_views) is no password guess: the provider
        # checked the person, and a code or token is not guessed. An address locked out for guessing
        # passwords still signs in there, and a refused sign-in counts nowhere here.
        return getattr(request, "single_sign_on", False) or super().is_whitelisted(request, credentials)

    def get_failures(self, request, credentials=None) -> int:
        # Compared with the account's limit: an address past its own limit counts as at it.
        counted = failures(request, credentials)
        return max(counted.account, settings.LOGIN_FAILURE_LIMIT) if counted.address_locked else counted.account

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        was_locked = request is not None and self.is_locked(request, credentials)
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is not None and not was_locked and getattr(request, "axes_locked_out", False):
            record_lockout(request, credentials)

    def reset_user_attempts(self, request, credentials=None) -> int:
        # A success clears its account's failures only: one good login must not buy an address that
        # guesses at other accounts a fresh allowance.
        username = get_client_username(request, credentials)
        if not username:  # a single sign-on login names no account here (filter(username=None) is IS NULL)
            return 0
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count


def record_lockout(request, credentials) -> None:
    counted = failures(request, credentials)
    username = (get_client_username(request, credentials) or "")[:150]
    what = [name for name, locked in (("account", counted.account_locked), ("address", counted.address_locked)) if locked]
    account = get_user_model().objects.filter(username=username).first() if username else None
    audit.record(
        "user.locked_out",
        None,
        account,
        username=username,
        locked=what,
        account_failures=counted.account,
        address_failures=counted.address,
        until=locked_until(request, counted),
    )


def locked_until(request, counted: Failures) -> datetime:
    return (counted.latest or request.axes_attempt_time) + get_cool_off(request)


def locked_out(request, original_response=None, credentials=None):
    """The page a refused login gets (429): what was locked and until when, in UTC."""
    counted = failures(request, credentials)
    return render(
        request,
        "registration/locked_out.html",
        {
            "account_locked": counted.account_locked,
            "address_locked": counted.address_locked,
            "until": locked_until(request, counted),
            "lockout_minutes": round(settings.LOGIN_LOCKOUT_SECONDS / 60),
        },
        status=429,
    )


# Any constant unique to this lock in the portal's database (the other key is the username's hash).
LOGIN_LOCK = 7_240_002


def take_turn(username) -> None:
    """Wait for the other guesses at this account; held until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOGIN_LOCK, str(username)[:300]])


def password_confirmed(request, password: str) -> bool:
    """The logged-in user's password, asked again before something a stolen session should not get
    (issuing an API token). Checked as a login checks it: a wrong one counts towards the account's
    lockout and is in the audit trail (`user.login_failed`), and a locked account is refused, the right
    password included (AxesMiddleware then answers with the lockout page)."""
    username = request.user.get_username()
    with transaction.atomic():
        take_turn(username)
        user = authenticate(request, username=username, password=password)
    return user is not None and user.pk == request.user.pk


class OneGuessAtATime:
    """Logins to one account take turns. Axes decides on the lockout after a password is checked, so
    guesses sent at once would all pass its check before the first failure is counted: 32 at once
    were all checked (benchmarks/login_lockout.py), where the limit is 5. The lock is PostgreSQL's,
    held until the failure is counted, so it holds across web processes too."""

    def clean(self):
        username = self.data.get("username", "")
        with transaction.atomic():
            take_turn(username)
            try:
                return super().clean()
            except ValidationError as refused:
                error = refused  # raised after the commit: the counted failure must not roll back
        raise error


class LoginForm(OneGuessAtATime, AuthenticationForm):
    pass


class AdminLoginForm(OneGuessAtATime, AdminAuthenticationForm):
    pass


class LoginPage(LoginView):
    """Django's login page with the guessing-resistant form, and the button to the identity provider
    when single sign-on is on."""

    authentication_form = LoginForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["single_sign_on"] = settings.PORTAL_OIDC
        return context
