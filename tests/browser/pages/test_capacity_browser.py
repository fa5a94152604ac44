"""The pages capacity changes, in Chromium at a phone's width (390 px) and a desktop's (1440 px): the
Platform page's capacity panel and cluster form (and the form sent back with a refusal), and the
register and change forms' task sizes. Screenshots under var/screenshots/capacity/."""

import pytest

from portal.catalog.onboarding import register_service
from tests.conftest import SCREENSHOTS

# parked_queue: the session's worker must not plan (and fail) the runs of the services registered here.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("parked_queue")]

WIDTHS = (390, 1440)


def page_at(browser, live_server, width: int, username: str):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
    return context, page


def shot(page, name: str) -> None:
    folder = SCREENSHOTS / "capacity"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def overflow(page, selector: str) -> int:
    """How many pixels the element reaches past the window's right edge, or hides in a scrolled box
    (0: none). The window, not the page: the page's header is wider than a phone (base.html)."""
    return page.evaluate(
        """(s) => {
          const e = document.querySelector(s);
          return Math.max(0, Math.ceil(e.getBoundingClientRect().right - window.innerWidth), e.scrollWidth - e.clientWidth);
        }""",
        selector,
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_capacity_panel_and_the_cluster_form_read_at_both_widths(browser, live_server, people, service_form_data, settings, width):
    settings.CLUSTER_DEFAULTS = {"instance_type": "m6i.large", "min_size": 1, "max_size": 3, "desired_capacity": 1}
    register_service(people["dev"], **{**service_form_data, "desired_count": 2})
    context, page = page_at(browser, live_server, width, "admin")
    try:
        page.goto(f"{live_server.url}/platform/")
        panel = page.locator("#cluster-capacity")
        panel.scroll_into_view_if_needed()
        assert panel.is_visible()
        assert page.locator("#capacity-figures").is_visible()
        assert overflow(page, "#capacity-figures") == 0 and overflow(page, "#cluster-capacity .table-wrap") == 0, "every column shows"
        assert "Room for 4 more tasks of 0.25 vCPU / 512 MiB" in page.locator("#capacity-free-tasks").inner_text()
        assert overflow(page, "#cluster-capacity") == 0, "the panel fits the window"
        assert overflow(page, "#cluster-settings-form button") == 0
        shot(page, f"platform-{width}")

        # A cluster too small for the services: the form comes back with the refusal on its field.
        page.select_option("#id_instance_type", "m6i.large")
        page.fill("#id_max_size", "1")
        page.click("#cluster-settings-form button[type=submit]")
        error = page.locator("#cluster-max_size-errors")
        assert "choose a maximum of at least 2 instances" in error.inner_text()
        error.scroll_into_view_if_needed()
        assert overflow(page, "#cluster-settings-form") == 0
        shot(page, f"platform-refused-{width}")
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_register_and_change_forms_offer_the_sizes_the_cluster_places_and_say_why(browser, live_server, people, service_form_data, settings, width):
    settings.CLUSTER_DEFAULTS = {"instance_type": "t3.small", "min_size": 1, "max_size": 1, "desired_capacity": 1}
    register_service(people["dev"], **service_form_data)
    context, page = page_at(browser, live_server, width, "dev")
    try:
        page.goto(f"{live_server.url}/services/{service_form_data['name']}/change/")
        assert page.locator("#id_cpu option").all_inner_texts() == ["256 (0.25 vCPU)", "512 (0.5 vCPU)"]
        assert overflow(page, "#id_cpu") == 0 and overflow(page, "#id_memory") == 0
        shot(page, f"change-{width}")

        page.goto(f"{live_server.url}/services/register/")
        cpus = page.locator("#id_cpu option").all_inner_texts()
        assert cpus == ["256 (0.25 vCPU)", "512 (0.5 vCPU)"]
        page.select_option("#id_cpu", "512")
        assert page.locator("#id_memory option").all_inner_texts() == ["1024 MiB (1 GiB)"]
        assert "one t3.small holds at most 2 vCPU and 1689 MiB for tasks" in page.locator("form.card").inner_text()
        shot(page, f"register-{width}")
        # The size selects fit (at 390 px the secrets' textarea, sized by its columns, does not: base.html).
        assert overflow(page, "#id_cpu") == 0 and overflow(page, "#id_memory") == 0

        # Three tasks where the cluster holds two: the count's field says what would fit.
        page.fill("#id_name", "three-tasks")
        page.fill("#id_container_port", "8080")
        page.fill("#id_desired_count", "3")
        page.fill("#id_image_tag", "1.0.0")
        page.click("form.card button[type=submit]")
        error = page.locator("#desired_count-errors")
        assert (
            "has room for 1 more task of 0.5 vCPU / 1024 MiB; this change needs 3, and the cluster runs out of task network interfaces and memory."
            in error.inner_text()
        )
        error.scroll_into_view_if_needed()
        shot(page, f"register-refused-{width}")
    finally:
        context.close()
