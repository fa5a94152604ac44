from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.decorators import permission_required as django_permission_required

from portal.access import permissions


def permission_required(perm: str):
    """Anonymous people are sent to the login page; a logged-in user without the permission gets a
    403 (a login page would only loop back)."""

    def decorate(view):
        return login_required(django_permission_required(perm, raise_exception=True)(view))

    return decorate


def allowed(may):
    """For a page about no one object: `may(user)` is the function of portal.access.permissions for
    its action; its refusal is the 403 page's sentence. Anonymous people go to the login page."""

    def decorate(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            permissions.require(may(request.user))
            return view(request, *args, **kwargs)

        return login_required(checked)

    return decorate
