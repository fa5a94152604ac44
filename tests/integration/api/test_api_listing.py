"""GET /api/v1/services/ and /api/v1/services/{name}/ write services without the serializer
(portal.api.representation, for speed): they must answer exactly what ServiceSerializer writes, for
services in every state, with a fixed number of queries."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from portal.api.serializers import ServiceSerializer
from portal.catalog.models import Service
from portal.catalog.onboarding import change_service, decommission_service, register_service
from portal.changes import workflow
from portal.runs.models import Run, RunStatus
from tests.conftest import api_for, plan_approve_apply, record_plan

pytestmark = pytest.mark.django_db

SERVICES = "/api/v1/services/"
ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-password"


@pytest.fixture
def every_state(people, service_form_data):
    """Services queued, planned, applied (with a URL) and with a pending change (secrets, a diff),
    one whose run ran on a worker as an administrator and was cancelled, and a decommissioned one."""
    dev, approver = people["dev"], people["approver"]

    register_service(dev, **{**service_form_data, "name": "queued-one"})

    _, change = register_service(dev, **{**service_form_data, "name": "planned-one"})
    for run in change.runs_in_order():
        record_plan(run, to_add=3)

    applied, change = register_service(dev, **{**service_form_data, "name": "applied-one"})
    plan_approve_apply(change, approver)
    Run.objects.filter(workspace__service=applied, workspace__module="ecs-service").update(outputs={"url": "http://alb.example/art-service-applied-one/"})
    pending = change_service(Service.objects.get(pk=applied.pk), dev, cpu=1024, secrets={"DB_PASSWORD": ARN})
    record_plan(pending.runs_in_order()[0])

    _, change = register_service(dev, **{**service_form_data, "name": "worked-one"})
    run = change.runs_in_order()[0]
    run.start_planning(worker_name="worker-1", worker_host="host-a", worker_pid=4242)
    Run.objects.filter(pk=run.pk).update(identity_type="ecr", role_arn="arn:aws:iam::123456789012:role/ecr-admin", session_name="portal-run")
    run.refresh_from_db()
    run.request_cancel(people["admin"])
    Run.objects.filter(pk=run.pk).update(status=RunStatus.CANCELLED, finished_at=timezone.now(), error="Cancelled.")

    gone, change = register_service(dev, **{**service_form_data, "name": "gone-one"})
    plan_approve_apply(change, approver)
    plan_approve_apply(decommission_service(Service.objects.get(pk=gone.pk), people["admin"]), approver)
    return people


def reference(services) -> bytes:
    return JSONRenderer().render(ServiceSerializer(services, many=True).data)


def test_the_list_answers_what_the_serializer_writes(every_state):
    body = api_for(every_state["dev"]).get(SERVICES, {"status": "all", "page_size": 200}).json()

    expected = json.loads(reference(list(Service.objects.with_runs())))
    assert body["results"] == expected
    assert [s["status"] for s in body["results"]].count("decommissioned") == 1
    applied = next(s for s in body["results"] if s["name"] == "applied-one")
    assert applied["url"] and applied["proposed"]["diff"] and applied["proposed"]["secrets"] == {"DB_PASSWORD": ARN}
    worked = next(s for s in body["results"] if s["name"] == "worked-one")
    first = worked["workspaces"][0]["latest_run"]
    assert first["worker"]["host"] == "host-a" and first["identity"]["type"] == "ecr" and first["cancelled_by"] == "admin"


def test_the_detail_answers_what_the_serializer_writes(every_state):
    client = api_for(every_state["dev"])
    for service in Service.objects.with_runs().filter(status="active"):
        response = client.get(f"{SERVICES}{service.name}/")
        assert response.content == reference([service])[1:-1], service.name


def test_the_list_costs_the_same_queries_for_2_and_30_services(people, service_form_data):
    client = api_for(people["dev"])

    def queries_for(size):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(SERVICES, {"page_size": size}).status_code == 200
        return len(queries)

    for index in range(30):
        _, change = register_service(people["dev"], **{**service_form_data, "name": f"service-{index:02d}"})
        if index % 3 == 0:
            plan_approve_apply(change, people["approver"])
        elif index % 3 == 1:
            workflow.discard(change, people["dev"])

    assert queries_for(2) == queries_for(30)
