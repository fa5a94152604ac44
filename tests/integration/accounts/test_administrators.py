"""The administrators: which identity each workspace's runs act with, and the admins' page that
changes them through a planned, approved change."""

import json

import pytest
from django.urls import reverse

from portal.catalog.onboarding import register_service
from portal.changes import workflow
from portal.core.hcl import hcl_object
from portal.runner.terraform import backend_config
from portal.runs.models import Change, Run, RunStatus
from portal.workspaces import identities
from portal.workspaces.identities import Refusal, RunIdentity, identity_for, type_of
from portal.workspaces.layout import (
    administrators_workspace,
    declared_administrators,
    sync_platform_workspaces,
)
from portal.workspaces.models import Workspace
from portal.workspaces.rendering import render
from tests.conftest import api_for, record_plan


@pytest.mark.parametrize(
    "path, expected",
    [
        ("vpc/art-service-network", "vpc"),
        ("ecs/clusters/art-service-cluster", "ecs"),
        ("ecs/services/art-service-billing", "ecs"),
        ("ecs/ecr-repositories/art-service-billing", "ecr"),
        ("iam/service-admins/art-service", "iam"),
        ("iam/workload-roles/art-service", "iam"),
        ("s3/remote-state/art-service-terraform-state", "s3"),
        ("ecr-repositories/art-service-billing", None),
        ("ecsx/services/x", None),
        ("", None),
    ],
)
def test_a_workspace_type_is_its_first_folder_except_ecr_repositories(path, expected):
    assert type_of(path) == expected


def test_every_platform_and_service_workspace_has_a_type_with_a_state_folder(db, make_user, service_form_data):
    _, change = register_service(make_user("dev", "developers"), **service_form_data)
    paths = [run.workspace.path for run in change.runs.all()] + [w.path for w in sync_platform_workspaces()]
    for path in paths:
        service_type = type_of(path)
        assert service_type in identities.TYPES, path
        assert any(f"{path}/".startswith(prefix) for prefix in identities.STATE_KEY_PREFIXES[service_type]), path


def identity_of(path: str) -> RunIdentity:
    identity = identity_for(Workspace(path=path), "portal-run-test")
    assert isinstance(identity, RunIdentity), identity
    return identity


def test_the_session_policy_narrows_the_state_role_to_the_runs_key_and_lockfile(db):
    identity = identity_of("ecs/services/art-service-billing")
    policy = json.loads(identity.session_policy())
    bucket = "arn:aws:s3:::art-service-terraform-state"
    key = f"{bucket}/ecs/services/art-service-billing/terraform.tfstate"
    writes = [s for s in policy["Statement"] if "s3:PutObject" in s["Action"]]
    deletes = [s for s in policy["Statement"] if s["Action"] == "s3:DeleteObject"]
    reads = [s for s in policy["Statement"] if s["Sid"] == "PlatformOutputs"]

    assert [w["Resource"] for w in writes] == [[key, f"{key}.tflock"]]
    assert [d["Resource"] for d in deletes] == [f"{key}.tflock"], "the state itself is never deleted"
    assert f"{bucket}/vpc/art-service-network/terraform.tfstate" in reads[0]["Resource"]
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])
    assert len(identity.session_policy()) < 2048, "STS refuses longer session policies"


def test_roles_are_the_types_and_the_backend_assumes_the_state_role(db):
    identity = identity_of("ecs/ecr-repositories/art-service-billing")
    account = identities.account_id()

    assert identity.role_arn == f"arn:aws:iam::{account}:role/art-service/admins/art-service-ecr-admin"
    assert identity.state_role_arn == f"arn:aws:iam::{account}:role/art-service/admins/art-service-ecr-state"
    config = backend_config("ecs/ecr-repositories/art-service-billing/terraform.tfstate", identity)
    assert config["assume_role"].startswith('{role_arn="' + identity.state_role_arn + '"')
    assert "portal-run-test" not in config["assume_role"], "one session name per workspace: init is skipped"


def test_hcl_object_values_cannot_start_a_template():
    assert hcl_object({"policy": 'a"${b}%{c}'}) == '{policy="a\\"$${b}%%{c}"}'


def test_a_rendered_workspace_carries_its_identity_in_tfvars_only(db, make_user, service_form_data):
    _, change = register_service(make_user("dev", "developers"), **service_form_data)
    run = change.runs_in_order()[1]
    identity = identity_of(run.workspace.path)

    directory = render(run.workspace, run.variables, identity=identity)

    tfvars = json.loads((directory / "terraform.tfvars.json").read_text())
    assert tfvars["portal_identity"]["role_arn"] == identity.role_arn
    assert identity.role_arn not in (directory / "provider.tf").read_text()
    assert json.loads(render(run.workspace, run.variables).joinpath("terraform.tfvars.json").read_text())["portal_identity"] is None


