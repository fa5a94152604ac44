"""Workspaces on disk: user values only in terraform.tfvars.json, state key from the path."""

import json

from portal.catalog.onboarding import register_service
from portal.workspaces.rendering import inputs_digest, render


def test_user_values_go_to_tfvars_and_never_into_hcl(make_user, service_form_data):
    _, change = register_service(make_user("dev", "developers"), **service_form_data)
    run = change.runs_in_order()[0]
    workspace = run.workspace

    directory = render(workspace)

    tfvars = json.loads((directory / "terraform.tfvars.json").read_text())
    assert tfvars["name"] == "art-service-sourcing-data-service"
    assert tfvars["default_tags"]["PortalWorkspace"] == workspace.path
    for hcl in directory.glob("*.tf"):
        assert "sourcing-data-service" not in hcl.read_text(), f"{hcl.name} holds a user string"
    assert directory.as_posix().endswith("ecs/ecr-repositories/art-service-sourcing-data-service")
    assert workspace.state_key == f"{workspace.path}/terraform.tfstate"


def test_module_source_points_at_the_shared_module(make_user, service_form_data, settings):
    _, change = register_service(make_user("dev", "developers"), **service_form_data)
    run = change.runs_in_order()[0]

    directory = render(run.workspace)

    source = next(
        line.split('"')[1] for line in (directory / "main.tf").read_text().splitlines() if line.strip().startswith("source")
    )
    assert (directory / source).resolve() == (settings.INFRA_MODULES_DIR / "ecr-repository").resolve()


def test_inputs_digest_changes_when_values_change(make_user, service_form_data):
    _, change = register_service(make_user("dev", "developers"), **service_form_data)
    run = change.runs_in_order()[0]
    workspace = run.workspace
    render(workspace)
    before = inputs_digest(workspace)

    workspace.variables = {**workspace.variables, "name": "art-service-other"}
    render(workspace)

    assert inputs_digest(workspace) != before
