"""Workspaces on disk: user values only in terraform.tfvars.json, state key from the path."""

import json

from portal.catalog.onboarding import register_service
from portal.workspaces.rendering import inputs_digest, render


def test_user_values_go_to_tfvars_and_never_into_hcl(make_user, service_form_data):
    _, change = register_service(make_user("dev", "developers"), **service_form_data)
    run = change.runs_in_order()[0]
    workspace = run.workspace

    directory = render(workspace, run.variables)

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

    directory = render(run.workspace, run.variables)

    source = next(line.split('"')[1] for line in (directory / "main.tf").read_text().splitlines() if line.strip().startswith("source"))
    assert (directory / source).resolve() == (settings.INFRA_MODULES_DIR / "ecr-repository").resolve()


def test_inputs_digest_changes_when_values_change(make_user, service_form_data):
    _, change = register_service(make_user("dev", "developers"), **service_form_data)
    run = change.runs_in_order()[0]
    workspace = run.workspace
    render(workspace, run.variables)
    before = inputs_digest(workspace)

    render(workspace, {**run.variables, "name": "art-service-other"})

    assert inputs_digest(workspace) != before


def test_each_run_renders_the_revision_it_plans(make_user, service_form_data):
    """Two proposals of one service: each run's inputs hold its own revision, whatever came later."""
    from portal.catalog.onboarding import change_service

    author = make_user("dev", "developers")
    service, onboarding = register_service(author, **service_form_data)
    bigger = change_service(service, author, cpu=1024)
    service_run = lambda change: change.runs_in_order()[1]  # noqa: E731

    render(service_run(onboarding).workspace, service_run(onboarding).variables)
    first = json.loads((service_run(onboarding).workspace.directory / "terraform.tfvars.json").read_text())
    render(service_run(bigger).workspace, service_run(bigger).variables)
    second = json.loads((service_run(bigger).workspace.directory / "terraform.tfvars.json").read_text())

    assert (first["cpu"], second["cpu"]) == (256, 1024)
    assert bigger.revision.number == 2 and bigger.revision.based_on == onboarding.revision
