"""Read latency of the REST API and of the list pages with many services and runs (PostgreSQL and
Redis of the local stack).

Fills a database of its own (`portal_benchmark`, or PORTAL_BENCHMARK_DATABASE; created and migrated
here) with N services, each with its two workspaces and planned runs, and older finished runs until
there are RUNS runs in all (10 per service by default: 1,000 services, 10,000 runs), and the platform's
workspaces as applied (services run on a provisioned platform). Then times, in process (Django's
WSGI handler, no network), GET /api/v1/services/ (the default page of 50 and page_size=200),
GET /api/v1/services/{name}/, the runs page (unfiltered and with each filter), the services page, a
service's page and its history page, the changes page and the other list pages, and what an admin
reads (the API's admin lists, the audit trail, the Platform and Administrators pages), and counts
the SQL queries of each request. A service's page also asks AWS (the emulator of the local stack) what runs
and whether its image is there, each kept 15 s: the first request pays for it.

    bin/portal (or `python -m portal.local_services up`), then:
    .venv/bin/python benchmarks/api.py [N] [REQUESTS] [RUNS]
"""

import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
from portal.local_services import local_environment  # noqa: E402

for name, value in local_environment().items():
    os.environ.setdefault(name, value)
# A database of its own (PORTAL_BENCHMARK_DATABASE names another, e.g. to run beside someone else's).
os.environ["DATABASE_URL"] = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + os.environ.get("PORTAL_BENCHMARK_DATABASE", "portal_benchmark")
os.environ["RQ_QUEUE"] = "benchmark-api"  # emptied below: nothing here is meant to run terraform
os.environ["PORTAL_WORKSPACES_DIR"] = tempfile.mkdtemp(prefix="portal-benchmark-")

from datetime import timedelta  # noqa: E402

import django  # noqa: E402
import psycopg  # noqa: E402

django.setup()

import django_rq  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from portal import garbage_collection  # noqa: E402
from portal.api.models import ApiToken  # noqa: E402
from portal.capacity import usage as capacity_usage  # noqa: E402
from portal.catalog import rules  # noqa: E402
from portal.catalog.models import Service  # noqa: E402
from portal.catalog.onboarding import register_service  # noqa: E402
from portal.runs.models import Run, RunStatus  # noqa: E402
from portal.workspaces.models import Workspace  # noqa: E402


def create_database():
    db = settings.DATABASES["default"]
    with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
            admin.execute(f'CREATE DATABASE "{db["NAME"]}"')
    call_command("migrate", verbosity=0)


def fill(count: int) -> User:
    # One platform's load balancer routes to 100 services (portal.catalog.rules), and its cluster places
    # a few dozen tasks (portal.capacity): the pages are measured with as many services as ten
    # platforms hold, so neither limit is what this fills against.
    rules.LOAD_BALANCER_SERVICE_SLOTS = max(rules.LOAD_BALANCER_SERVICE_SLOTS, count)
    capacity_usage.ensure_room = lambda plans: None
    from portal.access.teams import join

    developer, _ = User.objects.get_or_create(username="benchmark-dev")
    developer.groups.add(Group.objects.get(name="developers"))
    join(developer, "benchmark")
    missing = count - Service.objects.count()
    started = time.monotonic()
    for index in range(Service.objects.count(), count):
        _, change = register_service(
            developer,
            name=f"service-{index:05d}",
            container_port=8080,
            cpu=256,
            memory=512,
            desired_count=1,
            health_check_path="/health",
            image_tag="1.0.0",
        )
        for run in change.runs_in_order():
            run.start_planning()
            run.record_plan(to_add=3, to_change=0, to_destroy=0, plan_sha256="0" * 64, inputs_sha256="1" * 64)
    django_rq.get_queue(settings.RQ_QUEUE).empty()
    if missing > 0:
        print(f"registered {missing} services in {time.monotonic() - started:.1f} s")
    return developer


