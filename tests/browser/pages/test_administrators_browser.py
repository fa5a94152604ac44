"""The Administrators page in Chromium at 390 px and 1440 px with more workspaces of a type than it
names: the ecs row names the first ten and counts the rest, and neither width scrolls sideways, the
page nor the table in its card (at 390 px each row is a short list).
Screenshots under var/screenshots/administrators/."""

import pytest

from portal.administrators.roster import LISTED_WORKSPACES
from portal.workspaces.models import Workspace
from tests.browser.pages.test_capacity_browser import WIDTHS, overflow, page_at
from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_type_with_many_workspaces_names_ten_and_counts_the_rest(browser, live_server, people, width):
    for number in range(LISTED_WORKSPACES + 5):
        Workspace.objects.create(path=f"ecs/services/art-service-many-{number:02d}", module="ecs-service")
    ecs = Workspace.objects.filter(path__startswith="ecs/").count()
    context, page = page_at(browser, live_server, width, "admin")
    try:
        page.goto(f"{live_server.url}/administrators/")
        row = page.locator("#type-ecs")
        row.scroll_into_view_if_needed()
        assert row.locator("a code").count() == LISTED_WORKSPACES
        assert f"and {ecs - LISTED_WORKSPACES} more" in row.locator(".unlisted-workspaces").inner_text()
        assert overflow(page, "html") == 0, "the page does not scroll sideways"
        # Nor the table in its card: at a phone's width each row is a short list (table.stacked).
        assert overflow(page, ".card:has(#administrators)") == 0, "the table does not hide columns in a scrolled box"
        folder = SCREENSHOTS / "administrators"
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"list-{width}.png"), full_page=True)
    finally:
        context.close()
