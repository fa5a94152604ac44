"""The pages in headless Chromium: what a reviewer is offered, a live log and its progress, the
register form's errors. Screenshots of each step are saved under var/screenshots/<test>/."""

import pytest

from portal.catalog.onboarding import register_service
from portal.changes.workflow import advance
from portal.runs.models import Run, RunStatus

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("parked_queue")]

REPOSITORY_CREATED = {
    "address": "module.repository.aws_ecr_repository.this",
    "type": "aws_ecr_repository",
    "action": "create",
    "action_display": "create",
    "reason": "",
    "moved_from": "",
    "attributes": [
        {"path": "image_tag_mutability", "before": None, "after": '"IMMUTABLE"', "forces_replacement": False},
        {"path": "repository_url", "before": None, "after": "(known after apply)", "forces_replacement": False},
    ],
    "more_attributes": 0,
    "notes": [],
}


def planned(change, plan_changes):
    for run in change.runs_in_order():
        run.start_planning()
        run.record_plan(to_add=1, to_change=0, to_destroy=0, plan_sha256="0" * 64, inputs_sha256="1" * 64, plan_changes=plan_changes)
    advance(change)


def test_a_developer_is_not_offered_the_approval_and_an_approver_is(screen, people, service_form_data):
    _, change = register_service(people["author"], **service_form_data)
    planned(change, [REPOSITORY_CREATED])
    path = f"/changes/{change.pk}/"

    developer = screen("developer-sees-no-approve").log_in("other-developer")
    developer.goto(path)
    page = developer.page
    assert page.locator("#approve").count() == 0
    assert page.locator("#approval-refusal").inner_text() == "Approve is not offered: Approving needs the approvers' permission."
    assert page.locator("#discard").count() == 0  # neither the proposer nor an approver
    developer.shot("change-page")

    reviewer = screen("approver-approves").log_in("approver")
    reviewer.goto(path)
    page = reviewer.page
    repository = page.locator("section.workspace-plan", has_text="ecs/ecr-repositories/")
    repository.locator("summary", has_text="module.repository.aws_ecr_repository.this").click()
    row = repository.locator("table.attributes tr", has_text="image_tag_mutability")
    assert row.locator("td.after").inner_text() == '"IMMUTABLE"'
    reviewer.shot("resource-diff")
    page.click("#approve")
    page.wait_for_selector("#approved-by")
    assert page.locator("#approved-by").inner_text() == "approver"
    assert page.locator("#approve").count() == 0
    reviewer.shot("approved")
    assert set(Run.objects.filter(change=change).values_list("status", flat=True)) <= {
        RunStatus.APPROVED,
        RunStatus.AWAITING_APPROVAL,  # the second waits for the first to apply
    }


def test_the_log_and_progress_follow_a_running_run_without_a_reload(screen, people, service_form_data):
    _, change = register_service(people["author"], **service_form_data)
    run = change.runs_in_order()[0]
    run.start_planning()
    viewer = screen("live-log").log_in("author")
    viewer.goto(f"/runs/{run.pk}/")
    page = viewer.page
    page.evaluate("window.notReloaded = true")

    run.append_log("$ terraform plan -input=false\nmodule.repository.aws_ecr_repository.this: Refreshing state... [id=x]\n")
    page.wait_for_function("document.getElementById('run-log').textContent.includes('Refreshing state')", timeout=5000)
    page.wait_for_function("document.querySelector('#run-live .progress-text').textContent === 'Planning: 1 resource read so far'", timeout=5000)
    viewer.shot("planning")

    run.record_plan(to_add=1, to_change=0, to_destroy=0, plan_sha256="0" * 64, inputs_sha256="1" * 64, plan_changes=[REPOSITORY_CREATED])
    page.wait_for_selector("#plan-review .plan-review", timeout=10000)
    assert page.locator("#run-status").inner_text() == "Awaiting approval"
    assert "module.repository.aws_ecr_repository.this" in page.locator("#plan-review").inner_text()
    assert page.evaluate("window.notReloaded") is True
    viewer.shot("planned")


def test_the_register_form_shows_each_fields_error_and_saves_nothing(screen, people):
    from portal.catalog.models import Service

    developer = screen("register-form-errors").log_in("author")
    developer.goto("/services/register/")
    page = developer.page
    page.type("#id_name", "Bad_Name!", delay=20)
    page.wait_for_selector("#preview-errors")  # the preview refuses the name while it is typed
    assert "Nothing is created under this name" in page.locator("#register-preview").inner_text()
    page.fill("#id_container_port", "70000")
    page.fill("#id_desired_count", "-1")
    page.fill("#id_health_check_path", "health")
    page.fill("#id_image_tag", "1.0.0")
    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        page.click("main form.card button[type=submit]")
    assert answer.value.status == 400
    errors = {field: page.locator(f"#{field}-errors").inner_text() for field in ("name", "container_port", "desired_count", "health_check_path")}
    assert all(errors.values()), errors
    assert page.locator("#image_tag-errors").count() == 0
    assert page.input_value("#id_container_port") == "70000"  # what was typed stays, to be corrected
    developer.shot("errors-per-field")
    assert not Service.objects.exists()
