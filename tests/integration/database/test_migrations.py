"""The models and the migrations agree: a model change always comes with a new migration (an edited
old one would break every database that already applied it)."""

import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out)
    except SystemExit:
        pytest.fail(f"Models changed without a migration:\n{out.getvalue()}")


@pytest.mark.django_db(transaction=True)
def test_a_database_of_the_previous_release_upgrades(django_user_model):
    """Services declared before revisions existed become revision 1, applied when their service
    workspace's latest run applied; ended changes get their outcome; active runs keep their inputs."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("catalog", "0002_alter_service_health_check_path"), ("runs", "0002_alter_run_kind_change_run_change")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    user = old.get_model("auth", "User").objects.create(username="old-dev")
    user.groups.add(old.get_model("auth", "Group").objects.get_or_create(name="developers")[0])
    old.get_model("auth", "User").objects.create(username="old-bystander")  # no role: joins no team
    Service, Workspace = old.get_model("catalog", "Service"), old.get_model("workspaces", "Workspace")
    Change, Run = old.get_model("runs", "Change"), old.get_model("runs", "Run")
    declaration = dict(container_port=8082, cpu=256, memory=512, desired_count=1, health_check_path="/health", image_tag="1.0.0")
    applied = Service.objects.create(name="applied-one", created_by=user, **declaration)
    pending = Service.objects.create(name="pending-one", created_by=user, **{**declaration, "cpu": 1024})
    for service, status in [(applied, "applied"), (pending, "awaiting_approval")]:
        workspace = Workspace.objects.create(
            path=f"ecs/services/art-service-{service.name}", module="ecs-service", service=service, variables={"cpu": service.cpu}
        )
        change = Change.objects.create(title=f"Onboard {service.name}", service=service, requested_by=user)
        Run.objects.create(workspace=workspace, change=change, status=status, requested_by=user)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    from portal.catalog.models import Service as NewService
    from portal.runs.models import Change as NewChange
    from portal.runs.models import Run as NewRun

    upgraded = {s.name: s for s in NewService.objects.select_related("applied_revision")}
    assert upgraded["applied-one"].applied_revision.cpu == 256
    assert upgraded["pending-one"].applied_revision is None
    assert upgraded["pending-one"].revisions.get().cpu == 1024
    assert NewChange.objects.get(service=upgraded["applied-one"]).outcome == "applied"
    assert NewChange.objects.get(service=upgraded["pending-one"]).outcome == ""
    assert NewRun.objects.get(status="awaiting_approval").variables == {"cpu": 1024}
    # Before teams every developer acted on every service: they all go to one team, with every
    # developer and approver in it.
    assert {service.team.name for service in upgraded.values()} == {"default"}
    assert [m.user.username for m in upgraded["applied-one"].team.memberships.select_related("user")] == ["old-dev"]