def applied_administrators(admin, administrators: dict) -> None:
    """Record the administrators workspace as applied with these administrators."""
    from portal.workspaces.layout import administrators_variables

    workspace = administrators_workspace()
    change = workflow.propose("administrators", [(workspace, administrators_variables(administrators))], admin)
    run = change.runs.get()
    record_plan(run)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.APPLIED, finished_at=run.created_at)


def test_a_workspace_whose_type_has_no_administrator_is_refused_with_what_to_do(db, make_user, parked_queue):
    admin = make_user("admin", "admins")
    applied_administrators(admin, {"iam": {"name_patterns": ["art-service-*"]}, "ecs": {"name_patterns": ["art-service-*"]}})

    refusal = identity_for(Workspace(path="vpc/art-service-network"), "s")
    assert isinstance(refusal, Refusal)
    assert "no vpc administrator" in refusal.reason and "Administrators page" in refusal.reason
    assert isinstance(identity_for(Workspace(path="ecs/services/x"), "s"), RunIdentity)
    assert isinstance(identity_for(Workspace(path="unknown/x"), "s"), Refusal)


# --- the page --------------------------------------------------------------------------------------
@pytest.fixture
def admins(make_user):
    return make_user("admin", "admins"), make_user("other-admin", "admins")


def test_only_admins_see_the_administrators_page(client, make_user, admins):
    url = reverse("administrators:list")
    for name, group in (("developer", "developers"), ("approver", "approvers")):
        client.force_login(make_user(name, group))
        assert client.get(url).status_code == 403
        assert client.post(reverse("administrators:add"), {"service_type": "logs"}).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302

    client.force_login(admins[0])
    page = client.get(url).content.decode()
    assert 'id="type-ecs"' in page and 'id="type-iam"' in page
    assert "art-service*" in page


def test_the_page_names_the_first_workspaces_of_a_type_and_counts_the_rest_the_api_names_all(client, admins):
    from portal.administrators.roster import LISTED_WORKSPACES

    paths = [f"ecs/services/art-service-many-{number:02d}" for number in range(LISTED_WORKSPACES + 3)]
    for path in paths:
        Workspace.objects.create(path=path, module="ecs-service")
    ecs = sorted(w.path for w in Workspace.objects.all() if type_of(w.path) == "ecs")
    client.force_login(admins[0])

    page = client.get(reverse("administrators:list")).content.decode()
    row = page.split('id="type-ecs"', 1)[1].split("</tr>", 1)[0]

    assert [path for path in ecs if f"<code>{path}</code>" in row] == ecs[:LISTED_WORKSPACES]
    assert f"and {len(ecs) - LISTED_WORKSPACES} more" in row
    listed = {entry["service_type"]: entry["workspaces"] for entry in api_for(admins[0]).get("/api/v1/administrators/").json()["administrators"]}
    assert listed["ecs"] == ecs


def test_an_admin_plans_a_scope_change_and_another_admin_approves_it(client, admins, parked_queue):
    admin, other = admins
    client.force_login(admin)

    response = client.post(reverse("administrators:scope", args=["ecr"]), {"name_patterns": "art-service-*, legacy-billing"})

    assert response.status_code == 302
    run = Run.objects.get(workspace__path=administrators_workspace().path, status=RunStatus.QUEUED)
    assert run.variables["administrators"]["ecr"]["name_patterns"] == ["art-service-*", "legacy-billing"]
    assert run.variables["administrators"]["ecs"] == declared_administrators()["ecs"], "nothing else changes"
    assert declared_administrators()["ecr"]["name_patterns"] == ["art-service*"], "only a proposal until applied"
    record_plan(run)
    assert workflow.approval_refusal(run.change, admin).code == "own_change"
    assert workflow.approval_refusal(run.change, other) is None
    page = client.get(reverse("administrators:list")).content.decode()
    assert 'id="pending-change"' in page and "pending: scope art-service-*, legacy-billing" in page


