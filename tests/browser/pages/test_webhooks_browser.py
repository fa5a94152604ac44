"""The webhooks page in Chromium at a phone's width (390 px) and a desktop's (1440 px): each delivery's
outcome in words, and an internal URL refused on its field. Screenshots under var/screenshots/webhooks/."""

import pytest
from django.db import connections

from portal.catalog.models import Service
from portal.notifications.models import Delivery, Webhook
from tests.builders import a_team
from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (390, 1440)


def overflow(page, selector: str) -> int:
    """How many pixels the element reaches past the window's right edge, or hides in a scrolled box."""
    return page.evaluate(
        """(s) => {
          const e = document.querySelector(s);
          return Math.max(0, Math.ceil(e.getBoundingClientRect().right - window.innerWidth), e.scrollWidth - e.clientWidth);
        }""",
        selector,
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_webhooks_page_tells_outcomes_in_words_and_refuses_internal_urls_on_the_field(browser, live_server, make_user, dns, width):
    owner = make_user("owner", "developers")
    service = Service.objects.create(name="hooked-service", created_by=owner, team=a_team())
    webhook = Webhook.objects.create(service=service, url="https://hooks.example.com/portal", events=["applied", "failed"])
    for fields in (
        dict(status="delivered", attempts=1, response_code=200, outcome="delivered"),
        dict(status="failed", attempts=5, response_code=503, outcome="receiver_refused"),
        dict(status="pending", attempts=2, outcome="unreachable", error="no answer within 5 s"),
        dict(
            status="failed",
            attempts=1,
            outcome="portal_refused",
            error="hooks.example.com resolves to a loopback address; the portal sends webhooks only to public addresses (or to networks an admin allowed).",
        ),
    ):
        Delivery.objects.create(webhook=webhook, event="applied", payload={}, **fields)

    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    folder = SCREENSHOTS / "webhooks"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", "owner")
        page.fill("input[name=password]", "pw-owner")
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)
        page.goto(f"{live_server.url}/webhooks/services/{service.name}/")
        outcomes = page.locator("td.outcome").all_inner_texts()
        assert outcomes == [
            "Refused by the portal (address not allowed): hooks.example.com resolves to a loopback address; "
            "the portal sends webhooks only to public addresses (or to networks an admin allowed).",
            "Unreachable: no answer within 5 s",
            "Refused by the receiver with status 503",
            "Delivered (status 200)",
        ]
        assert overflow(page, ".webhook .table-wrap") == 0, "every column shows"
        assert overflow(page, ".webhook") == 0
        page.screenshot(path=str(folder / f"deliveries-{width}.png"), full_page=True)

        page.fill("#id_url", "http://[::ffff:169.254.169.254]/latest/meta-data/")
        page.check("input[value=applied]")
        page.click("#webhook-form button[type=submit]")
        error = page.locator("#webhook-form .errorlist")
        assert "is an IPv6 form of a link-local address" in error.inner_text()
        assert overflow(page, "#webhook-form") == 0
        page.screenshot(path=str(folder / f"refused-{width}.png"), full_page=True)
        assert Webhook.objects.count() == 1
    finally:
        context.close()
        # The ORM calls above ran beside Playwright's event loop, on a connection of their own; the
        # test database is dropped after the session, so that connection goes now.
        connections.close_all()
