"""One approval rule, one answer: for every case the page, its button and the API say the same
thing (status, code, sentence), because all of them ask portal.changes.workflow."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from portal.catalog.onboarding import change_service, register_service
from portal.changes import workflow
from portal.runs.models import Change, Run, RunStatus
from portal.workspaces.layout import sync_platform_workspaces
from tests.conftest import api_for, record_plan


def planned(change: Change, *, to_add=2) -> Change:
    for run in change.runs_in_order():
        record_plan(run, to_add=to_add)
    return change


def onboarding(people, service_form_data) -> Change:
    return register_service(people["author"], **service_form_data)[1]


# Each case: the change as it is, and who asks; then the answer every surface must give.
def case_not_approver(people, data):
    return planned(onboarding(people, data)), people["dev"]


def case_own_change(people, data):
    return planned(onboarding(people, data)), people["author"]


def case_plan_running(people, data):
    change = onboarding(people, data)
    first, second = change.runs_in_order()
    record_plan(first)
    second.start_planning()
    return change, people["approver"]


def case_plan_failed(people, data):
    change = onboarding(people, data)
    first, second = change.runs_in_order()
    record_plan(first)
    second.start_planning()
    second.fail("terraform plan exited with code 1")
    workflow.advance(change)
    return change, people["approver"]


def case_discarded(people, data):
    change = planned(onboarding(people, data))
    workflow.discard(change, people["author"])
    return change, people["approver"]


def case_stale(people, data):
    change = planned(onboarding(people, data))
    change_service(change.service, people["dev"], cpu=512)
    return change, people["approver"]


def case_already_approved(people, data):
    change = planned(onboarding(people, data))
    workflow.approve(change, people["approver"])
    return change, people["admin"]


def case_nothing_to_approve(people, data):
    change = planned(onboarding(people, data), to_add=0)
    return change, people["approver"]


def case_platform_without_platform_permission(people, data):
    # A change that grants its service a secret is the platform's to approve, whatever its plans show;
    # the service's own approvers read it but do not approve it. (The platform's own changes are not
    # even readable to them: tests/integration/accounts/test_team_permissions.py.)
    secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:art-service/db-AbCdEf"
    change = planned(register_service(people["author"], **data, secrets={"DB_PASSWORD": secret})[1])
    return change, people["approver"]


REFUSALS = [
    (case_not_approver, 403, "not_approver"),
    (case_own_change, 403, "own_change"),
    (case_plan_running, 409, "plan_running"),
    (case_plan_failed, 409, "plan_failed"),
    (case_discarded, 409, "discarded"),
    (case_stale, 409, "stale"),
    (case_already_approved, 409, "already_approved"),
    (case_nothing_to_approve, 409, "nothing_to_approve"),
    (case_platform_without_platform_permission, 403, "platform_permission"),
]


def statuses(change):
    return sorted(Run.objects.filter(change=change).values_list("pk", "status"))


@pytest.mark.django_db
@pytest.mark.parametrize(("arrange", "status", "code"), REFUSALS, ids=[c[2] for c in REFUSALS])
def test_the_page_and_the_api_refuse_alike(client, people, service_form_data, arrange, status, code):
    change, user = arrange(people, service_form_data)
    run = change.runs_in_order()[0]
    before = statuses(change)
    refusal = workflow.approval_refusal(change, user)

    client.force_login(user)
    page = client.get(reverse("runs:run-detail", kwargs={"run_id": run.pk})).content.decode()
    web = client.post(reverse("runs:run-approve", kwargs={"run_id": run.pk}))
    api = api_for(user).post(f"/api/v1/runs/{run.pk}/approve/")

    assert (refusal.code, refusal.http_status) == (code, status)
    assert 'id="approve"' not in page, "no button where the rule says no"
    assert web.status_code == api.status_code == status
    assert f'data-code="{code}"' in web.content.decode() and escape(refusal.message) in web.content.decode()
    assert (api.json()["code"], api.json()["detail"]) == (code, refusal.message)
    assert statuses(change) == before, "a refusal changes nothing"


@pytest.mark.django_db
def test_the_page_offers_the_button_and_approves(client, people, service_form_data, parked_queue, django_capture_on_commit_callbacks):
    change = planned(onboarding(people, service_form_data))
    run = change.runs_in_order()[0]
    client.force_login(people["approver"])
    parked_queue.empty()

    page = client.get(reverse("runs:run-detail", kwargs={"run_id": run.pk})).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("runs:run-approve", kwargs={"run_id": run.pk}))

    assert 'id="approve"' in page
    assert response.status_code == 302
    assert {r.status for r in change.runs.all()} == {RunStatus.APPROVED}
    queued = [job.id for job in parked_queue.jobs]
    assert queued == [f"run-{run.pk}-approved"], "only the first apply is queued; the worker queues the next"


@pytest.mark.django_db
def test_the_api_approves_a_platform_change_by_another_admin(people):
    network = sync_platform_workspaces()[0]
    change = planned(workflow.propose("Plan the network", [(network, network.variables)], people["admin"]))
    run = change.runs_in_order()[0]

    own = api_for(people["admin"]).post(f"/api/v1/runs/{run.pk}/approve/")
    other = api_for(people["other-admin"]).post(f"/api/v1/runs/{run.pk}/approve/")

    assert (own.status_code, own.json()["code"]) == (403, "own_change")
    assert other.status_code == 202 and other.json()["status"] == "approved"


DISCARD_REFUSALS = [
    ("dev", lambda change: None, 403, "not_allowed"),
    ("author", lambda change: change.runs_in_order()[1].start_planning(), 409, "plan_running"),
    ("author", lambda change: workflow.discard(change, change.requested_by), 409, "not_discardable"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "arrange", "status", "code"), DISCARD_REFUSALS, ids=[c[3] for c in DISCARD_REFUSALS])
def test_discard_refusals_are_the_same_on_the_page_and_the_api(client, people, service_form_data, who, arrange, status, code):
    change = onboarding(people, service_form_data)
    record_plan(change.runs_in_order()[0])
    arrange(change)
    run = change.runs_in_order()[0]
    before = statuses(change)

    client.force_login(people[who])
    web = client.post(reverse("runs:run-discard", kwargs={"run_id": run.pk}))
    api = api_for(people[who]).post(f"/api/v1/runs/{run.pk}/discard/")

    assert web.status_code == api.status_code == status
    assert f'data-code="{code}"' in web.content.decode()
    assert api.json()["code"] == code
    assert statuses(change) == before


@pytest.mark.django_db
def test_a_failed_plan_abandons_the_rest_of_its_change(people, service_form_data):
    change = onboarding(people, service_form_data)
    first, second = change.runs_in_order()
    record_plan(first)
    second.start_planning()
    second.fail("terraform plan exited with code 1")

    workflow.advance(change)

    first.refresh_from_db()
    change.refresh_from_db()
    assert first.status == RunStatus.ABANDONED and second.workspace.path in first.error
    assert change.outcome == Change.Outcome.ABANDONED


@pytest.mark.django_db(transaction=True)
def test_two_approvals_at_the_same_moment_approve_once(people, service_form_data, parked_queue):
    """Both approvers ask at once; the change's rows are locked, so the second sees the first."""
    import threading

    from django.db import connection

    change = planned(onboarding(people, service_form_data))
    results, barrier = {}, threading.Barrier(2)

    def approve_as(name):
        barrier.wait()
        try:
            workflow.approve(Change.objects.get(pk=change.pk), people[name])
            results[name] = "approved"
        except workflow.Refused as exc:
            results[name] = exc.refusal.code
        finally:
            connection.close()

    threads = [threading.Thread(target=approve_as, args=(name,)) for name in ("approver", "admin")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results.values()) == ["already_approved", "approved"]
    approvers = {run.approved_by_id for run in Run.objects.filter(change=change)}
    assert len(approvers) == 1
