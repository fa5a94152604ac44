"""The register form shows what registering will make while the name is typed (its workspaces, state
keys and URL), and offers CPU and memory as the task sizes ECS accepts."""

import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from portal.api.models import ApiToken
from portal.catalog import rules
from portal.catalog.forms import ServiceChangePageForm, ServiceForm, ServicePageForm
from portal.catalog.models import Service, ServiceRevision
from portal.catalog.onboarding import register_service
from portal.runs.models import Change, Run, RunStatus
from portal.workspaces.layout import cluster_path
from portal.workspaces.models import Workspace

PREVIEW = reverse("catalog:service-register-preview")
REGISTER = reverse("catalog:service-register")
MODULE_VARIABLES = Path(__file__).resolve().parents[3] / "infra_modules" / "ecs-service" / "variables.tf"


@pytest.fixture
def developer(make_user):
    return make_user("dev", "developers")


@pytest.fixture
def developer_client(client, developer):
    client.force_login(developer)
    return client


def preview(client, name):
    response = client.get(PREVIEW, {"name": name})
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/json"
    return response.json()


def offered_pairs(form) -> list[tuple[int, int]]:
    """The (cpu, memory) pairs the page's selects offer: each CPU with the memory of its group."""
    cpus = [int(value) for value, _ in form.fields["cpu"].widget.choices]
    groups = dict(form.fields["memory"].widget.choices)
    return [(cpu, int(memory)) for cpu in cpus for memory, _ in groups[form.memory_group(cpu)]]


# --- what will be created ---------------------------------------------------------------------------
def test_the_preview_lists_exactly_the_workspaces_and_state_keys_registering_creates(developer_client, service_form_data):
    shown = preview(developer_client, service_form_data["name"])

    response = developer_client.post(REGISTER, service_form_data)

    assert response.status_code == 302
    created = Workspace.objects.filter(service__name=service_form_data["name"]).order_by("apply_order")
    assert shown["errors"] == []
    assert [(w["path"], w["state_key"], w["module"]) for w in shown["workspaces"]] == [(w.path, w.state_key, w.module) for w in created]
    assert all(w["holds"] for w in shown["workspaces"])


def test_the_preview_routes_where_the_service_workspace_is_told_to(developer_client, service_form_data):
    shown = preview(developer_client, service_form_data["name"])

    developer_client.post(REGISTER, service_form_data)

    run = Run.objects.get(workspace__service__name=service_form_data["name"], workspace__module="ecs-service")
    routed = run.variables["name"]  # what the ecs-service module routes on: /<name> and /<name>/*
    assert routed == "art-service-sourcing-data-service"
    assert shown["route"]["path_patterns"] == [f"/{routed}", f"/{routed}/*"]
    assert shown["route"]["load_balancer"] is None, "no platform applied yet"
    assert shown["route"]["url"] == f"http://<the load balancer>/{routed}/"


def test_the_preview_names_the_load_balancer_once_the_platform_is_applied(developer_client):
    cluster = Workspace.objects.create(path=cluster_path(), module="ecs-cluster", apply_order=4)
    Run.objects.create(
        workspace=cluster,
        status=RunStatus.APPLIED,
        outputs={"alb_dns_name": "art-service-alb-1.eu-west-1.elb.amazonaws.com"},
        finished_at=timezone.now(),
    )

    route = preview(developer_client, "billing")["route"]

    assert route["load_balancer"] == "art-service-alb-1.eu-west-1.elb.amazonaws.com"
    assert route["url"] == "http://art-service-alb-1.eu-west-1.elb.amazonaws.com/art-service-billing/"


def test_the_preview_writes_nothing(developer_client):
    preview(developer_client, "billing")

    assert not Service.objects.exists()
    assert not Workspace.objects.exists()


# --- the name's messages ----------------------------------------------------------------------------
def test_a_taken_name_gives_the_fields_message(developer_client, developer, service_form_data):
    register_service(developer, **service_form_data)

    shown = preview(developer_client, service_form_data["name"])

    assert shown == {"name": None, "errors": [rules.NAME_TAKEN], "workspaces": [], "route": None}


MARKUP = "<script>alert(1)</script>"


@pytest.mark.parametrize(
    "name",
    ["Sourcing", "ab", "a" * 33, "register", "sourcing--data", "", " ", "\x00", "a\x00b", "a" * 5000, "Ünïcode", "名前サービス", MARKUP],
)
def test_an_invalid_name_gives_the_form_fields_messages_and_never_fails(developer_client, name):
    shown = preview(developer_client, name)

    assert shown["errors"] == list(ServiceForm({"name": name}).errors["name"])
    assert (shown["name"], shown["workspaces"], shown["route"]) == (None, [], None)


def test_markup_in_the_name_is_never_echoed(developer_client, service_form_data):
    answer = developer_client.get(PREVIEW, {"name": MARKUP}).content.decode()
    page = developer_client.post(REGISTER, {**service_form_data, "name": MARKUP}).content.decode()

    assert "<script>alert" not in answer and "alert(1)" not in answer, "the preview does not repeat a refused name"
    assert "<script>alert" not in page
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in page, "the field shows it back, escaped"


def test_the_preview_asks_the_registering_permission(client, make_user):
    assert client.get(PREVIEW, {"name": "billing"}).status_code == 302  # to log in
    client.force_login(make_user("viewer"))
    assert client.get(PREVIEW, {"name": "billing"}).status_code == 403


def test_the_preview_only_answers_get(developer_client):
    assert developer_client.post(PREVIEW, {"name": "billing"}).status_code == 405


