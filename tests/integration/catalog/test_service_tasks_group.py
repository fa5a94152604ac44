"""Moving an existing service onto the shared service tasks group without dropping its traffic
(infra_modules/network, infra_modules/ecs-service): the network applies first (the shared group and
the load balancer's one egress rule to it); the service's next apply moves its tasks into the shared
group and keeps its own egress rule on the load balancer's group, through which alone its running tasks
are reachable until ECS has replaced them; the apply after that removes the rule. The portal tells the
two applies apart by the inputs of the service's last apply (portal.catalog.layout)."""

import pytest
from django.utils import timezone

from portal.catalog import layout
from portal.catalog.models import Service
from portal.runs.models import Run, RunStatus
from tests.conftest import plan_approve_apply

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(make_user, service_form_data, parked_queue, settings):
    from portal.catalog.onboarding import register_service

    settings.RUNNER_PRINCIPAL_ARNS = ["arn:aws:iam::123456789012:role/portal"]
    developer = make_user("dev", "developers")
    registered, change = register_service(developer, name="sourcing-data-service", **{k: v for k, v in service_form_data.items() if k != "name"})
    return registered, change, developer


def service_workspace(service: Service):
    return service.workspaces.get(module="ecs-service")


def applied_before_the_shared_group(service: Service) -> None:
    """What an apply of the earlier version left: its inputs had no keep_load_balancer_egress_rule."""
    workspace = service_workspace(service)
    inputs = layout.inputs(workspace, service, service.base_revision())
    inputs.pop("keep_load_balancer_egress_rule")
    Run.objects.create(workspace=workspace, variables=inputs, status=RunStatus.APPLIED, finished_at=timezone.now())


def test_a_new_service_never_makes_the_rule(service):
    registered, change, _ = service

    (service_run,) = [run for run in change.runs.all() if run.workspace.module == "ecs-service"]

    assert service_run.variables["keep_load_balancer_egress_rule"] is False


def test_an_existing_service_keeps_its_rule_for_the_apply_that_moves_its_tasks_only(service, make_user):
    registered, first, developer = service
    first.runs.all().delete()
    applied_before_the_shared_group(registered)

    assert layout.inputs(service_workspace(registered), registered, registered.base_revision())["keep_load_balancer_egress_rule"] is True

    # That apply: the tasks move into the shared group, the rule stays.
    from portal.catalog.onboarding import change_service

    moving = change_service(registered, developer, desired_count=2)
    (moving_run,) = [run for run in moving.runs.all() if run.workspace.module == "ecs-service"]
    assert moving_run.variables["keep_load_balancer_egress_rule"] is True
    plan_approve_apply(moving, make_user("approver", "approvers"))

    # The next apply removes it.
    after = layout.inputs(service_workspace(registered), registered, registered.base_revision())
    assert after["keep_load_balancer_egress_rule"] is False


def test_a_service_registered_again_after_a_decommission_never_makes_the_rule(service):
    registered, first, _ = service
    first.runs.all().delete()
    workspace = service_workspace(registered)
    old_inputs = layout.inputs(workspace, registered, registered.base_revision())
    old_inputs.pop("keep_load_balancer_egress_rule")
    Run.objects.create(workspace=workspace, variables=old_inputs, status=RunStatus.APPLIED, kind=Run.Kind.DESTROY, finished_at=timezone.now())

    assert layout.inputs(workspace, registered, registered.base_revision())["keep_load_balancer_egress_rule"] is False