def fill_history(total: int, developer: User) -> None:
    """Older finished runs of the services' workspaces until there are `total` runs: applied (approved
    by another user), planned without changes, failed; each with its workspace's inputs."""
    from portal.access.teams import join

    approver, _ = User.objects.get_or_create(username="benchmark-approver")
    approver.groups.add(Group.objects.get(name="approvers"))
    join(approver, "benchmark")
    missing = total - Run.objects.count()
    if missing <= 0:
        return
    started = time.monotonic()
    workspaces = list(Workspace.objects.filter(service__isnull=False).only("pk"))
    planned = dict(Run.objects.filter(workspace__in=workspaces).values_list("workspace_id", "variables"))
    rng = random.Random(1)
    now = timezone.now()
    runs = []
    for index in range(missing):
        status = rng.choice([RunStatus.APPLIED] * 6 + [RunStatus.NO_CHANGES, RunStatus.FAILED])
        created = now - timedelta(days=1, minutes=index)
        workspace = workspaces[index % len(workspaces)]
        runs.append(
            Run(
                workspace=workspace,
                status=status,
                # What the run applied (or found applied): what the capacity panel and the module
                # versions read. Recorded before module versions were: every workspace is behind.
                variables=planned.get(workspace.pk, {}),
                requested_by=developer,
                approved_by=approver if status == RunStatus.APPLIED else None,
                to_add=rng.randint(0, 5),
                to_change=rng.randint(0, 3),
                to_destroy=0,
                log="terraform apply\n" * 200,
                created_at=created,
                planned_at=created,
                finished_at=created,
                error="Error: the plan failed" if status == RunStatus.FAILED else "",
            )
        )
    Run.objects.bulk_create(runs, batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"added {missing} finished runs in {time.monotonic() - started:.1f} s")


def fill_audit(total: int, developer: User) -> None:
    """Audit events until there are `total`: what the people of so many runs did (registered, changed,
    approved, deployed), one a minute back from now, spread over the actions and three people."""
    from portal.audit.models import Action, AuditEvent

    missing = total - AuditEvent.objects.count()
    if missing <= 0:
        return
    started = time.monotonic()
    actions = [Action.SERVICE_CHANGE, Action.CHANGE_APPROVE, Action.SERVICE_DEPLOY, Action.CHANGE_DISCARD, Action.TOKEN_ISSUE]
    actors = ["benchmark-dev", "benchmark-approver", "benchmark-admin"]
    now = timezone.now()
    events = [
        AuditEvent(
            action=actions[index % len(actions)],
            actor_username=actors[index % len(actors)],
            time=now - timedelta(days=2, minutes=index),
            object_type="catalog.service",
            object_id=str(index % 1000),
            object_label=f"service-{index % 1000:05d}",
            team="benchmark",
            details={"reason": "benchmark"},
        )
        for index in range(missing)
    ]
    AuditEvent.objects.bulk_create(events, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"added {missing} audit events in {time.monotonic() - started:.1f} s")


def fill_platform(developer: User) -> None:
    """The platform's workspaces as applied, once: services are applied onto a provisioned platform, and
    what the pages read of it (the administrators' trusted runner, the cluster in effect) comes from
    those applies, not from AWS on every view."""
    from portal.workspaces.layout import sync_platform_workspaces

    for workspace in sync_platform_workspaces():
        if not workspace.runs.settled().exists():
            finished = timezone.now() - timedelta(days=30)
            Run.objects.create(
                workspace=workspace,
                status=RunStatus.APPLIED,
                variables=workspace.variables,
                requested_by=developer,
                created_at=finished,
                planned_at=finished,
                finished_at=finished,
            )


def measure(client, headers, path, requests):
    timings, queries = [], set()
    client.get(path, **headers)  # warm-up: URL resolver, templates, connection
    for _ in range(requests):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path, **headers)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
        queries.add(len(captured))
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(
        f"GET {path:<52} median {statistics.median(timings):6.1f} ms   p95 {p95:6.1f} ms   SQL queries per request: {sorted(queries)}   ({requests} requests)"
    )


