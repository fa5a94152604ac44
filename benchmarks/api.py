"""REST API read latency with many registered services (PostgreSQL and Redis of the local stack).

Fills a database of its own (`portal_benchmark`, created and migrated here) with N services, each
with its two workspaces and planned runs, then times GET /api/v1/services/ (default page of 50)
and GET /api/v1/services/{name}/ in-process (Django's WSGI handler, no network) and counts the SQL
queries of each request.

    bin/portal (or `python -m portal.local_services up`), then:
    .venv/bin/python benchmarks/api.py [N] [REQUESTS]
"""

import os
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
os.environ["DATABASE_URL"] = (
    os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + os.environ.get("PORTAL_BENCHMARK_DATABASE", "portal_benchmark")
)
os.environ["RQ_QUEUE"] = "benchmark-api"  # emptied below: nothing here is meant to run terraform
os.environ["PORTAL_WORKSPACES_DIR"] = tempfile.mkdtemp(prefix="portal-benchmark-")

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

from portal.api.models import ApiToken  # noqa: E402
from portal.catalog.models import Service  # noqa: E402
from portal.catalog.onboarding import register_service  # noqa: E402


def create_database():
    db = settings.DATABASES["default"]
    with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
            admin.execute(f'CREATE DATABASE "{db["NAME"]}"')
    call_command("migrate", verbosity=0)


def fill(count: int) -> User:
    developer, _ = User.objects.get_or_create(username="benchmark-dev")
    developer.groups.add(Group.objects.get(name="developers"))
    missing = count - Service.objects.count()
    started = time.monotonic()
    for index in range(Service.objects.count(), count):
        _, change = register_service(
            developer, name=f"service-{index:05d}", container_port=8080, cpu=256, memory=512,
            desired_count=1, health_check_path="/health", image_tag="1.0.0",
        )
        for run in change.runs_in_order():
            run.start_planning()
            run.record_plan(to_add=3, to_change=0, to_destroy=0, plan_sha256="0" * 64, inputs_sha256="1" * 64)
    django_rq.get_queue(settings.RQ_QUEUE).empty()
    if missing > 0:
        print(f"registered {missing} services in {time.monotonic() - started:.1f} s")
    return developer


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
    print(f"GET {path:<42} median {statistics.median(timings):6.1f} ms   p95 {p95:6.1f} ms   "
          f"SQL queries per request: {sorted(queries)}   ({requests} requests)")


def main(count: int, requests: int):
    create_database()
    developer = fill(count)
    _, key = ApiToken.objects.issue(developer, label="benchmark")
    headers = {"HTTP_AUTHORIZATION": f"Token {key}"}
    client = Client()
    print(f"{Service.objects.count()} services in the database")
    measure(client, headers, "/api/v1/services/", requests)
    measure(client, headers, "/api/v1/services/?page_size=200", requests)
    measure(client, headers, f"/api/v1/services/service-{count // 2:05d}/", requests)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, int(sys.argv[2]) if len(sys.argv) > 2 else 200)
