"""Single sign-on's two pages (portal.access.sso): the start, which sends the browser to the identity
provider, and the callback it comes back to. Both are 404 while single sign-on is off."""

import requests
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from django.shortcuts import render
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from portal.access import sso
from portal.core.refusals import Refusal, Refused


class Start(OIDCAuthenticationRequestView):
    get_settings = staticmethod(sso.setting)


class Callback(OIDCAuthenticationCallbackView):
    get_settings = staticmethod(sso.setting)

    def login_failure(self):
        # The provider answered with an error (the person cancelled, or is not allowed to use this
        # client), or the answer belongs to no sign-in started in this browser.
        error = self.request.GET.get("error", "")[:100]
        said = f" (it answered {error})" if error else ""
        sso.record_failure(f"provider:{error}" if error else "no_sign_in_started")
        return refused(
            self.request,
            Refusal("sso_failed", f"The identity provider did not sign you in{said}. Start again from the login page.", forbidden=True),
        )


def start(request):
    if settings.PORTAL_OIDC is None:
        raise Http404("Single sign-on is off.")
    try:
        return Start.as_view()(request)
    except sso.ProviderUnavailable as exc:
        return unavailable(request, str(exc))


def callback(request):
    if settings.PORTAL_OIDC is None:
        raise Http404("Single sign-on is off.")
    request.single_sign_on = True  # not a password login: django-axes neither refuses nor counts it
    try:
        return Callback.as_view()(request)
    except Refused as exc:
        return refused(request, exc.refusal)
    except SuspiciousOperation as exc:
        # A state no sign-in here started, a nonce or signature that does not match: someone else's
        # answer, replayed or forged. Nobody is logged in.
        sso.record_failure(f"not_verified: {exc}"[:200])
        return refused(
            request,
            Refusal("sso_not_verified", f"This sign-in could not be verified ({exc}). Start again from the login page."),
            status=400,
        )
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        sso.record_failure(f"provider_refused: {status}")
        if status is not None and 400 <= status < 500:
            # The provider's answer to the code: used already, expired, or not for this client.
            return refused(
                request,
                Refusal("sso_code_refused", f"The identity provider refused this sign-in's code (HTTP {status}). Start again from the login page."),
                status=400,
            )
        return unavailable(request, f"The identity provider answered HTTP {status}.")
    except (sso.ProviderUnavailable, requests.RequestException) as exc:
        sso.record_failure("provider_unavailable")
        return unavailable(request, str(exc) if isinstance(exc, sso.ProviderUnavailable) else f"It did not answer ({type(exc).__name__}).")


def refused(request, refusal: Refusal, status: int | None = None):
    return render(request, "registration/sso_refused.html", {"refusal": refusal}, status=status or refusal.http_status)


def unavailable(request, reason: str):
    refusal = Refusal("sso_unavailable", f"The identity provider cannot be reached now. {reason} Try again later, or log in with a local account.")
    return refused(request, refusal, status=502)
