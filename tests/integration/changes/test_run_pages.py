"""The runs page (/runs/): every run newest first, its filters, the active run and queue of each
workspace, a fixed number of queries however many runs; a service's history page; and the services
page, paginated, in a fixed number of queries too."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.catalog.models import Service
from portal.catalog.onboarding import change_service, register_service
from portal.changes import workflow
from portal.runs.models import Run, RunStatus
from portal.workspaces.models import Workspace
from tests.conftest import plan_approve_apply, record_plan

pytestmark = pytest.mark.django_db

RUNS = "/runs/"


@pytest.fixture
def browser(client, people):
    client.force_login(people["dev"])
    return client


def listed(response) -> list[str]:
    """The ids of the runs in the page's list, in order."""
    assert response.status_code == 200, response.content[:500]
    return re.findall(r'<tr data-run="([0-9a-f-]+)">', response.content.decode())


def finished_run(workspace, status=RunStatus.APPLIED, *, requested_by=None, approved_by=None, minutes_ago=0):
    return Run.objects.create(
        workspace=workspace,
        status=status,
        requested_by=requested_by,
        approved_by=approved_by,
        to_add=1,
        to_change=2,
        to_destroy=0,
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
        finished_at=timezone.now(),
    )


@pytest.fixture
def history(people, service_form_data):
    """alpha: onboarded (applied, approved by approver) then a pending change by other-developer; beta: its
    onboarding's plans queued."""
    alpha, change = register_service(people["dev"], **{**service_form_data, "name": "alpha"})
    plan_approve_apply(change, people["approver"])
    pending = change_service(Service.objects.get(pk=alpha.pk), people["other"], cpu=1024)
    for run in pending.runs_in_order():
        record_plan(run)
    beta, _ = register_service(people["dev"], **{**service_form_data, "name": "beta"})
    return {"alpha": alpha, "beta": beta, "onboarding": change, "pending": pending}


# --- the list and its filters ----------------------------------------------------------------------
def test_every_run_is_listed_newest_first_with_its_people_and_plan(browser, history, people):
    response = browser.get(RUNS)

    assert listed(response) == [str(run.pk) for run in Run.objects.order_by("-created_at", "-pk")]
    page = response.content.decode()
    run = history["onboarding"].runs_in_order()[1]
    row = page[page.index(f'data-run="{run.pk}"') :].split("</tr>")[0]
    assert reverse("runs:run-detail", args=[run.pk]) in row
    assert "ecs/services/art-service-alpha" in row and "Plan and apply" in row and "status-applied" in row
    assert ">dev<" in row and ">approver<" in row and "+2" in row and "~0" in row and "-0" in row


def test_each_filter_narrows_the_list(browser, history, people):
    every = Run.objects.all()
    alpha_service_ws = Workspace.objects.get(path="ecs/services/art-service-alpha")

    assert set(listed(browser.get(RUNS, {"status": "queued"}))) == {str(r.pk) for r in every.filter(status="queued")}
    assert set(listed(browser.get(RUNS, {"service": "beta"}))) == {str(r.pk) for r in every.filter(workspace__service=history["beta"])}
    assert set(listed(browser.get(RUNS, {"workspace": alpha_service_ws.path}))) == {str(r.pk) for r in alpha_service_ws.runs.all()}
    # requested by other-developer: the pending change; approved by approver: the onboarding of alpha.
    assert set(listed(browser.get(RUNS, {"user": "other-developer"}))) == {str(r.pk) for r in history["pending"].runs.all()}
    assert set(listed(browser.get(RUNS, {"user": "approver"}))) == {str(r.pk) for r in history["onboarding"].runs.all()}
    assert listed(browser.get(RUNS, {"service": "no-such-service"})) == []
    assert "No run matches these filters" in browser.get(RUNS, {"user": "nobody"}).content.decode()


def test_filters_combine(browser, history, people):
    alpha_runs = Run.objects.filter(workspace__service=history["alpha"])

    by_dev_applied = listed(browser.get(RUNS, {"service": "alpha", "user": "dev", "status": "applied"}))
    pending_on_one_workspace = listed(
        browser.get(RUNS, {"workspace": "ecs/services/art-service-alpha", "user": "other-developer", "status": "awaiting_approval"})
    )

    assert set(by_dev_applied) == {str(r.pk) for r in alpha_runs.filter(status="applied")}
    assert len(by_dev_applied) == 2
    assert pending_on_one_workspace == [str(r.pk) for r in history["pending"].runs.filter(workspace__path="ecs/services/art-service-alpha")]
    assert listed(browser.get(RUNS, {"service": "beta", "status": "applied"})) == []