# --- the page -----------------------------------------------------------------------------------------
def test_the_panel_renders_on_the_page_without_a_script(developer_client, service_form_data):
    blank = developer_client.get(REGISTER).content.decode()
    refused_port = developer_client.post(REGISTER, {**service_form_data, "container_port": 0})
    refused_name = developer_client.post(REGISTER, {**service_form_data, "name": "Sourcing"})

    assert 'id="register-preview"' in blank and "Type a name" in blank
    assert refused_port.status_code == 400
    page = refused_port.content.decode()
    assert 'id="preview-workspaces"' in page
    assert "<code>ecs/ecr-repositories/art-service-sourcing-data-service/terraform.tfstate</code>" in page
    assert "<code>http://&lt;the load balancer&gt;/art-service-sourcing-data-service/</code>" in page
    assert 'id="preview-errors"' in refused_name.content.decode()
    assert refused_name.content.decode().count("Use lowercase letters") == 1, "the panel points at the field's message"
    assert refused_name.context["form"].errors["name"], "the field keeps its own message"


def test_the_change_page_has_no_registration_panel(client, make_user, developer, service_form_data):
    service, _ = register_service(developer, **service_form_data)
    client.force_login(developer)

    page = client.get(reverse("catalog:service-change", kwargs={"name": service.name})).content.decode()

    assert 'id="register-preview"' not in page
    assert 'id="task-sizes"' in page


# --- CPU and memory -----------------------------------------------------------------------------------
def module_range(variable: str) -> tuple[int, int]:
    text = MODULE_VARIABLES.read_text()
    found = re.search(rf"var\.{variable} >= (\d+) && var\.{variable} <= (\d+)", text)
    return int(found[1]), int(found[2])


@pytest.fixture
def every_size_fits(db, settings):
    """A cluster of r6i.4xlarge, whose instances hold every size of the Fargate table (16 vCPU, 120 GiB
    for tasks), so that these tests see ECS's rules alone; tests/integration/capacity/test_capacity.py sees the cluster's."""
    settings.CLUSTER_DEFAULTS = {**settings.CLUSTER_DEFAULTS, "instance_type": "r6i.4xlarge"}


def test_every_offered_pair_is_accepted_by_the_rules_and_the_module(every_size_fits):
    pairs = offered_pairs(ServicePageForm())
    (cpu_min, cpu_max), (memory_min, memory_max) = module_range("cpu"), module_range("memory")

    assert len(pairs) == len(set(pairs)) == 74  # the Fargate table
    for cpu, memory in pairs:
        ServiceRevision._meta.get_field("cpu").run_validators(cpu)
        ServiceRevision._meta.get_field("memory").run_validators(memory)
        rules.validate_task_size(cpu, memory)
        assert cpu_min <= cpu <= cpu_max and memory_min <= memory <= memory_max


def test_the_change_form_offers_the_same_sizes(every_size_fits):
    assert offered_pairs(ServiceChangePageForm(current=(256, 512))) == offered_pairs(ServicePageForm())


@pytest.mark.parametrize(
    "cpu, memory, field, message",
    [
        (300, 512, "cpu", "Choose a task size ECS accepts"),
        (128, 512, "cpu", "Choose a task size ECS accepts"),
        (256, 4096, "memory", "With 256 CPU units (0.25 vCPU), choose 512, 1024 or 2048 MiB."),
        (2048, 4000, "memory", "choose 4096 to 16384 MiB in steps of 1024"),
        (16384, 8192, "memory", "choose 32768 to 122880 MiB in steps of 8192"),
        # No instance holds it: the cluster's refusal, as the API gives it (portal.capacity).
        (16384, 786432, "memory", "A task of 16 vCPU / 786432 MiB does not fit on one r6i.4xlarge"),
    ],
)
def test_a_registered_pair_outside_them_is_refused_on_its_field(every_size_fits, developer_client, service_form_data, cpu, memory, field, message):
    response = developer_client.post(REGISTER, {**service_form_data, "cpu": cpu, "memory": memory})

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    assert not Service.objects.exists() and not Workspace.objects.exists() and not Run.objects.exists()


def test_a_changed_pair_outside_them_is_refused_on_its_field(developer_client, developer, service_form_data):
    service, _ = register_service(developer, **service_form_data)

    response = developer_client.post(reverse("catalog:service-change", kwargs={"name": service.name}), {**service_form_data, "cpu": 1024, "memory": 512})

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["memory"]
    assert Change.objects.count() == 1 and service.revisions.count() == 1


def test_a_size_registered_through_the_api_outside_them_stays_on_offer_in_its_change_form(developer_client, developer, service_form_data):
    _, key = ApiToken.objects.issue(developer)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    change_page = reverse("catalog:service-change", kwargs={"name": service_form_data["name"]})

    created = api.post("/api/v1/services/", {**service_form_data, "cpu": 128, "memory": 256}, format="json")
    page = developer_client.get(change_page)
    kept = developer_client.post(change_page, {**service_form_data, "cpu": 128, "memory": 256, "desired_count": 2})
    other = developer_client.post(change_page, {**service_form_data, "cpu": 128, "memory": 512})

    assert created.status_code == 201, "the API takes what it took before"
    assert (128, 256) in offered_pairs(page.context["form"])
    assert "256 MiB (0.25 GiB) (current)" in page.content.decode()
    assert kept.status_code == 302
    assert Service.objects.get().revisions.order_by("-number").first().desired_count == 2
    assert other.status_code == 400 and list(other.context["form"].errors) == ["memory"]


def test_the_register_form_starts_from_the_smallest_size(developer_client):
    form = developer_client.get(REGISTER).context["form"]

    assert (form["cpu"].value(), form["memory"].value()) == (256, 512)
