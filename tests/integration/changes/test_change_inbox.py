"""The changes page: an approver's inbox (what waits for me, oldest first), what I proposed, every
change I may read; the count in the navigation; the services list's pending column; and what happens
next, said as what happens next."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.catalog.onboarding import register_service
from portal.changes import inbox, workflow
from portal.runs.models import RunStatus
from tests.builders import CAST
from tests.conftest import record_plan
from tests.integration.changes.test_approval_rule import REFUSALS, onboarding, planned

pytestmark = pytest.mark.usefixtures("parked_queue")


def case_approvable(people, data):
    return planned(onboarding(people, data)), people["approver"]


def waiting_ids(page: str, table: str) -> list[str]:
    section = page.split(f'id="{table}"', 1)
    return re.findall(r'data-change="([0-9a-f-]+)"', section[1].split("</table>", 1)[0]) if len(section) == 2 else []


def two_waiting(people, service_form_data):
    """Two registrations by the author, planned, oldest first."""
    first = planned(register_service(people["author"], **service_form_data)[1])
    second = planned(register_service(people["author"], **{**service_form_data, "name": "billing"})[1])
    return first, second


@pytest.mark.parametrize("arrange", [case_approvable, *(case for case, _, _ in REFUSALS)], ids=["approvable", *(code for _, _, code in REFUSALS)])
def test_the_inbox_holds_exactly_the_changes_the_approval_rule_lets_each_person_approve(people, service_form_data, arrange):
    # The inbox asks many changes at once what workflow.approval_refusal asks of one: they agree for
    # every person of the cast, in every state a change can be in.
    change, _ = arrange(people, service_form_data)
    for key in CAST:
        person = people[key]
        may = workflow.approval_refusal(change, person) is None
        listed = inbox.waiting_for(person).filter(pk=change.pk).exists()
        assert listed == may, (key, workflow.approval_refusal(change, person))
        assert inbox.waiting_count(person) == int(may)


def test_an_approver_sees_two_waiting_changes_oldest_first_and_their_count_in_the_navigation(client, people, service_form_data):
    first, second = two_waiting(people, service_form_data)

    client.force_login(people["approver"])
    page = client.get(reverse("changes:list")).content.decode()

    assert waiting_ids(page, "waiting") == [str(first.pk), str(second.pk)]
    assert re.search(r'id="nav-changes">Changes <span class="badge" title="2 changes wait for your approval">2</span>', page)
    assert "Waiting for an approver of the team art (its approvers, or an admin), not author, who proposed it; nobody has approved it yet." in page
    # Once one is approved, it leaves the inbox and the count.
    workflow.approve(first, people["approver"])
    page = client.get(reverse("runs:run-list")).content.decode()
    assert 'title="1 change waits for your approval">1</span>' in page


def test_more_waiting_than_the_section_lists_shows_the_oldest_and_counts_them_all(client, people, service_form_data, monkeypatch):
    first, second = two_waiting(people, service_form_data)
    third = planned(register_service(people["author"], **{**service_form_data, "name": "search"})[1])
    monkeypatch.setattr(inbox, "SECTION_LIMIT", 2)

    client.force_login(people["approver"])
    page = client.get(reverse("changes:list")).content.decode()

    assert waiting_ids(page, "waiting") == [str(first.pk), str(second.pk)]
    assert str(third.pk) in page.split('id="changes"', 1)[1], "the newest is still in the list of all changes"
    assert re.search(r'id="waiting-heading">Waiting for you <span class="help">\(3\)</span>', page)
    assert 'id="more-waiting">The 2 oldest of them are listed' in page
    assert 'title="3 changes wait for your approval">3</span>' in page
    assert inbox.waiting_section(people["approver"], 2)[1] == inbox.waiting_count(people["approver"]) == 3
    assert inbox.waiting_section(people["author"], 2) == ([], 0), "their own changes wait for someone else"


def test_the_proposer_finds_their_changes_under_way_and_nothing_to_approve(client, people, service_form_data):
    first, second = two_waiting(people, service_form_data)

    client.force_login(people["author"])
    page = client.get(reverse("changes:list")).content.decode()

    assert waiting_ids(page, "waiting") == [], "one's own changes are approved by someone else"
    assert waiting_ids(page, "mine") == [str(second.pk), str(first.pk)]
    assert 'class="badge"' not in page
    assert "Nothing waits for your approval." in page


def test_a_developer_reads_who_approves_rather_than_an_empty_inbox(client, people, service_form_data):
    two_waiting(people, service_form_data)

    client.force_login(people["dev"])
    page = client.get(reverse("changes:list")).content.decode()

    assert "You approve no changes" in page and 'class="badge"' not in page
    assert len(waiting_ids(page, "changes")) == 2, "every change of the team is listed below"


def test_the_list_filters_by_outcome_team_service_and_proposer(client, people, service_form_data):
    first, second = two_waiting(people, service_form_data)
    workflow.discard(second, people["author"])
    client.force_login(people["admin"])

    def listed(**query):
        response = client.get(reverse("changes:list"), query)
        assert response.status_code == 200, response.content
        return waiting_ids(response.content.decode(), "changes")

    assert listed(outcome="pending") == [str(first.pk)]
    assert listed(service="billing") == [str(second.pk)]
    assert listed(user="author", team="art") == [str(second.pk), str(first.pk)]
    assert listed(user="approver") == []


@pytest.mark.parametrize(
    "query, message",
    [
        ({"outcome": "done"}, "filter by one of: pending, applied, abandoned."),
        ({"team": "nobody-here"}, "no team has this name"),
        ({"service": "x" * 65}, "give at most 64 printable characters."),
        ({"user": "a\x00b"}, "give at most 150 printable characters."),
        ({"page": "two"}, "give a whole number"),
    ],
)
def test_a_bad_filter_is_a_400_that_says_what_it_takes(client, people, query, message):
    client.force_login(people["admin"])
    response = client.get(reverse("changes:list"), query)

    assert response.status_code == 400
    assert message in response.content.decode()


def test_another_team_s_changes_and_the_platform_s_are_not_listed_to_a_developer(client, people, service_form_data, django_user_model):
    from portal.access.models import Team

    other_team = Team.objects.create(name="payments")
    service, registration = register_service(people["admin"], team=other_team, **{**service_form_data, "name": "ledger"})
    planned(registration)
    client.force_login(people["approver"])

    page = client.get(reverse("changes:list")).content.decode()

    assert str(registration.pk) not in page
    assert not inbox.waiting_for(people["approver"]).exists()


def test_the_page_costs_the_same_queries_for_3_and_30_changes(client, people, service_form_data):
    client.force_login(people["approver"])

    def queries_with(count: int) -> int:
        for number in range(count - inbox.Change.objects.count()):
            planned(register_service(people["author"], **{**service_form_data, "name": f"svc-{count}-{number}"})[1])
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("changes:list")).status_code == 200
        return len(captured)

    assert queries_with(3) == queries_with(30)


def test_the_services_list_costs_the_same_queries_for_3_and_30_services_with_changes_under_way(client, people, service_form_data):
    client.force_login(people["dev"])

    def queries_with(count: int) -> int:
        for number in range(count - inbox.Change.objects.count()):
            change = register_service(people["author"], **{**service_form_data, "name": f"svc-{count}-{number}"})[1]
            if number % 2:
                planned(change)  # waits for approval; the others are still planning
        with CaptureQueriesContext(connection) as captured:
            page = client.get(reverse("catalog:service-list")).content.decode()
        assert page.count('<td class="pending-change"') == count and "waits for approval" in page and "planning" in page
        return len(captured)

    assert queries_with(3) == queries_with(30)


def test_the_services_list_links_a_pending_change_and_says_what_it_waits_for(client, people, service_form_data):
    first, _ = two_waiting(people, service_form_data)
    planning = register_service(people["author"], **{**service_form_data, "name": "search"})[1]
    client.force_login(people["dev"])

    page = client.get(reverse("catalog:service-list")).content.decode()

    cells = dict(re.findall(r'<a href="/services/([\w-]+)/">.*?<td class="pending-change"[^>]*>(.*?)</td>', page, re.S))
    assert f'href="/changes/{first.pk}/"' in cells["sourcing-data-service"] and "waits for approval" in cells["sourcing-data-service"]
    assert f'href="/changes/{planning.pk}/"' in cells["search"] and "planning" in cells["search"]


def test_an_ended_change_says_so_and_no_longer_explains_why_approve_is_not_offered(client, people, service_form_data):
    change = planned(onboarding(people, service_form_data))
    url = reverse("changes:detail", kwargs={"change_id": change.pk})
    client.force_login(people["dev"])

    waiting = client.get(url).content.decode()
    assert "Approve is not offered: Approving needs the approvers&#x27; permission." in waiting
    assert "nobody has approved it yet" in waiting

    workflow.approve(change, people["approver"])
    for run in change.runs_in_order():
        run.start_applying()
        run.finish_applied({})
        workflow.advance(change)
    ended = client.get(url).content.decode()

    assert 'id="approval-refusal"' not in ended and 'id="discard-refusal"' not in ended
    assert "Applied: nothing more happens." in ended


def test_next_step_while_planning_applying_and_after_a_failure(people, service_form_data):
    change = onboarding(people, service_form_data)
    first, second = change.runs_in_order()
    assert inbox.next_step(change, [first, second]).startswith("Planning: 0 of 2 plans done.")
    record_plan(first)
    second.start_planning()
    second.fail("terraform plan exited with code 1")
    workflow.advance(change)
    change.refresh_from_db()
    runs = change.runs_in_order()
    assert inbox.next_step(change, runs) == (
        f"Ended without applying ({second.workspace.path}: Failed). Nothing more happens; propose the change again to go on."
    )
    assert inbox.stage({run.status for run in runs}) == inbox.Stage.STOPPED
    assert RunStatus.FAILED in {run.status for run in runs}