@pytest.mark.parametrize(
    "query, message",
    [
        ({"status": "done"}, "status: filter by one of: queued, planning"),
        ({"service": "a\x00b"}, "service: give at most 64 printable characters."),
        ({"user": "x" * 151}, "user: give at most 150 printable characters."),
        ({"page": "²"}, "page: give a whole number"),
        ({"page": "0"}, "page: give a whole number"),
    ],
)
def test_a_bad_filter_is_a_400_that_says_what_it_takes(browser, query, message):
    response = browser.get(RUNS, query)

    assert response.status_code == 400
    assert message in response.content.decode()


def test_a_page_past_the_last_is_404(browser, history):
    assert browser.get(RUNS, {"page": "9"}).status_code == 404


def page_links(response) -> dict[str, str]:
    """The page's Newest, Newer and Older links: each its query string."""
    block = re.search(r'<p class="pages" id="pages">(.*?)</p>', response.content.decode(), re.S)
    return {name: href.replace("&amp;", "&") for href, name in re.findall(r'<a href="\?([^"]*)">(\w+)</a>', block[1])} if block else {}


def finished_runs_of_a_new_service(people, service_form_data, count: int) -> None:
    """A service registered by dev (its two plans queued), and `count` older finished runs, a minute apart."""
    service, _ = register_service(people["dev"], **service_form_data)
    workspace = service.workspaces.first()
    for minutes in range(count):
        finished_run(workspace, requested_by=people["dev"], minutes_ago=minutes + 1)


def follow(browser, query: str):
    return browser.get(f"{RUNS}?{query}")


def test_pages_hold_fifty_runs_and_keep_the_filters(browser, people, service_form_data):
    finished_runs_of_a_new_service(people, service_form_data, 60)

    first = browser.get(RUNS, {"user": "dev"})
    links = page_links(first)
    assert set(links) == {"Older"} and links["Older"].startswith("user=dev&older=")
    second = follow(browser, links["Older"])

    # and the two plans its registration queued
    assert len(listed(first)) == 50 and len(listed(second)) == 12
    assert not set(listed(first)) & set(listed(second))
    assert listed(first) + listed(second) == [str(r.pk) for r in Run.objects.filter(requested_by=people["dev"]).order_by("-created_at", "-pk")]
    assert set(page_links(second)) == {"Newest", "Newer"}
    assert listed(follow(browser, page_links(second)["Newer"])) == listed(first)
    assert "(62)" in second.content.decode()  # the count is of every matching run, on every page


