"""One service's life in headless Chromium, on the provisioned platform: a developer registers it
and watches the plans appear, an approver reads the resource diff and approves, the apply is
followed to the end; the developer changes the CPU and sees it in the declaration diff and in the
plan; an admin decommissions it. A screenshot of each step is saved under var/screenshots/journey/.

Called by the end-to-end test once the platform is up (provisioning it again would double the
suite's time)."""

from django.conf import settings

from portal.catalog.models import Service
from portal.core.aws import client as aws_client
from tests.images import image_manifest

NAME = "journey-service"
MANIFEST = image_manifest("d")
MINUTES = 60_000
SAVE = "main form.card button[type=submit]"  # not the header's Log out, also a submit button

# Counts the page's reloads: a live page moves on by swapping its content in.
NOT_RELOADED = "window.notReloaded = true"
# Notes every progress text the page showed, so that a moment of the apply can be asserted after.
WATCH_PROGRESS = """
() => {
  window.progressSeen = [];
  const note = () => document.querySelectorAll(".progress-text").forEach((element) => {
    if (element.textContent && !window.progressSeen.includes(element.textContent)) window.progressSeen.push(element.textContent);
  });
  new MutationObserver(note).observe(document.body, {childList: true, characterData: true, subtree: true});
}
"""


def workspace_section(page, kind: str):
    return page.locator("section.workspace-plan", has_text=f"ecs/{kind}/")


def wait_until_planned(page, timeout=5 * MINUTES):
    """Until no workspace of the change is queued or planning any more."""
    page.wait_for_function(
        "document.querySelectorAll('#change-live section.workspace-plan').length > 0 && "
        "document.querySelectorAll('#change-live section.workspace-plan:is([data-status=queued], [data-status=planning])').length === 0",
        timeout=timeout,
    )


def wait_until_applied(page, timeout=10 * MINUTES):
    page.wait_for_function("document.getElementById('change-outcome').textContent.includes('Applied')", timeout=timeout)


def attribute_row(section, resource: str, attribute: str):
    details = section.locator("details.resource", has_text=resource)
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    return details.locator("table.attributes tr").filter(has=section.page.locator(f"td:first-child code:text-is('{attribute}')"))


def register(developer) -> str:
    page = developer.page
    developer.goto("/services/register/")
    page.type("#id_name", NAME, delay=30)  # typed, so the preview follows as a person sees it
    page.wait_for_selector("#preview-workspaces")
    preview = page.locator("#register-preview").inner_text()
    resource_name = f"{settings.SERVICE_NAME_PREFIX}-{NAME}"
    assert f"ecs/services/{resource_name}/terraform.tfstate" in preview
    assert f"ecs/ecr-repositories/{resource_name}/terraform.tfstate" in preview
    page.fill("#id_container_port", "8090")
    page.select_option("#id_cpu", "256")
    page.select_option("#id_memory", "512")
    page.fill("#id_desired_count", "1")
    page.fill("#id_health_check_path", "/health")
    page.fill("#id_image_tag", "1.0.0")
    developer.shot("register-form-with-preview")
    page.click(SAVE)
    page.wait_for_url("**/changes/**")
    return page.url.removeprefix(developer.base_url)


def browser_journey(screen):
    developer = screen("journey").log_in("author")
    reviewer = screen("journey").log_in("approver")
    admin = screen("journey").log_in("platform-admin")

    # Registered: the plans appear on the change's page as they finish, without a reload.
    change_path = register(developer)
    page = developer.page
    page.evaluate(NOT_RELOADED)
    developer.shot("registered-planning")
    wait_until_planned(page)
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("#approve").count() == 0
    assert "Approving needs the approvers' permission." in page.locator("#approval-refusal").inner_text()
    developer.shot("planned-no-approve-for-the-developer")

    # The approver reads the resource diff and approves; the apply is followed to the end.
    reviewer.goto(change_path)
    page = reviewer.page
    service = workspace_section(page, "services")
    assert "create" in service.locator("details.resource", has_text="aws_ecs_service").first.inner_text()
    cpu = attribute_row(service, "aws_ecs_task_definition", "cpu")
    assert cpu.locator("td.after").inner_text() == '"256"'
    reviewer.shot("approver-reads-the-resource-diff")
    page.click("#approve")
    page.wait_for_selector("#approved-by")
    page.evaluate(NOT_RELOADED)
    page.evaluate(WATCH_PROGRESS)
    wait_until_applied(page)
    assert page.evaluate("window.notReloaded") is True
    seen = page.evaluate("window.progressSeen")
    assert any(text.startswith("Applying: ") for text in seen), seen
    assert any(text.startswith("Applied: ") for text in seen), seen
    reviewer.shot("applied")
    service_page = reviewer.goto(f"/services/{NAME}/")
    assert service_page.ok
    # Nobody pushed 1.0.0 yet: the page says so, and how; a change would be held until it is there.
    assert "1.0.0 is not in the repository" in reviewer.page.locator("#image").inner_text()
    assert "docker push" in reviewer.page.locator("#image pre.commands").inner_text()
    reviewer.shot("service-page-after-the-apply")
    aws_client("ecr").put_image(repositoryName=f"{settings.SERVICE_NAME_PREFIX}-{NAME}", imageManifest=MANIFEST, imageTag="1.0.0")

    # The CPU changed: the declaration diff, and the task definition's cpu in the plan.
    page = developer.page
    developer.goto(f"/services/{NAME}/change/")
    page.select_option("#id_cpu", "512")
    page.select_option("#id_memory", "1024")
    developer.shot("change-form")
    page.click(SAVE)
    page.wait_for_url("**/changes/**")
    assert page.url.removeprefix(developer.base_url) != change_path
    diff = page.locator("#declaration-diff").inner_text()
    assert "cpu 256 -> 512" in diff and "memory 512 -> 1024" in diff
    wait_until_planned(page)
    service = workspace_section(page, "services")
    task_definition = service.locator("details.resource", has_text="aws_ecs_task_definition")
    assert "replace" in task_definition.locator("summary").inner_text()
    assert "New task definition revision: running tasks are replaced" in task_definition.inner_text()
    cpu = attribute_row(service, "aws_ecs_task_definition", "cpu")
    assert (cpu.locator("td.before").inner_text(), cpu.locator("td.after").inner_text()) == ('"256"', '"512"')
    assert "forces replacement" in cpu.inner_text()
    developer.shot("cpu-change-planned")

    # Decommissioned by an admin (the CPU change is superseded), approved, destroyed.
    page = admin.page
    admin.goto(f"/services/{NAME}/decommission/")
    page.fill("#id_confirm_name", NAME)
    admin.shot("decommission-form")
    page.click("#decommission")
    page.wait_for_url("**/changes/**")
    decommission_path = page.url.removeprefix(admin.base_url)
    wait_until_planned(page)
    admin.shot("decommission-planned")
    reviewer.goto(decommission_path)
    page = reviewer.page
    repository = workspace_section(page, "ecr-repositories")
    assert "destroy" in repository.locator("details.resource", has_text="aws_ecr_repository").locator("summary").inner_text()
    page.click("#approve")
    page.wait_for_selector("#approved-by")
    wait_until_applied(page)
    reviewer.shot("decommissioned")
    assert Service.objects.get(name=NAME).status == "decommissioned"
