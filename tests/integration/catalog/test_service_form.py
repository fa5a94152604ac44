"""Registering a service in the browser: good input is saved and planned, bad input changes nothing."""

import pytest
from django.urls import reverse

from portal.catalog.models import Service
from portal.runs.models import Run, RunStatus
from portal.workspaces.models import Workspace


@pytest.fixture
def developer_client(client, make_user):
    client.force_login(make_user("dev", "developers"))
    return client


def test_register_saves_service_renders_workspace_and_queues_plan(developer_client, service_form_data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = developer_client.post(reverse("catalog:service-register"), service_form_data)

    service = Service.objects.get(name="sourcing-data-service")
    repository, ecs_service = Workspace.objects.filter(service=service).order_by("apply_order")
    runs = Run.objects.filter(workspace__service=service)
    assert response.status_code == 302
    assert response.url == reverse("changes:detail", kwargs={"change_id": runs.get(workspace=repository).change_id})
    assert repository.path == "ecs/ecr-repositories/art-service-sourcing-data-service"
    assert ecs_service.path == "ecs/services/art-service-sourcing-data-service"
    assert ecs_service.state_key == "ecs/services/art-service-sourcing-data-service/terraform.tfstate"
    assert {run.status for run in runs} == {RunStatus.QUEUED}
    assert len({run.change_id for run in runs}) == 1, "one change covers the onboarding"
    assert len(callbacks) == 2, "each plan is queued once the rows are committed"


BAD_INPUT = [
    ("name", "Sourcing", "lowercase letters"),
    ("name", "-sourcing", "lowercase letters"),
    ("name", "sourcing-", "lowercase letters"),
    ("name", "sourcing--data", "lowercase letters"),
    ("name", "sourcing_data", "lowercase letters"),
    ("name", "ab", "at least 3"),
    ("name", "a" * 33, "at most 32"),
    ("container_port", 0, "between 1 and 65535"),
    ("container_port", 65536, "between 1 and 65535"),
    ("cpu", 127, "at least 128 CPU units"),
    ("cpu", 196609, "at most 196608"),
    ("memory", 64, "at least 128 MiB"),
    ("memory", 786433, "at most 786432"),
    ("desired_count", -1, "cannot be negative"),
    ("desired_count", 5001, "at most 5000"),
    ("health_check_path", "health", "Start with /"),
    ("health_check_path", "/health check", "Start with /"),
    ("image_tag", "-latest", "image tag"),
    ("image_tag", "v1:2", "image tag"),
    ("image_tag", "x" * 129, "128"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUT)
def test_bad_input_is_refused_with_a_message_and_nothing_is_saved(developer_client, service_form_data, field, value, message):
    response = developer_client.post(reverse("catalog:service-register"), {**service_form_data, field: value})

    assert response.status_code == 400, "the form comes back with its messages, as a refusal"
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    assert not Service.objects.exists()
    assert not Workspace.objects.exists()
    assert not Run.objects.exists()


def test_duplicate_name_is_refused(developer_client, service_form_data):
    developer_client.post(reverse("catalog:service-register"), service_form_data)
    response = developer_client.post(reverse("catalog:service-register"), {**service_form_data, "container_port": 9000})

    assert response.status_code == 400
    assert "already registered" in " ".join(response.context["form"].errors["name"])
    assert Service.objects.count() == 1
    assert Run.objects.count() == 2


def test_a_user_outside_developers_cannot_register(client, make_user, service_form_data):
    client.force_login(make_user("viewer"))

    response = client.post(reverse("catalog:service-register"), service_form_data)

    assert response.status_code == 403
    assert not Service.objects.exists()


def test_an_anonymous_visitor_is_sent_to_log_in(db, client, service_form_data):
    response = client.post(reverse("catalog:service-register"), service_form_data)

    assert response.status_code == 302 and "/login/" in response.url
    assert not Service.objects.exists()


def test_a_long_name_is_refused_with_a_message_not_cut_by_the_browser(developer_client, service_form_data):
    # No maxlength on the inputs: a browser would cut a 73-character name to 32 without a word.
    page = developer_client.get(reverse("catalog:service-register")).content.decode()
    assert 'name="name"' in page and "maxlength" not in page

    response = developer_client.post(reverse("catalog:service-register"), {**service_form_data, "name": "a" * 73})

    assert response.status_code == 400
    assert "Ensure this value has at most 32 characters (it has 73)." in response.content.decode()
    assert not Service.objects.exists()