def test_runs_created_at_the_same_moment_are_paged_by_id_none_lost_or_shown_twice(browser, people, service_form_data):
    # 120 runs, ten to a microsecond: a page boundary falls among runs of one moment.
    service, _ = register_service(people["dev"], **service_form_data)
    Run.objects.all().delete()
    workspace = service.workspaces.first()
    moment = timezone.now()
    for index in range(120):
        run = finished_run(workspace, requested_by=people["dev"])
        Run.objects.filter(pk=run.pk).update(created_at=moment - timedelta(microseconds=index // 10))
    expected = [str(r.pk) for r in Run.objects.order_by("-created_at", "-pk")]

    pages, response = [], browser.get(RUNS)
    while True:
        pages.append(listed(response))
        if "Older" not in page_links(response):
            break
        response = follow(browser, page_links(response)["Older"])
    assert [len(page) for page in pages] == [50, 50, 20]
    assert sum(pages, []) == expected

    # and back up again, newer page by newer page, to the newest
    backwards = [pages[-1]]
    while "Newer" in page_links(response):
        response = follow(browser, page_links(response)["Newer"])
        backwards.append(listed(response))
    assert backwards[::-1] == pages and "Newer" not in page_links(response)


def test_a_page_from_before_by_number_is_still_served_and_links_on_by_place(browser, people, service_form_data):
    finished_runs_of_a_new_service(people, service_form_data, 120)
    second = browser.get(RUNS, {"page": "2"})
    third = follow(browser, page_links(second)["Older"])
    first = follow(browser, page_links(second)["Newer"])

    assert listed(first) == listed(browser.get(RUNS))
    ordered = [str(r.pk) for r in Run.objects.order_by("-created_at", "-pk")]
    assert listed(second) == ordered[50:100] and listed(third) == ordered[100:]


@pytest.mark.parametrize(
    "query, message",
    [
        ({"older": "yesterday"}, "older: give a place as the page&#x27;s Newer and Older links do"),
        ({"newer": "1.2"}, "newer: give a place as the page&#x27;s Newer and Older links do"),
        ({"older": "1" * 18 + "." + "0" * 32}, "older: give a place"),  # past the year 9999
        ({"older": "1." + "0" * 31 + "G"}, "older: give a place"),
        ({"older": "1." + "0" * 32, "newer": "1." + "0" * 32}, "older: give older or newer, not both."),
    ],
)
def test_a_bad_place_is_a_400_that_says_what_it_takes(browser, query, message):
    response = browser.get(RUNS, query)

    assert response.status_code == 400
    assert message in response.content.decode()


def test_a_deep_page_costs_the_queries_of_the_first(browser, people, service_form_data):
    finished_runs_of_a_new_service(people, service_form_data, 200)
    first = browser.get(RUNS)
    with CaptureQueriesContext(connection) as on_first:
        browser.get(RUNS)
    response = first
    for _ in range(4):
        response = follow(browser, page_links(response)["Older"])
    with CaptureQueriesContext(connection) as on_second:
        follow(browser, page_links(first)["Older"])
    assert len(listed(response)) == 2  # 200 runs and the 2 queued plans: 50, 50, 50, 50, 2
    assert len(on_second) == len(on_first)
    sql = " ".join(query["sql"] for query in on_second.captured_queries if '"runs_run"."created_at" <=' in query["sql"])
    assert "OFFSET" not in sql and sql, "an older page seeks to its place, it does not count past the newer runs"


def test_the_page_needs_the_permission(client, make_user):
    client.force_login(make_user("nobody"))
    assert client.get(RUNS).status_code == 403


def test_the_header_links_to_the_runs_page(browser):
    assert f'href="{RUNS}">Runs</a>' in browser.get(reverse("catalog:service-list")).content.decode()


# --- a fixed number of queries ---------------------------------------------------------------------
def test_the_page_costs_the_same_queries_for_5_and_50_runs(browser, people, service_form_data):
    def queries(query=None):
        with CaptureQueriesContext(connection) as captured:
            assert browser.get(RUNS, query or {}).status_code == 200
        return len(captured)

    def add_services(count):
        """Each service: its two runs applied (every other one) or queued, and a failed run."""
        for index in range(count):
            name = f"svc-{Service.objects.count():03d}"
            service, change = register_service(people["dev"], **{**service_form_data, "name": name})
            if index % 2 == 0:
                plan_approve_apply(change, people["approver"])
            finished_run(service.workspaces.first(), RunStatus.FAILED, requested_by=people["other"], minutes_ago=5)

    def all_kinds():
        return [queries(), queries({"user": "approver", "status": "applied"}), queries({"service": "svc-001"})]

    add_services(2)
    assert Run.objects.count() == 6
    few = all_kinds()
    add_services(16)
    assert Run.objects.count() == 54

    assert all_kinds() == few


# --- the active run and queue of each workspace ----------------------------------------------------
def test_each_workspace_with_an_active_run_shows_it_its_queue_place_and_what_waits_behind(
    browser, people, service_form_data, parked_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first, first_change = register_service(people["dev"], **{**service_form_data, "name": "first"})
        second, second_change = register_service(people["dev"], **{**service_form_data, "name": "second"})
    planning = second_change.runs_in_order()[0]
    planning.start_planning(worker_name="worker-7", worker_host="host-b", worker_pid=77)
    done = Workspace.objects.create(path="ecs/services/idle", module="ecs-service", service=second)
    finished_run(done)

    page = browser.get(RUNS).content.decode()
    section = page[page.index('id="active-runs"') : page.index("<h2>All runs")]
    rows = {path: row for row in section.split("<tr>")[2:] for path in re.findall(r"<code>([^<]+)</code>", row)[:1]}

    assert set(rows) == {w.path for w in Workspace.objects.filter(service__in=[first, second]).exclude(pk=done.pk)}
    repo, svc = first_change.runs_in_order()
    assert str(repo.pk) in rows[repo.workspace.path] and "status-queued" in rows[repo.workspace.path]
    assert "number 1 in the queue" in rows[repo.workspace.path]
    assert "number 2 in the queue" in rows[svc.workspace.path]
    # the repository's run has the service's behind it in its change, and the other way round
    assert "Queued behind it in its change" in rows[repo.workspace.path] and svc.workspace.path in rows[repo.workspace.path]
    assert repo.workspace.path in rows[svc.workspace.path]
    assert "Run by worker-7 on host-b" in rows[planning.workspace.path]


def test_the_active_section_follows_the_service_and_workspace_filters(browser, history):
    page = browser.get(RUNS, {"service": "beta"}).content.decode()
    section = page[page.index('id="active-runs"') : page.index("<h2>All runs")]

    assert "art-service-beta" in section and "art-service-alpha" not in section


def test_an_unreadable_queue_is_said_and_the_runs_still_listed(browser, history, monkeypatch):
    from redis.exceptions import ConnectionError

    def unreachable():
        raise ConnectionError("Redis is down")

    monkeypatch.setattr("portal.runs.queueing.waiting_runs", unreachable)
    response = browser.get(RUNS)

    assert "could not be read from Redis" in response.content.decode()
    assert len(listed(response)) == Run.objects.count()


# --- a service's history ---------------------------------------------------------------------------
def test_the_history_shows_each_change_its_people_diff_outcome_and_logs(browser, history, people):
    response = browser.get(reverse("catalog:service-history", args=["alpha"]))
    assert response.status_code == 200
    page = response.content.decode()
    cards = {change_id: card for card in page.split('<div class="card change"')[1:] for change_id in re.findall(r'data-change="([^"]+)"', card)}

    onboarding, pending = cards[str(history["onboarding"].pk)], cards[str(history["pending"].pk)]
    assert page.index(str(history["pending"].pk)) < page.index(str(history["onboarding"].pk))  # newest first
    assert '<span class="proposer">dev</span>' in onboarding and '<td class="approvers">approver</td>' in onboarding
    assert "status-applied outcome" in onboarding and "Revision 1" in onboarding
    assert '<span class="proposer">other-developer</span>' in pending and "no one yet" in pending
    assert "status-pending outcome" in pending and "Revision 2 (on revision 1)" in pending and "cpu 256 -&gt; 1024" in pending
    for change, card in [(history["onboarding"], onboarding), (history["pending"], pending)]:
        for run in change.runs.all():
            assert f'href="{reverse("runs:run-detail", args=[run.pk])}#run-log">log</a>' in card


def test_the_history_shows_a_discarded_change_as_abandoned(browser, history, people):
    workflow.discard(history["pending"], people["other"])

    page = browser.get(reverse("catalog:service-history", args=["alpha"])).content.decode()

    assert page.count("status-abandoned outcome") == 1


def test_the_history_costs_the_same_queries_however_many_changes(browser, history, people):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert browser.get(reverse("catalog:service-history", args=["alpha"])).status_code == 200
        return len(captured)

    before = queries()
    for cpu in (512, 1024, 2048):  # sizes one instance of the default cluster holds
        change = change_service(Service.objects.get(pk=history["alpha"].pk), people["dev"], cpu=cpu)
        plan_approve_apply(change, people["approver"])

    assert queries() == before


def test_the_service_page_links_to_its_history_and_history_needs_no_reserved_name(browser, history):
    page = browser.get(reverse("catalog:service-detail", args=["alpha"])).content.decode()

    assert f'href="{reverse("catalog:service-history", args=["alpha"])}"' in page
    assert browser.get("/services/no-such-service/history/").status_code == 404
    assert browser.get("/services/a%00b/history/").status_code == 400


# --- the services page -----------------------------------------------------------------------------
def test_the_services_page_costs_the_same_queries_for_3_and_30_services_and_pages_by_100(browser, people, service_form_data, monkeypatch):

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert browser.get(reverse("catalog:service-list")).status_code == 200
        return len(captured)

    def add_services(count):
        for _ in range(count):
            service, change = register_service(people["dev"], **{**service_form_data, "name": f"svc-{Service.objects.count():03d}"})
            plan_approve_apply(change, people["approver"])
            change_service(Service.objects.get(pk=service.pk), people["other"], cpu=1024)  # a pending diff

    add_services(3)
    few = queries()
    add_services(27)
    assert queries() == few

    monkeypatch.setattr("portal.catalog.views.SERVICES_PER_PAGE", 20)
    second = browser.get(reverse("catalog:service-list"), {"page": "2"}).content.decode()
    assert second.count('<span class="status status-active colour-grey">') == 10 and "Page 2 of 2 (30 services)" in second
    assert browser.get(reverse("catalog:service-list"), {"page": "3"}).status_code == 404
    assert browser.get(reverse("catalog:service-list"), {"page": "x"}).status_code == 400
