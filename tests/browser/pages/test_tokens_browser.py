"""The API tokens page in Chromium at a phone's width (390 px) and a desktop's (1440 px): each token's
scope, service and end, expired and revoked ones marked; issuing asks the password again. Screenshots
under var/screenshots/tokens/."""

from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from portal.api.models import ApiToken
from portal.catalog.models import Service
from tests.builders import a_team
from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.django_db(transaction=True)


def overflow(page, selector: str) -> int:
    """How many pixels the element reaches past the window's right edge, or hides in a scrolled box."""
    return page.evaluate(
        """(s) => {
          const e = document.querySelector(s);
          return Math.max(0, Math.ceil(e.getBoundingClientRect().right - window.innerWidth), e.scrollWidth - e.clientWidth);
        }""",
        selector,
    )


@pytest.mark.parametrize("width", (390, 1440))
def test_the_tokens_page_shows_scope_service_and_end_and_asks_the_password_again(browser, live_server, make_user, width):
    lead = make_user("lead", "developers")
    service = Service.objects.create(name="sourcing-data-service", created_by=lead, team=a_team())
    ApiToken.objects.issue(lead, "sourcing pipeline", scope="deploy", service=service, days=30)
    old, _ = ApiToken.objects.issue(lead, "old laptop script", scope="read", days=1)
    now = timezone.now()
    ApiToken.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=40), expires_at=now - timedelta(days=39))
    ApiToken.objects.issue(lead, "release tooling", scope="write")[0].revoke(lead)

    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    folder = SCREENSHOTS / "tokens"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", "lead")
        page.fill("input[name=password]", "pw-lead")
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)
        page.goto(f"{live_server.url}/tokens/")
        rows = {row.split("\n")[0].split("\t")[0]: row for row in page.locator("table.tokens tbody tr").all_inner_texts()}
        assert len(rows) == 3
        assert "revoked" in rows["release tooling"] and "(by hand)" in rows["release tooling"]
        assert "expired" in rows["old laptop script"] and "read" in rows["old laptop script"]
        pipeline = rows["sourcing pipeline"]
        assert "deploy" in pipeline and "sourcing-data-service" in pipeline and "Revoke" in pipeline
        assert overflow(page, "table.tokens") == 0 and overflow(page, "#token-form") == 0
        assert overflow(page, "html") == 0, "the page does not scroll sideways (the header's links wrap)"
        page.screenshot(path=str(folder / f"list-{width}.png"), full_page=True)

        page.fill("#id_label", "billing pipeline")
        page.check("input[name=scope][value=deploy]")
        page.select_option("#id_service", label="sourcing-data-service")
        page.fill("#id_days", "14")
        page.fill("#id_password", "not-my-password")
        page.click("#token-form button[type=submit]")
        assert "That is not your password" in page.locator("#token-form .errorlist").inner_text()
        assert overflow(page, "#token-form") == 0
        page.screenshot(path=str(folder / f"wrong-password-{width}.png"), full_page=True)
        assert ApiToken.objects.count() == 3

        page.fill("#id_password", "pw-lead")
        page.click("#token-form button[type=submit]")
        key = page.locator("#new-key").inner_text()
        assert key.startswith("portal_") and overflow(page, "#new-token") == 0
        page.screenshot(path=str(folder / f"issued-{width}.png"), full_page=True)
        token = ApiToken.objects.get(label="billing pipeline")
        assert (token.scope, token.service_id, (token.expires_at - token.created_at).days) == ("deploy", service.pk, 14)
    finally:
        context.close()
        # The ORM calls above ran beside Playwright's event loop, on a connection of their own; the
        # test database is dropped after the session, so that connection goes now.
        connections.close_all()
