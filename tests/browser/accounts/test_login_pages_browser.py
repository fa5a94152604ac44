"""The lockout page and the login page read at a phone's and a desktop's width, in Chromium on a live
server (split from tests/integration/accounts/test_login_throttling.py, which tests the lockout
itself without a browser)."""

import pytest

from tests.conftest import SCREENSHOTS


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", (390, 1440))
def test_the_lockout_page_and_the_login_page_read_at_both_widths(browser, live_server, django_user_model, width):
    django_user_model.objects.create_user("alice", password="right-alice-horse")
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    folder = SCREENSHOTS / "login"
    folder.mkdir(parents=True, exist_ok=True)
    wide = "() => Math.max(document.documentElement.scrollWidth - window.innerWidth, 0)"
    try:
        page.goto(f"{live_server.url}/login/")
        for attempt in range(5):
            page.fill("input[name=username]", "alice")
            page.fill("input[name=password]", "wrong")
            with page.expect_navigation():
                page.click("button[type=submit]")
            if attempt == 3:
                assert page.locator(".errorlist").is_visible()
                box = page.locator("form button[type=submit]").bounding_box()
                assert box["x"] + box["width"] <= width, "the login form's button is on screen"
                page.screenshot(path=str(folder / f"login-failed-{width}.png"), full_page=True)
        locked = page.locator("#locked-out")
        assert "Try again after" in locked.inner_text() and "UTC" in locked.inner_text()
        assert locked.bounding_box()["x"] + locked.bounding_box()["width"] <= width, "the message fits the window"
        assert page.evaluate(wide) == 0, "the page does not scroll sideways"
        page.screenshot(path=str(folder / f"locked-out-{width}.png"), full_page=True)
        page.click("text=Back to the login page")
        assert page.locator("input[name=username]").is_visible()
    finally:
        context.close()
