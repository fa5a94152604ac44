"""Schemathesis generates requests from the published OpenAPI schema, valid and invalid, and checks
that no answer is a 500 or contradicts the schema (status code, content type, body, headers)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.checks import not_a_server_error

from portal.api.models import ApiToken
from portal.catalog.onboarding import register_service
from tests.conftest import record_plan

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]


# Generating the schema needs Django (set up by pytest-django before collection), not the database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.fixture
def admin_token(db, make_user, service_form_data):
    # In-process WSGI calls share the test's transaction: keep Django from closing the connection
    # between requests, as its test client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    # Something to find: a service with planned runs, so reads and actions meet real rows.
    author = make_user("author", "developers")
    _, change = register_service(author, **service_form_data)
    for run in change.runs_in_order():
        record_plan(run)
    _, key = ApiToken.objects.issue(make_user("schema-admin", "admins"))
    yield key
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_matches_its_schema(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Token {admin_token}"}, checks=CHECKS)
