"""Every form a page renders says a value is too long instead of letting the browser cut it
(portal.core.forms.NoSilentTruncation): a `maxlength` on an input drops what is typed or pasted past
it without a word, and the server's message never shows."""

import importlib
import pkgutil

import django.forms
import pytest

import portal
from portal.core.forms import NoSilentTruncation

# Sign-in forms keep Django's own: a username longer than the model allows names nobody.
EXEMPT = {"portal.access.login.LoginForm", "portal.access.login.AdminLoginForm"}


def page_forms() -> list[type]:
    for module in pkgutil.walk_packages(portal.__path__, "portal."):
        if ".migrations" not in module.name and not module.name.endswith(("gunicorn_conf", "devstack", "__main__")):
            importlib.import_module(module.name)
    found, stack = [], [django.forms.BaseForm]
    while stack:
        for subclass in stack.pop().__subclasses__():
            stack.append(subclass)
            if subclass.__module__.startswith("portal.") and f"{subclass.__module__}.{subclass.__qualname__}" not in EXEMPT:
                found.append(subclass)
    return found


def test_the_portal_s_forms_are_found():
    names = {form.__name__ for form in page_forms()}
    assert {"ServicePageForm", "WebhookForm", "TeamForm", "AuditFilterForm"} <= names


@pytest.mark.parametrize("form", page_forms(), ids=lambda form: f"{form.__module__}.{form.__qualname__}")
def test_every_page_form_refuses_rather_than_truncates(form):
    assert issubclass(form, NoSilentTruncation), f"{form.__qualname__}: derive it from portal.core.forms.NoSilentTruncation"
