"""The Platform page's module versions in Chromium at 390 and 1440 px, with more workspaces behind a
module than it names: the first are named, the rest counted, and the table stays inside the window.
Screenshots under var/screenshots/capacity/."""

import pytest
from django.utils import timezone

from portal.platform import module_versions
from portal.runs.models import Run, RunStatus
from portal.workspaces.models import Workspace
from tests.browser.pages.test_capacity_browser import WIDTHS, overflow, page_at, shot
from tests.conftest import SCREENSHOTS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("parked_queue")]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_workspaces_behind_a_module_are_named_then_counted_at_both_widths(browser, live_server, people, monkeypatch, width):
    monkeypatch.setattr(module_versions, "LISTED_BEHIND", 3)
    for index in range(5):
        name = f"art-service-repository-with-a-long-name-{index}"
        workspace = Workspace.objects.create(path=f"ecs/ecr-repositories/{name}", module="ecr-repository", variables={"name": name})
        Run.objects.create(workspace=workspace, status=RunStatus.APPLIED, variables=workspace.variables, module_sha256="0" * 64, finished_at=timezone.now())
    context, page = page_at(browser, live_server, width, "admin")
    try:
        page.goto(f"{live_server.url}/platform/")
        row = page.locator('tr.module-version[data-module="ecr-repository"]')
        row.locator("summary").click()
        assert row.locator("ul.behind li").count() == 4, "three named, then the count"
        assert row.locator(".unlisted-behind").inner_text().startswith("and 2 more")
        row.scroll_into_view_if_needed()
        assert overflow(page, "table.module-versions") == 0, "the table fits the window"
        shot(page, f"platform-modules-behind-{width}")
        page.locator("table.module-versions").screenshot(path=str(SCREENSHOTS / "capacity" / f"module-versions-behind-{width}.png"))
    finally:
        context.close()
