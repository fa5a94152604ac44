from django.contrib.auth.decorators import login_required
from django.contrib.auth.decorators import permission_required as django_permission_required


def permission_required(perm: str):
    """Anonymous people are sent to the login page; a logged-in user without the permission gets a
    403 (a login page would only loop back)."""

    def decorate(view):
        return login_required(django_permission_required(perm, raise_exception=True)(view))

    return decorate
