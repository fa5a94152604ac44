"""Schemathesis generates requests from the published OpenAPI schema, valid and invalid, and checks
that no answer is a 500 or contradicts the schema (status code, content type, body, headers).

Generated data alone rarely reaches the inputs that break parsers, so hooks mix in values known to
do so: digits that are not ASCII, numbers too long to parse, negative offsets, NUL bytes, and strings
long enough to overflow what is derived from them (a change's title)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portal.api.models import ApiToken
from portal.catalog.onboarding import register_service
from portal.drift.models import DriftCheck
from portal.notifications.models import Webhook
from portal.workspaces.layout import sync_platform_workspaces
from tests.conftest import record_plan

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]

HOSTILE_VALUES = [
    "١٢٨",  # Arabic-Indic digits: str.isdigit() says yes, and int() accepts them
    "²",  # a superscript: str.isdigit() says yes, int() raises
    "𝟏𝟐𝟖",  # mathematical digits
    "9" * 5000,  # past Python's 4300-digit int() limit
    "9" * 30,  # parses, but overflows every database integer
    "-1",
    "\x00",
    "a\x00b",
    "/" + "a" * 1000,  # a valid health check path that overflows a title derived from it
    "a" * 5000,
    True,
    2.5,
    -(2**63),
]

# Generating the schema needs Django (set up by pytest-django before collection), not the database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


def with_hostile_values(values: dict | None, names: list[str]) -> st.SearchStrategy:
    """The generated values, or the same with one parameter replaced by a hostile value."""
    names = sorted(set(names) | set(values or {}))
    if not names:
        return st.just(values)
    hostile = st.builds(
        lambda name, value: {**(values or {}), name: value},
        st.sampled_from(names),
        st.sampled_from(HOSTILE_VALUES),
    )
    return st.one_of(st.just(values), hostile)


def as_text(value) -> str:
    return value if isinstance(value, str) else str(value)


@schema.hook
def flatmap_query(ctx, query):
    names = [parameter.name for parameter in ctx.operation.query]
    return with_hostile_values(query, names).map(lambda q: {k: as_text(v) for k, v in q.items()} if q else q)


def real_ids(path: str) -> list:
    """Ids of rows the operation at `path` acts on (read when a case is drawn, inside the test), so
    that generated requests meet real changes, workspaces and webhooks, not only 404s."""
    from portal.notifications.models import Webhook
    from portal.runs.models import Change
    from portal.workspaces import identities
    from portal.workspaces.models import Workspace

    if path.startswith("/api/v1/changes/"):
        return [str(pk) for pk in Change.objects.values_list("pk", flat=True)]
    if path.startswith("/api/v1/platform/workspaces/"):
        return list(Workspace.objects.filter(service=None).values_list("pk", flat=True))
    if path.startswith("/api/v1/workspaces/"):
        return list(Workspace.objects.values_list("pk", flat=True))
    if path.startswith("/api/v1/webhooks/"):
        return list(Webhook.objects.values_list("pk", flat=True))
    if path.startswith("/api/v1/administrators/"):
        return list(identities.TYPES)
    return []


def with_real_ids(ctx, path_parameters: dict) -> st.SearchStrategy:
    """The generated parameters, or the same with the id (or service type) of a real row."""
    name = "service_type" if "service_type" in path_parameters else "id"
    found = st.builds(lambda: real_ids(ctx.operation.path)).filter(bool)
    real = found.flatmap(lambda ids: st.sampled_from(ids)).map(lambda value: {**path_parameters, name: value})
    return st.one_of(st.just(path_parameters), real)


@schema.hook
def flatmap_path_parameters(ctx, path_parameters):
    if path_parameters and ({"id", "service_type"} & set(path_parameters)):
        return with_real_ids(ctx, path_parameters)
    if not path_parameters or "name" not in path_parameters:
        return st.just(path_parameters)
    return with_hostile_values(path_parameters, ["name"]).map(lambda p: {k: as_text(v) for k, v in p.items()})


@schema.hook
def flatmap_body(ctx, body):
    if not isinstance(body, dict):
        return st.just(body)
    return with_hostile_values(body, list(body))


@pytest.fixture
def parked_drift_queue(monkeypatch, settings):
    """Drift checks asked for by generated requests wait in a queue of their own that no worker takes."""
    import django_rq
    from rq import Queue

    from portal.drift import scheduling

    queue = Queue(f"{settings.DRIFT_QUEUE}-schema", connection=django_rq.get_connection(settings.RQ_QUEUE))
    monkeypatch.setattr(scheduling, "queue", lambda: queue)
    monkeypatch.setattr(scheduling, "ensure_sweep", lambda: None)
    yield queue
    queue.empty()


@pytest.fixture
def admin_token(db, make_user, service_form_data, parked_queue, parked_drift_queue):
    # In-process WSGI calls share the test's transaction: keep Django from closing the connection
    # between requests, as its test client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    # Something to find: a service with planned runs, so reads and actions meet real rows.
    author = make_user("author", "developers")
    _, change = register_service(author, **service_form_data)
    for run in change.runs_in_order():
        record_plan(run)
    # ... a platform, a drift check that found drift, and a webhook, for the other pages' endpoints.
    sync_platform_workspaces()
    DriftCheck.objects.create(workspace=change.runs_in_order()[0].workspace, drifted=True, drift=[])
    Webhook.objects.create(service=change.service, url="https://hooks.example.com/x", events=["applied"])
    _, key = ApiToken.objects.issue(make_user("schema-admin", "admins"))
    yield key
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_matches_its_schema(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Token {admin_token}"}, checks=CHECKS)