@pytest.mark.parametrize(
    "url_args, data, message",
    [
        (("scope", "ecr"), {"name_patterns": "Art Service*"}, "Not a name pattern"),
        (("scope", "ecr"), {"name_patterns": "a-*-b"}, "Not a name pattern"),
        (("scope", "ecr"), {"name_patterns": " , "}, "Give at least one name pattern"),
        (("scope", "ecr"), {"name_patterns": ",".join(f"p{i}" for i in range(11))}, "At most 10"),
        (("scope", "ecr"), {"name_patterns": "x-*, x-*"}, "given twice"),
        (("retire", "ecr"), {}, "Tick the box"),
    ],
)
def test_bad_input_is_a_400_with_a_message_and_plans_nothing(client, admins, parked_queue, url_args, data, message):
    client.force_login(admins[0])
    response = client.post(reverse(f"administrators:{url_args[0]}", args=url_args[1:]), data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Change.objects.exists()


@pytest.mark.parametrize(
    "url_name, service_type, data, message",
    [
        ("retire", "iam", {"confirm": "1"}, "cannot be retired"),
        ("scope", "iam", {"name_patterns": "x-*"}, "may not widen itself"),
        ("scope", "ecr", {"name_patterns": "art-service*"}, "nothing to plan"),
        ("retire", "ecs", {"confirm": "1"}, "ecs administrator runs ecs/clusters/art-service-cluster"),
        ("scope", "nosuch", {"name_patterns": "x-*"}, "no nosuch administrator"),
    ],
)
def test_refused_changes_say_why_and_plan_nothing(client, admins, parked_queue, url_name, service_type, data, message):
    sync_platform_workspaces()
    client.force_login(admins[0])
    response = client.post(reverse(f"administrators:{url_name}", args=[service_type]), data, follow=True)

    assert message in response.content.decode()
    assert not Change.objects.exists()


def test_adding_a_type_plans_it_and_retiring_an_unused_one_too(client, admins, parked_queue):
    admin, _ = admins
    applied_administrators(admin, {"iam": {"name_patterns": ["art-service-*"]}, "ecs": {"name_patterns": ["art-service-*"]}})
    client.force_login(admin)

    client.post(reverse("administrators:add"), {"service_type": "logs", "name_patterns": "art-service-*"})
    added = Run.objects.get(status=RunStatus.QUEUED)
    assert set(added.variables["administrators"]) == {"iam", "ecs", "logs"}
    assert added.variables["state_key_prefixes"]["logs"] == ["logs/"]

    client.post(reverse("administrators:retire", args=["ecs"]), {"confirm": "1"})
    retired = Run.objects.filter(status=RunStatus.QUEUED).get()
    assert set(retired.variables["administrators"]) == {"iam"}, "the newer proposal supersedes the older one"

    bad = client.post(reverse("administrators:add"), {"service_type": "iam", "name_patterns": "x"})
    assert bad.status_code == 400 and "Select a valid choice" in bad.content.decode()


def test_the_run_page_and_the_api_say_which_identity_ran(client, admins, make_user, service_form_data, parked_queue):
    admin, _ = admins
    _, change = register_service(make_user("dev", "developers"), **service_form_data)
    run = change.runs_in_order()[1]
    identity = identity_of(run.workspace.path)
    run.start_planning(identity_type=identity.service_type, role_arn=identity.role_arn, session_name="portal-run-x")

    client.force_login(admin)
    page = client.get(reverse("runs:run-detail", kwargs={"run_id": run.pk})).content.decode()
    body = api_for(admin).get(f"/api/v1/runs/{run.pk}/").json()

    assert "the ecs administrator" in page and identity.role_arn in page
    assert body["identity"] == {
        "type": "ecs",
        "role_arn": identity.role_arn,
        "session_name": "portal-run-x",
        "description": "the ecs administrator",
    }
    queued = change.runs_in_order()[0]
    assert api_for(admin).get(f"/api/v1/runs/{queued.pk}/").json()["identity"] is None


def test_a_change_of_the_administrators_that_plans_no_changes_is_what_they_are(db, make_user, parked_queue):
    """On the emulator a scope is rendered as `*`, so widening it changes nothing in AWS: the plan has
    no changes, and the administrators are then declared as proposed."""
    admin = make_user("admin", "admins")
    wanted = {**declared_administrators(), "ecr": {"name_patterns": ["art-service*", "legacy-*"]}}
    from portal.workspaces.layout import administrators_variables

    change = workflow.propose("scope", [(administrators_workspace(), administrators_variables(wanted))], admin)
    run = change.runs.get()
    run.start_planning()
    run.record_plan(to_add=0, to_change=0, to_destroy=0, plan_sha256="0" * 64, inputs_sha256="1" * 64)
    workflow.advance(change)

    assert Run.objects.get(pk=run.pk).status == RunStatus.NO_CHANGES
    assert declared_administrators()["ecr"]["name_patterns"] == ["art-service*", "legacy-*"]
