"""Single sign-on's whole round trip in Chromium on a live server: the portal's button, the provider's
sign-in page, and back (split from tests/integration/accounts/test_sso.py, whose provider on loopback
and helpers it uses; the rules of the sign-in are tested there without a browser)."""

import pytest
from django.contrib.auth import get_user_model

from portal.access import sso_settings

# provider_url is the provider on loopback, a fixture of the module that tests the sign-in's rules;
# the test's parameter of the same name is how pytest asks for it (hence F811 on its line).
from tests.integration.accounts.test_sso import (
    SSO_BACKEND,
    Provider,
    provider_url,  # noqa: F401  (a fixture: imported so that pytest finds it here)
    roles,
    sso_environment,
    teams,
)


@pytest.mark.django_db(transaction=True)
def test_a_person_signs_in_in_a_browser_through_the_providers_page(browser, live_server, provider_url, settings, groups):  # noqa: F811
    """The whole round trip in Chromium: the portal's button, the provider's sign-in page, and back."""
    from django.db import connections

    from tests.conftest import SCREENSHOTS

    provider = Provider(provider_url, portal=live_server.url)
    settings.PORTAL_OIDC = sso_settings.from_environment(sso_environment(provider))
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, SSO_BACKEND]
    provider.account("u-2001", preferred_username="olga", groups=["art-devs"])
    folder = SCREENSHOTS / "sso"
    folder.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 390, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{live_server.url}/login/?next=/runs/")
        button = page.get_by_role("link", name="Sign in with Example ID")
        assert button.bounding_box()["x"] + button.bounding_box()["width"] <= 390
        page.screenshot(path=str(folder / "login-390.png"), full_page=True)
        button.click()
        page.wait_for_url(f"{provider_url}/oauth2/authorize*")
        page.fill("input[name=sub]", "u-2001")
        page.screenshot(path=str(folder / "provider-390.png"), full_page=True)
        page.click("button[type=submit]:has-text('Authorize')")
        page.wait_for_url(f"{live_server.url}/runs/")
        assert "olga" in page.locator("header").inner_text()
        page.screenshot(path=str(folder / "signed-in-390.png"), full_page=True)
        olga = get_user_model().objects.get(username="olga")
        assert teams(olga) == {"art": "sso"} and roles(olga) == {"developers"}
    finally:
        context.close()
        # The ORM calls above ran beside Playwright's event loop, on a connection of their own; the
        # test database is dropped after the session, so that connection goes now.
        connections.close_all()
