"""Requests that race: two registrations of one name, two changes of one service. Each request
runs in its own thread with its own database connection, released together by a barrier."""

import threading

import pytest
from django.db import connection

from portal.catalog.models import Service
from portal.catalog.onboarding import register_service
from portal.runs.models import Change, RunStatus
from tests.conftest import api_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("parked_queue")]


def at_once(*requests):
    """Run the callables at the same moment; return their responses in order."""
    barrier, responses = threading.Barrier(len(requests)), [None] * len(requests)

    def run(index, request):
        barrier.wait()
        try:
            responses[index] = request()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


@pytest.mark.parametrize("attempt", range(3))
def test_two_registrations_of_one_name_one_wins(make_user, service_form_data, attempt):
    first, second = api_for(make_user("one", "developers")), api_for(make_user("two", "developers"))

    responses = at_once(
        lambda: first.post("/api/v1/services/", service_form_data, format="json"),
        lambda: second.post("/api/v1/services/", {**service_form_data, "cpu": 512}, format="json"),
    )

    codes = sorted(r.status_code for r in responses)
    assert codes == [201, 400], [r.content[:200] for r in responses]
    loser = next(r for r in responses if r.status_code == 400).json()
    assert loser["fields"]["name"] == ["A service with this name is already registered."]
    assert Service.objects.count() == 1 and Change.objects.count() == 1


@pytest.mark.parametrize("attempt", range(3))
def test_two_changes_of_one_service_take_turns(make_user, service_form_data, attempt):
    author = make_user("author", "developers")
    service, _ = register_service(author, **service_form_data)
    a, b = api_for(make_user("a", "developers")), api_for(make_user("b", "developers"))

    responses = at_once(
        lambda: a.patch(f"/api/v1/services/{service.name}/", {"cpu": 1024}, format="json"),
        lambda: b.patch(f"/api/v1/services/{service.name}/", {"desired_count": 3}, format="json"),
    )

    assert [r.status_code for r in responses] == [200, 200], [r.content[:200] for r in responses]
    # No lost update: both proposals are recorded as revisions 2 and 3, each with only its own edit,
    # and exactly one of them (the later) waits; the other was superseded, not silently merged.
    revisions = {r.number: r for r in service.revisions.all()}
    assert sorted(revisions) == [1, 2, 3]
    edits = sorted(tuple(str(c) for c in revisions[n].diff()) for n in (2, 3))
    assert edits == [("cpu 256 -> 1024",), ("desired_count 1 -> 3",)]
    pending = Change.objects.pending().filter(service=service)
    assert pending.count() == 1 and pending.get().revision.number == 3
    assert set(Change.objects.get(revision__number=2, service=service).runs.values_list("status", flat=True)) == {RunStatus.STALE}


@pytest.mark.parametrize("attempt", range(3))
def test_an_approval_and_a_newer_change_at_once_never_deadlock(make_user, service_form_data, attempt):
    """Both lock the same runs; locked in one order, one waits for the other instead of a deadlock."""
    from tests.conftest import record_plan

    author = make_user("author", "developers")
    service, change = register_service(author, **service_form_data)
    for run in change.runs_in_order():
        record_plan(run)
    approver, other = api_for(make_user("approver", "approvers")), api_for(make_user("other", "developers"))
    run_id = change.runs_in_order()[1].pk

    approved, proposed = at_once(
        lambda: approver.post(f"/api/v1/runs/{run_id}/approve/"),
        lambda: other.patch(f"/api/v1/services/{service.name}/", {"cpu": 512}, format="json"),
    )

    # Whichever came first wins; the other is refused with a reason, never a 500.
    assert {(approved.status_code, proposed.status_code)} <= {(202, 409), (409, 200)}, (approved.content, proposed.content)
    if approved.status_code == 202:
        assert proposed.json()["code"] == "workspace_busy"
    else:
        assert approved.json()["code"] == "stale"
