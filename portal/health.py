"""GET /healthz: is each part the portal depends on reachable?"""

import django_rq
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from rq import Worker

from portal.core.aws import client


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_redis() -> None:
    django_rq.get_connection(settings.RQ_QUEUE).ping()


def check_worker() -> None:
    if not Worker.all(connection=django_rq.get_connection(settings.RQ_QUEUE)):
        raise RuntimeError("no RQ worker is registered")


def check_aws() -> None:
    client("sts", timeout=2).get_caller_identity()


CHECKS = {"database": check_database, "redis": check_redis, "worker": check_worker, "aws": check_aws}


def healthz(request):
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = {"ok": True}
        except Exception as exc:  # any failure means "not reachable"; say which kind
            results[name] = {"ok": False, "error": type(exc).__name__}
    healthy = all(r["ok"] for r in results.values())
    return JsonResponse({"healthy": healthy, "checks": results}, status=200 if healthy else 503)
