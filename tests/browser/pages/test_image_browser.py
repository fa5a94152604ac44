"""A deploy of a tag that is not in the repository, in Chromium at 390 px and 1440 px: the change form
comes back with the message on the image tag, and the service page's Image section says the
declared tag is there and how to push one, without widening the page. Screenshots under
var/screenshots/images/."""

import secrets

import pytest

from portal.catalog.onboarding import register_service
from portal.core.aws import client as aws_client
from portal.runs.models import Run
from tests.browser.pages.test_capacity_browser import overflow, page_at
from tests.conftest import SCREENSHOTS, plan_approve_apply
from tests.images import image_manifest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("parked_queue")]

MANIFEST = image_manifest("c")


@pytest.fixture
def applied(people, service_form_data):
    name = f"image-browser-{secrets.token_hex(3)}"
    service, change = register_service(people["dev"], **{**service_form_data, "name": name})
    plan_approve_apply(change, people["approver"])
    ecr = aws_client("ecr")
    url = ecr.create_repository(repositoryName=service.resource_name)["repository"]["repositoryUri"]
    ecr.put_image(repositoryName=service.resource_name, imageManifest=MANIFEST, imageTag="1.0.0")
    Run.objects.filter(workspace__service=service, workspace__module="ecr-repository").update(outputs={"repository_url": url})
    yield service
    ecr.delete_repository(repositoryName=service.resource_name, force=True)


@pytest.mark.parametrize("width", (390, 1440))
def test_a_deploy_of_a_missing_tag_is_held_on_its_field_and_the_service_page_says_how_to_push(browser, live_server, applied, width):
    context, page = page_at(browser, live_server, width, "dev")
    folder = SCREENSHOTS / "images"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        page.goto(f"{live_server.url}/services/{applied.name}/")
        section = page.locator("#image")
        assert "In the repository" in section.inner_text()
        assert f"docker push {applied.resource_name}" not in section.inner_text()  # the full URI, not the name alone
        assert ".amazonaws.com/" + applied.resource_name + ":1.0.0" in section.locator("pre.commands").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page itself does not scroll sideways"
        assert overflow(page, "#image") == 0
        page.screenshot(path=str(folder / f"service-{width}.png"), full_page=True)

        page.goto(f"{live_server.url}/services/{applied.name}/change/")
        page.fill("#id_image_tag", "9.9.9")
        page.click("form.card button[type=submit]")
        error = page.locator("#image_tag-errors")
        assert "9.9.9 is not in the repository" in error.inner_text()
        assert applied.changes.count() == 1, "only the onboarding: the held deploy kept nothing"
        error.scroll_into_view_if_needed()
        page.screenshot(path=str(folder / f"held-{width}.png"), full_page=True)
    finally:
        context.close()
