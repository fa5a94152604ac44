"""An approver's inbox in Chromium at 390 px and 1440 px: two changes of the team planned and waiting,
the navigation counts them, the Changes page lists them oldest first under "Waiting for you", and
the services list links each pending change and says what it waits for; neither page scrolls
sideways. Screenshots under var/screenshots/inbox/."""

import pytest

from portal.catalog.onboarding import register_service
from tests.browser.pages.test_capacity_browser import page_at
from tests.conftest import SCREENSHOTS, record_plan

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("parked_queue")]


@pytest.fixture
def two_waiting(people, service_form_data):
    changes = []
    for name in ("inbox-first", "inbox-second"):
        _, change = register_service(people["dev"], **{**service_form_data, "name": name})
        for run in change.runs_in_order():
            record_plan(run)
        changes.append(change)
    return changes


@pytest.mark.parametrize("width", (390, 1440))
def test_an_approver_sees_what_waits_for_them_counted_listed_and_linked(browser, live_server, two_waiting, width):
    folder = SCREENSHOTS / "inbox"
    folder.mkdir(parents=True, exist_ok=True)
    context, page = page_at(browser, live_server, width, "approver")
    try:
        assert page.locator("#nav-changes .badge").inner_text() == "2"
        page.click("#nav-changes")
        page.wait_for_url("**/changes/")
        waiting = page.locator("#waiting tbody tr")
        assert waiting.count() == 2
        assert "Onboard inbox-first" in waiting.nth(0).inner_text() and "Onboard inbox-second" in waiting.nth(1).inner_text(), "oldest first"
        assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page itself does not scroll sideways"
        page.screenshot(path=str(folder / f"changes-{width}.png"), full_page=True)

        page.goto(f"{live_server.url}/services/")
        first = page.locator("tr", has_text="inbox-first")
        link = first.locator(f"a[href='/changes/{two_waiting[0].pk}/']")
        assert link.count() == 1, "the pending change is linked"
        assert "approv" in first.inner_text().lower(), "and says it waits for an approval"
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(folder / f"services-{width}.png"), full_page=True)
    finally:
        context.close()
