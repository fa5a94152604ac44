"""A declaration is only a proposal until it is applied: discarded, stale or failed proposals leave
the applied declaration as it was, and nothing of them travels into the next change."""

import pytest

from portal.catalog.models import Service
from portal.catalog.onboarding import change_service, register_service
from portal.changes import workflow
from portal.runs.models import Change, RunStatus
from tests.conftest import api_for, plan_approve_apply, record_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def onboarded(people, service_form_data):
    service, change = register_service(people["author"], **service_form_data)
    plan_approve_apply(change, people["approver"])
    return Service.objects.get(pk=service.pk)


def test_the_onboarding_applied_becomes_the_applied_declaration(onboarded):
    assert onboarded.applied_revision.number == 1
    assert onboarded.applied_revision.cpu == 256
    assert onboarded.changes.get().outcome == Change.Outcome.APPLIED


def test_a_discarded_edit_never_travels_into_the_next_change(people, onboarded):
    # 1. A changes the CPU; an approver discards it.
    a_change = change_service(onboarded, people["author"], cpu=1024)
    for run in a_change.runs_in_order():
        record_plan(run)
    workflow.discard(a_change, people["approver"])
    # 2. The applied declaration is untouched, and nothing is pending.
    body = api_for(people["dev"]).get(f"/api/v1/services/{onboarded.name}/").json()
    assert (body["cpu"], body["applied_revision"], body["proposed"]) == (256, 1, None)
    # 3. B changes only the desired count: B's change carries B's edit alone.
    b_change = change_service(Service.objects.get(pk=onboarded.pk), people["dev"], desired_count=3)
    service_run = b_change.runs_in_order()[1]
    assert [str(c) for c in b_change.revision.diff()] == ["desired_count 1 -> 3"]
    assert (service_run.variables["cpu"], service_run.variables["desired_count"]) == (256, 3)
    assert b_change.revision.based_on.number == 1
    # A (also an approver) may approve B's change, and what applies is B's edit only.
    plan_approve_apply(b_change, people["author"])
    applied = Service.objects.get(pk=onboarded.pk).applied_revision
    assert (applied.cpu, applied.desired_count) == (256, 3)


@pytest.mark.parametrize("ending", ["stale", "failed_plan", "failed_apply"])
def test_an_unapplied_proposal_leaves_the_applied_declaration(people, onboarded, ending):
    proposal = change_service(onboarded, people["author"], cpu=1024)
    runs = proposal.runs_in_order()
    if ending == "stale":
        for run in runs:
            record_plan(run)
        runs[0].refresh_from_db()
        runs[0].mark_stale("The saved plan is missing or was altered since approval; plan again.")
        workflow.advance(proposal)
    elif ending == "failed_plan":
        record_plan(runs[0])
        runs[1].start_planning()
        runs[1].fail("terraform plan exited with code 1")
        workflow.advance(proposal)
    else:
        for run in runs:
            record_plan(run)
        workflow.approve(proposal, people["approver"])
        first = runs[0]
        first.refresh_from_db()
        first.start_applying()
        first.fail("terraform apply exited with code 1")
        workflow.advance(proposal)

    proposal.refresh_from_db()
    service = Service.objects.with_declarations().get(pk=onboarded.pk)
    assert proposal.outcome == Change.Outcome.ABANDONED
    assert service.applied_revision.number == 1 and service.applied_revision.cpu == 256
    assert service.proposed_revision is None
    assert not {r.status for r in proposal.runs.all()} & {RunStatus.APPROVED, RunStatus.QUEUED, RunStatus.AWAITING_APPROVAL}
    nxt = change_service(service, people["dev"], desired_count=2)
    assert nxt.runs_in_order()[1].variables["cpu"] == 256


def test_a_newer_change_supersedes_the_waiting_one_and_carries_only_its_own_edits(people, onboarded):
    first = change_service(onboarded, people["author"], cpu=1024)
    for run in first.runs_in_order():
        record_plan(run)

    second = change_service(onboarded, people["dev"], memory=1024)

    first.refresh_from_db()
    assert {r.status for r in first.runs.all()} == {RunStatus.STALE}
    assert first.outcome == Change.Outcome.ABANDONED
    assert "Superseded" in first.runs.first().error
    assert [str(c) for c in second.revision.diff()] == ["memory 512 -> 1024"]
    assert second.runs_in_order()[1].variables["cpu"] == 256


def test_the_page_and_the_api_show_applied_and_proposed_values_with_a_diff(client, people, onboarded):
    change = change_service(onboarded, people["author"], cpu=1024, desired_count=2)
    client.force_login(people["dev"])

    page = client.get(f"/services/{onboarded.name}/").content.decode()
    run_page = client.get(f"/runs/{change.runs_in_order()[1].pk}/").content.decode()
    body = api_for(people["dev"]).get(f"/api/v1/services/{onboarded.name}/").json()

    assert "<code>cpu 256 -&gt; 1024</code>" in page and "<code>desired_count 1 -&gt; 2</code>" in page
    assert run_page.index("cpu 256 -&gt; 1024") < run_page.index('id="plan-summary"'), "the diff stands above the plan"
    assert (body["cpu"], body["desired_count"]) == (256, 1)
    assert (body["proposed"]["cpu"], body["proposed"]["desired_count"]) == (1024, 2)
    assert [d["text"] for d in body["proposed"]["diff"]] == ["cpu 256 -> 1024", "desired_count 1 -> 2"]
    assert body["proposed"]["proposed_by"] == "author"


def test_a_change_form_starts_from_the_applied_declaration(client, people, onboarded):
    change_service(onboarded, people["author"], cpu=1024)
    client.force_login(people["dev"])

    form = client.get(f"/services/{onboarded.name}/change/").context["form"]

    assert form.initial["cpu"] == 256


def test_a_proposal_the_waiting_change_already_makes_queues_nothing(people, onboarded):
    first = change_service(onboarded, people["author"], image_tag="1.1.0")

    again = change_service(onboarded, people["author"], image_tag="1.1.0")

    assert again is None
    assert {r.status for r in first.runs.all()} == {RunStatus.QUEUED}
