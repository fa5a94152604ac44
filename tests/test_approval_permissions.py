"""Only an approver who is not the plan's author can approve it."""

import pytest
from django.urls import reverse

from portal.catalog.onboarding import register_service
from portal.runs.models import RunStatus
from tests.conftest import record_plan


@pytest.fixture
def planned_change(make_user, service_form_data):
    author = make_user("author", "developers", "approvers")
    _, change = register_service(author, **service_form_data)
    for run in change.runs_in_order():
        record_plan(run)
    return change


@pytest.fixture
def planned_run(planned_change):
    run = planned_change.runs_in_order()[0]
    assert run.status == RunStatus.AWAITING_APPROVAL
    return run


def approve_url(run):
    return reverse("runs:run-approve", kwargs={"run_id": run.pk})


def test_author_sees_no_approve_button_and_is_refused(client, planned_run):
    client.force_login(planned_run.requested_by)

    page = client.get(reverse("runs:run-detail", kwargs={"run_id": planned_run.pk}))
    response = client.post(approve_url(planned_run))

    assert b'id="approve"' not in page.content
    assert b"an approver other than author" in page.content
    assert response.status_code == 403
    planned_run.refresh_from_db()
    assert planned_run.status == RunStatus.AWAITING_APPROVAL
    assert planned_run.approved_by is None


def test_user_outside_approvers_is_refused(client, make_user, planned_run):
    client.force_login(make_user("other-dev", "developers"))

    page = client.get(reverse("runs:run-detail", kwargs={"run_id": planned_run.pk}))
    response = client.post(approve_url(planned_run))

    assert b'id="approve"' not in page.content
    assert response.status_code == 403
    planned_run.refresh_from_db()
    assert planned_run.status == RunStatus.AWAITING_APPROVAL


def test_another_approver_approves_the_whole_change_and_the_first_apply_is_queued(
    client, make_user, planned_run, django_capture_on_commit_callbacks
):
    approver = make_user("approver", "approvers")
    client.force_login(approver)

    page = client.get(reverse("runs:run-detail", kwargs={"run_id": planned_run.pk}))
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(approve_url(planned_run))

    assert b'id="approve"' in page.content
    assert response.status_code == 302
    for run in planned_run.change.runs.all():
        assert (run.status, run.approved_by) == (RunStatus.APPROVED, approver)
    assert len(callbacks) == 1, "only the first apply is queued; the worker queues the next"


def test_no_approval_while_a_plan_of_the_change_is_still_running(client, make_user, service_form_data):
    _, change = register_service(make_user("author", "developers"), **service_form_data)
    first, second = change.runs_in_order()
    record_plan(first)
    second.start_planning()
    client.force_login(make_user("approver", "approvers"))

    response = client.post(approve_url(first))

    assert response.status_code == 403
    first.refresh_from_db()
    assert first.status == RunStatus.AWAITING_APPROVAL


def test_a_run_cannot_be_approved_twice(client, make_user, planned_run):
    client.force_login(make_user("approver", "approvers"))
    client.post(approve_url(planned_run))

    second = client.post(approve_url(planned_run))

    assert second.status_code == 403
    planned_run.refresh_from_db()
    assert planned_run.status == RunStatus.APPROVED


def test_a_newer_change_makes_the_waiting_plan_stale(make_user, planned_run):
    from portal.runs.queueing import queue_plan

    newer = queue_plan(planned_run.workspace, planned_run.requested_by, planned_run.change)

    planned_run.refresh_from_db()
    assert planned_run.status == RunStatus.STALE
    assert "Superseded" in planned_run.error
    assert not planned_run.approve(make_user("approver", "approvers"))
    assert newer.status == RunStatus.QUEUED
