"""Container secrets: references by ARN in the form and the API, validated, never a value; a change
of a service's secrets also plans the grant of its own execution role, which applies first."""

import json

import pytest
from django.urls import reverse

from portal.catalog import layout
from portal.catalog.models import Service
from portal.catalog.onboarding import change_service, decommission_service
from portal.changes.workflow import approval_refusal, may_approve_some
from portal.runs.models import Run, RunStatus
from portal.workspaces.layout import granted_service_secrets, sync_platform_workspaces, workload_roles_path
from portal.workspaces.models import Workspace
from portal.workspaces.rendering import render
from tests.builders import a_team
from tests.conftest import api_for

pytestmark = pytest.mark.django_db

DB = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:art-service/db-AbCdEf"
TOKEN = "arn:aws:ssm:eu-west-1:123456789012:parameter/art-service/api-token"
SERVICE = "art-service-sourcing-data-service"


@pytest.fixture
def platform(settings):
    """The platform's workspaces as rows (nothing runs here), the roles' one applied once without grants."""
    settings.RUNNER_PRINCIPAL_ARNS = ["arn:aws:iam::123456789012:role/portal"]
    settings.AWS_ACCOUNT_ID = "123456789012"
    workspaces = sync_platform_workspaces()
    return next(w for w in workspaces if w.path == workload_roles_path())


def grant_applied(roles: Workspace, service_secrets: dict) -> None:
    Run.objects.create(workspace=roles, variables={**roles.variables, "service_secrets": service_secrets}, status=RunStatus.APPLIED)


def test_the_form_takes_name_arn_lines_and_plans_the_grant_first(client, make_user, service_form_data, platform):
    client.force_login(make_user("dev", "developers"))

    response = client.post(reverse("catalog:service-register"), {**service_form_data, "secrets": f"DB_PASSWORD={DB}\n\nAPI_TOKEN = {TOKEN}\n"})

    assert response.status_code == 302
    service = Service.objects.get(name="sourcing-data-service")
    revision = service.revisions.get()
    assert revision.secrets == {"DB_PASSWORD": DB, "API_TOKEN": TOKEN}
    (change,) = {run.change for run in Run.objects.filter(workspace__service=service)}
    runs = change.runs_in_order()
    assert [run.workspace.path for run in runs] == [workload_roles_path(), f"ecs/ecr-repositories/{SERVICE}", f"ecs/services/{SERVICE}"], (
        "the grant applies before the service that needs it"
    )
    assert runs[0].variables["service_secrets"] == {SERVICE: sorted([DB, TOKEN])}
    assert runs[2].variables["secrets"] == {"DB_PASSWORD": DB, "API_TOKEN": TOKEN}
    # The grant is a platform workspace: a developer's approver may not approve it alone.
    approver = make_user("approver", "approvers")
    admin = make_user("admin", "admins")
    assert not may_approve_some(approver, runs) and may_approve_some(admin, runs)


@pytest.mark.parametrize(
    "secrets, message",
    [
        ("DB_PASSWORD=correct-horse-battery-staple", "never the secret&#x27;s value"),
        ("DB_PASSWORD=arn:aws:s3:::art-service-config/db", "never the secret&#x27;s value"),
        (f"DB_PASSWORD={DB.replace('AbCdEf', '*')}", "never the secret&#x27;s value"),
        (f"1PASSWORD={DB}", "must be a variable name"),
        ("DB_PASSWORD", "one secret per line as NAME=arn"),
        (f"DB={DB}\nDB={TOKEN}", "DB is given twice"),
        ("\n".join(f"S{i}={TOKEN}" for i in range(51)), "at most 50 secrets"),
    ],
)
def test_bad_secrets_are_refused_and_a_value_is_never_shown_again(client, make_user, service_form_data, secrets, message):
    client.force_login(make_user("dev", "developers"))

    response = client.post(reverse("catalog:service-register"), {**service_form_data, "secrets": secrets})

    page = response.content.decode()
    assert response.status_code == 400
    assert message in page
    assert "correct-horse-battery-staple" not in page
    assert not Service.objects.exists() and not Run.objects.exists()