def deep_page() -> int:
    """Page 100 of the runs page, or its last page when there are fewer runs."""
    from portal.changes.listing import PAGE_SIZE

    return min(100, Run.objects.count() // PAGE_SIZE)


def deep_place() -> str:
    """Where deep_page() of the runs page starts, as its Older links give it (portal.changes.listing)."""
    from portal.changes.listing import PAGE_SIZE, place

    return place(Run.objects.order_by("-created_at", "-pk")[(deep_page() - 1) * PAGE_SIZE - 1])


def audit_deep_place() -> str:
    """Where page events // PAGE_SIZE of the audit trail (its last full page) starts, as the Older links give it."""
    from portal.access.audit_pages import EVENTS, PAGE_SIZE
    from portal.audit.models import AuditEvent

    events = AuditEvent.objects.order_by("-time", "-id")
    return EVENTS.place(events[(events.count() // PAGE_SIZE - 1) * PAGE_SIZE - 1])


def main(count: int, requests: int, total_runs: int):
    create_database()
    developer = fill(count)
    fill_history(total_runs, developer)
    fill_platform(developer)
    fill_audit(5 * total_runs, developer)  # five actions a run: proposed, approved, deployed, ...
    _, key = ApiToken.objects.issue(developer, label="benchmark")
    headers = {"HTTP_AUTHORIZATION": f"Token {key}"}
    client = Client()
    from portal.audit.models import AuditEvent

    events = AuditEvent.objects.count()
    print(f"{Service.objects.count()} services, {Run.objects.count()} runs and {events} audit events in the database")
    # Measured as a web worker serves: gunicorn's workers settle the garbage collector once Django is
    # loaded (portal/gunicorn_conf.py); what this process made while filling the database is frozen likewise.
    garbage_collection.settle()
    middle = f"service-{count // 2:05d}"
    workspace = Workspace.objects.filter(service__name=middle).order_by("pk").first().pk
    # One of the middle service's runs, with a long log, and its change: what a run's and a change's
    # page and API answer read.
    run = Run.objects.filter(workspace__service__name=middle, change__isnull=False).order_by("-created_at").first()
    print("API")
    for path in [
        "/api/v1/services/",
        "/api/v1/services/?page_size=200",
        f"/api/v1/services/?page={count // 50}",  # the last page of 50
        f"/api/v1/services/{middle}/",
        f"/api/v1/services/{middle}/webhooks/",
        f"/api/v1/runs/{run.pk}/",
        f"/api/v1/runs/{run.pk}/log/",
        f"/api/v1/changes/{run.change_id}/",
        "/api/v1/queue/",
    ]:
        measure(client, headers, path, requests)
    print("Pages")
    browser = Client()
    browser.force_login(developer)
    for path in [
        "/runs/",
        "/runs/?status=applied",
        "/runs/?user=benchmark-approver",
        f"/runs/?service={middle}",
        f"/runs/?workspace=ecs/services/art-service-{middle}&status=applied",
        f"/runs/?page={deep_page()}",
        f"/runs/?older={deep_place()}",  # the same depth, through the Older links
        "/services/",
        "/services/?status=all",
        f"/services/{middle}/history/",
        f"/services/{middle}/",
        f"/services/{middle}/change/",
        "/services/register/",
        f"/runs/{run.pk}/",
        f"/runs/{run.pk}/log/",
        f"/changes/{run.change_id}/",
        f"/changes/{run.change_id}/status/",
        f"/webhooks/services/{middle}/",
        "/approval-policy/",
        "/changes/",
        "/changes/?outcome=applied",
        f"/workspaces/{workspace}/",
        "/tokens/",
        "/teams/",
    ]:
        measure(browser, {}, path, requests)
    # What an admin reads: every team's services and runs, the approver's inbox with every change
    # waiting in it (the navigation's count on each page), the audit trail, the platform.
    admin, _ = User.objects.get_or_create(username="benchmark-admin")
    admin.groups.add(Group.objects.get(name="admins"))
    _, admin_key = ApiToken.objects.issue(admin, label="benchmark")
    print("An admin's API")
    admin_headers = {"HTTP_AUTHORIZATION": f"Token {admin_key}"}
    for path in [
        "/api/v1/workspaces/",
        f"/api/v1/workspaces/?page={Workspace.objects.count() // 50}",  # the last full page
        f"/api/v1/workspaces/{workspace}/",
        f"/api/v1/workspaces/{workspace}/drift/",
        "/api/v1/audit/",
        f"/api/v1/audit/?page={events // 50}",  # the oldest events, by page number (links from before)
        f"/api/v1/audit/?older={audit_deep_place()}",  # the same, as the `next` links reach them
        "/api/v1/audit/?actor=benchmark-approver",
        "/api/v1/administrators/",
        "/api/v1/platform/",
        "/api/v1/webhooks/",
        "/api/v1/queue/",
    ]:
        measure(client, admin_headers, path, requests)
    print("An admin's pages")
    as_admin = Client()
    as_admin.force_login(admin)
    for path in [
        "/services/",
        "/runs/",
        "/changes/",
        f"/changes/?page={count // 50}",
        "/audit/",
        f"/audit/?page={events // 50}",
        f"/audit/?older={audit_deep_place()}",
        "/audit/?actor=benchmark-approver",
        "/platform/",
        "/administrators/",
        "/webhooks/",
        "/teams/",
    ]:
        measure(as_admin, {}, path, requests)


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 1000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 200,
        int(sys.argv[3]) if len(sys.argv) > 3 else 10 * (int(sys.argv[1]) if len(sys.argv) > 1 else 1000),
    )
