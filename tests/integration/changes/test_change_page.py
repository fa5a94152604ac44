"""A change's page tells a reviewer what is asked (who, the declaration diff, each workspace's
resource diff) and offers the decision only to who may take it; the run's page follows progress."""

import pytest
from django.urls import reverse

from portal.catalog.onboarding import change_service, register_service
from portal.changes.workflow import advance, approve
from portal.runs.models import Run, RunStatus
from portal.runs.progress import progress_of

pytestmark = pytest.mark.usefixtures("parked_queue")

TASK_DEFINITION_REPLACED = {
    "address": "module.service.aws_ecs_task_definition.this",
    "type": "aws_ecs_task_definition",
    "action": "replace",
    "action_display": "replace",
    "reason": "cpu cannot be changed in place",
    "moved_from": "",
    "attributes": [{"path": "cpu", "before": '"256"', "after": '"1024"', "forces_replacement": True}],
    "more_attributes": 0,
    "notes": ["New task definition revision: running tasks are replaced by tasks of the new revision"],
}


def planned(change, plan_changes):
    """Every run of the change planned as a worker records it, with its resource diff."""
    for run in change.runs_in_order():
        run.start_planning()
        run.record_plan(to_add=1, to_change=0, to_destroy=1, plan_sha256="0" * 64, inputs_sha256="1" * 64, plan_changes=plan_changes)
    advance(change)
    return change.runs_in_order()


@pytest.fixture
def cpu_change(people, service_form_data):
    service, registration = register_service(people["author"], **service_form_data)
    planned(registration, [])
    approve(registration, people["approver"])
    for run in registration.runs_in_order():
        run.start_applying()
        run.finish_applied({})
        advance(registration)
    service.refresh_from_db()
    declaration = {k: v for k, v in service_form_data.items() if k != "name"}
    change = change_service(service, people["author"], **{**declaration, "cpu": 1024, "memory": 2048})
    planned(change, [TASK_DEFINITION_REPLACED])
    return change


def test_the_proposer_reads_what_is_asked_and_is_not_offered_the_approval(client, people, cpu_change):
    client.force_login(people["author"])
    page = client.get(reverse("changes:detail", kwargs={"change_id": cpu_change.pk})).content.decode()

    assert "author" in page.split('id="proposed-by"')[1][:60]
    assert "cpu 256 -&gt; 1024" in page and "memory 512 -&gt; 2048" in page
    assert "module.service.aws_ecs_task_definition.this" in page
    assert "because cpu cannot be changed in place" in page
    assert "forces replacement" in page
    assert "New task definition revision: running tasks are replaced" in page
    for run in cpu_change.runs.all():
        assert run.workspace.state_key in page
        assert reverse("runs:run-detail", kwargs={"run_id": run.pk}) in page  # the raw log, one click away
    assert 'id="approve"' not in page
    assert "Approve is not offered: A change is approved by someone other than the person who proposed it." in page
    assert 'id="discard"' in page  # the proposer may take it back


def test_an_approver_approves_from_the_change_page(client, people, cpu_change):
    client.force_login(people["approver"])
    page = client.get(reverse("changes:detail", kwargs={"change_id": cpu_change.pk})).content.decode()
    assert 'id="approve"' in page and "approval-refusal" not in page

    response = client.post(reverse("changes:approve", kwargs={"change_id": cpu_change.pk}))
    assert response.status_code == 302
    assert response.url == reverse("changes:detail", kwargs={"change_id": cpu_change.pk})
    assert set(cpu_change.runs.values_list("approved_by__username", flat=True)) == {"approver"}

    again = client.post(reverse("changes:approve", kwargs={"change_id": cpu_change.pk}))
    assert again.status_code == 409
    assert "This change was approved already." in again.content.decode()


def test_another_developer_is_refused_with_the_reason(client, people, cpu_change):
    client.force_login(people["other"])
    response = client.post(reverse("changes:approve", kwargs={"change_id": cpu_change.pk}))
    assert response.status_code == 403
    assert "Approving needs the approvers&#x27; permission." in response.content.decode()
    assert not cpu_change.runs.exclude(status=RunStatus.AWAITING_APPROVAL).exists()


def test_the_status_moves_its_version_and_tells_the_progress(client, people, cpu_change):
    client.force_login(people["author"])
    url = reverse("changes:status", kwargs={"change_id": cpu_change.pk})
    before = client.get(url).json()
    approve(cpu_change, people["approver"])
    run = cpu_change.runs_in_order()[-1]
    Run.objects.filter(change=cpu_change).exclude(pk=run.pk).update(status=RunStatus.APPLIED)
    run.start_applying()
    run.append_log(
        "$ terraform apply -input=false plan.tfplan\n"
        "module.service.aws_ecs_task_definition.this: Creating...\n"
        "module.service.aws_ecs_task_definition.this: Creation complete after 1s [id=svc]\n"
    )
    after = client.get(url).json()

    assert after["version"] != before["version"]
    assert after["settled"] is False
    state = next(state for state in after["runs"] if state["id"] == str(run.pk))
    assert state["progress"] == {
        "phase": "applying",
        "done": 1,
        "total": 2,
        "text": "Applying: 1 of 2 resources done",
        "percent": 50,
    }


def test_progress_counts_what_terraform_finished_against_the_plan(people, cpu_change):
    run = cpu_change.runs_in_order()[-1]
    run.status = RunStatus.PLANNING
    run.log = "module.x.aws_vpc.this: Refreshing state... [id=vpc-1]\ndata.aws_region.current: Reading...\n"
    assert progress_of(run).text == "Planning: 2 resources read so far"

    run.status, run.to_add, run.to_change, run.to_destroy = RunStatus.APPLYING, 1, 1, 1
    run.log = (
        "module.a.aws_thing.x: Modifications complete after 2s [id=x]\n"  # an earlier apply's line
        "$ terraform apply -input=false plan\n"
        "  # indented diff: aws_thing.y: Creation complete after 1s\n"
        "aws_thing.y: Destruction complete after 1s\n"
        "aws_thing.z: Modifications complete after 3s [id=z]\n"
    )
    progress = progress_of(run)
    assert (progress.done, progress.total, progress.percent) == (2, 3, 67)


def test_the_run_log_answers_with_progress(client, people, cpu_change):
    client.force_login(people["author"])
    run = cpu_change.runs_in_order()[0]
    Run.objects.filter(pk=run.pk).update(status=RunStatus.PLANNING)
    run.append_log("aws_ecr_repository.this: Refreshing state... [id=r]\n")
    data = client.get(reverse("runs:run-log", kwargs={"run_id": run.pk}), {"offset": 0}).json()
    assert data["running"] is True
    assert data["progress"]["text"] == "Planning: 1 resource read so far"
    assert data["text"].endswith("Refreshing state... [id=r]\n")


def test_an_unknown_change_is_a_404(client, people):
    client.force_login(people["author"])
    assert client.get("/changes/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/changes/not-a-uuid/").status_code == 404