def test_the_api_takes_an_object_and_reads_it_back(make_user, service_form_data, platform):
    api = api_for(make_user("ci", "developers"))
    body = {**service_form_data, "secrets": {"API_TOKEN": TOKEN}}

    created = api.post("/api/v1/services/", body, format="json")

    assert created.status_code == 201, created.content
    assert created.json()["service"]["proposed"]["secrets"] == {"API_TOKEN": TOKEN}
    assert created.json()["service"]["secrets"] is None, "nothing is applied yet"
    assert workload_roles_path() in {run["workspace"] for run in created.json()["runs"]}


@pytest.mark.parametrize("secrets", [["API_TOKEN"], "API_TOKEN", {"API_TOKEN": 5}, {"API_TOKEN": "hunter2"}, {"": TOKEN}])
def test_the_api_refuses_what_is_no_name_arn_object(make_user, service_form_data, secrets):
    api = api_for(make_user("ci", "developers"))

    response = api.post("/api/v1/services/", {**service_form_data, "name": "billing", "secrets": secrets}, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid" and "secrets" in response.json()["fields"]
    assert "hunter2" not in response.content.decode()
    assert not Service.objects.exists()


def test_no_grant_is_planned_when_the_secrets_are_granted_already(make_user, service_form_data, platform):
    grant_applied(platform, {SERVICE: [TOKEN]})
    api = api_for(make_user("ci", "developers"))

    created = api.post("/api/v1/services/", {**service_form_data, "secrets": {"API_TOKEN": TOKEN}}, format="json")

    assert created.status_code == 201
    assert workload_roles_path() not in {run["workspace"] for run in created.json()["runs"]}
    assert granted_service_secrets() == {SERVICE: [TOKEN]}


def test_a_grant_keeps_the_other_services_grants(make_user, service_form_data, platform):
    grant_applied(platform, {"art-service-billing": [DB]})
    service = Service.objects.create(name="sourcing-data-service", created_by=make_user("dev", "developers"), team=a_team())
    revision = service.revisions.create(number=1, **{k: v for k, v in service_form_data.items() if k != "name"}, secrets={"T": TOKEN})

    plans = layout.plans_for(service, revision)

    roles, variables = plans[0]
    assert roles.path == workload_roles_path()
    assert variables["service_secrets"] == {"art-service-billing": [DB], SERVICE: [TOKEN]}
    # Re-provisioning the platform keeps what was granted (it reads the last applied grant).
    assert sync_platform_workspaces()[1].variables["service_secrets"] == {"art-service-billing": [DB]}


@pytest.mark.parametrize("autoscaling, origin, target", [(True, "this", "autoscaled"), (False, "autoscaled", "this")])
def test_moves_follow_autoscaling_so_switching_never_replaces_the_service(make_user, service_form_data, settings, autoscaling, origin, target):
    settings.SERVICE_AUTOSCALING = autoscaling
    service = Service.objects.create(name="sourcing-data-service", created_by=make_user("dev", "developers"), team=a_team())
    revision = service.revisions.create(number=1, **{k: v for k, v in service_form_data.items() if k != "name"})
    workspace, variables = layout.plans_for(service, revision)[-1]

    moves = (render(workspace, variables) / "moves.tf").read_text()

    assert f"from = module.this.aws_ecs_service.{origin}[0]" in moves
    assert f"to   = module.this.aws_ecs_service.{target}[0]" in moves
    assert json.loads((workspace.directory / "terraform.tfvars.json").read_text())["enable_autoscaling"] is autoscaling


def test_a_secrets_change_reads_as_the_form_writes_it(make_user, service_form_data):
    service = Service.objects.create(name="sourcing-data-service", created_by=make_user("dev", "developers"), team=a_team())
    fields = {k: v for k, v in service_form_data.items() if k != "name"}
    first = service.revisions.create(number=1, **fields)
    second = service.revisions.create(number=2, based_on=first, **fields, secrets={"T": TOKEN, "D": DB})

    assert [str(change) for change in second.diff()] == [f"secrets none -> D={DB}, T={TOKEN}"]


# --- a grant follows the service's life --------------------------------------------------------
def applied_service(make_user, service_form_data, secrets: dict) -> Service:
    """A live service whose revision 1, with these secrets, is applied."""
    service = Service.objects.create(name="sourcing-data-service", created_by=make_user("dev", "developers"), team=a_team())
    revision = service.revisions.create(number=1, **{k: v for k, v in service_form_data.items() if k != "name"}, secrets=secrets)
    Service.objects.filter(pk=service.pk).update(applied_revision=revision)
    service.refresh_from_db()
    return service


def test_a_decommission_takes_the_grant_away_in_the_same_change_last_and_an_admin_approves_it(client, make_user, service_form_data, platform):
    grant_applied(platform, {SERVICE: [TOKEN], "art-service-billing": [DB]})
    service = applied_service(make_user, service_form_data, {"API_TOKEN": TOKEN})

    admin = make_user("admin", "admins")
    change = decommission_service(service, admin)

    runs = change.runs_in_order()
    assert [(run.workspace.path, run.kind) for run in runs] == [
        (f"ecs/services/{SERVICE}", Run.Kind.DESTROY),
        (f"ecs/ecr-repositories/{SERVICE}", Run.Kind.DESTROY),
        (workload_roles_path(), Run.Kind.APPLY),
    ], "the tasks go before the role they run with"
    assert runs[-1].variables["service_secrets"] == {"art-service-billing": [DB]}, "the other services keep theirs"
    approver = make_user("approver", "approvers")
    refusal = approval_refusal(change, approver)
    assert refusal is not None and refusal.code == "platform_permission"
    assert may_approve_some(admin, list(change.runs.all()))
    client.force_login(approver)
    page = client.get(reverse("changes:detail", kwargs={"change_id": change.pk})).content.decode()
    assert f"except <code>{workload_roles_path()}</code>, which is applied without the service's execution role" in page
    assert 'id="approve"' not in page and 'data-code="platform_permission"' in page


def test_a_decommission_of_a_service_without_a_grant_plans_its_own_workspaces_only(make_user, service_form_data, platform):
    grant_applied(platform, {"art-service-billing": [DB]})
    service = applied_service(make_user, service_form_data, {})

    change = decommission_service(service, make_user("admin", "admins"))

    assert {run.workspace.path for run in change.runs.all()} == {f"ecs/services/{SERVICE}", f"ecs/ecr-repositories/{SERVICE}"}
    assert may_approve_some(make_user("approver", "approvers"), list(change.runs.all()))


def test_a_grant_that_outlived_its_service_still_takes_an_admin_to_approve_the_next_one(make_user, service_form_data, platform):
    # Decommissioned before grants went with their service: the role still reads the token.
    grant_applied(platform, {SERVICE: [TOKEN]})
    api = api_for(make_user("ci", "developers"))

    created = api.post("/api/v1/services/", {**service_form_data, "secrets": {"API_TOKEN": TOKEN}}, format="json")

    assert created.status_code == 201, created.content
    change = Service.objects.get(name="sourcing-data-service").changes.get()
    assert workload_roles_path() not in {run.workspace.path for run in change.runs.all()}, "the plan shows nothing to grant"
    approver = make_user("approver", "approvers")
    refusal = approval_refusal(change, approver)
    assert refusal is not None and refusal.code == "platform_permission"
    assert "read 1 secret they could not before" in refusal.message
    answer = api_for(approver).post(f"/api/v1/runs/{change.runs.first().pk}/approve/")
    assert answer.status_code == 403 and answer.json()["code"] == "platform_permission", answer.content
    assert "admin of the platform approves it" in answer.json()["detail"]
    assert may_approve_some(make_user("admin", "admins"), list(change.runs.all()))


@pytest.mark.parametrize(
    "secrets, admin_needed",
    [
        ({"API_TOKEN": TOKEN}, False),
        ({"API_TOKEN": TOKEN, "DB_PASSWORD": DB}, True),
        ({"TOKEN_RENAMED": TOKEN}, False),
        ({}, True),  # no secret gained, but the grant's removal is a plan of the platform's workload roles
    ],
)
def test_a_change_that_gives_the_tasks_a_secret_they_did_not_read_takes_an_admin(make_user, service_form_data, platform, secrets, admin_needed):
    grant_applied(platform, {SERVICE: [TOKEN]})
    service = applied_service(make_user, service_form_data, {"API_TOKEN": TOKEN})

    change = change_service(service, service.created_by, secrets=secrets, desired_count=service_form_data["desired_count"] + 1)

    refusal = approval_refusal(change, make_user("approver", "approvers"))
    assert (refusal is not None and refusal.code == "platform_permission") is admin_needed, refusal
