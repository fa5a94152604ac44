"""What a service's runs ask of the cluster, read from their inputs as PostgreSQL holds them: only whole
JSON numbers count (a run whose inputs are anything else asks nothing), a destroy leaves nothing, and
the larger of the applied and the pending counts."""

import pytest
from django.utils import timezone

from portal.capacity.model import Resources, ServiceTasks, TaskSize
from portal.capacity.usage import service_uses
from portal.runs.models import Run, RunStatus
from portal.workspaces.models import Workspace

pytestmark = pytest.mark.django_db

SIZED = {"cpu": 512, "memory": 1024, "desired_count": 2}


def service(name: str) -> Workspace:
    return Workspace.objects.create(path=f"ecs/services/art-service-{name}", module="ecs-service")


def applied(workspace, variables, kind=Run.Kind.APPLY):
    return Run.objects.create(workspace=workspace, kind=kind, status=RunStatus.APPLIED, variables=variables, finished_at=timezone.now())


def pending(workspace, variables):
    return Run.objects.create(workspace=workspace, status=RunStatus.AWAITING_APPROVAL, variables=variables)


@pytest.mark.parametrize(
    "odd",
    [
        {"cpu": "512"},  # a string of digits
        {"cpu": 512.5},
        {"memory": True},
        {"desired_count": None},
        {"desired_count": [2]},
        {"cpu": {"value": 512}},
    ],
)
def test_inputs_that_are_not_whole_numbers_ask_for_nothing(odd):
    workspace = service("odd")
    pending(workspace, {**SIZED, **odd})

    assert service_uses()[workspace.path].pending is None


def test_a_missing_input_asks_for_nothing():
    workspace = service("missing")
    pending(workspace, {"cpu": 512, "memory": 1024})

    assert service_uses()[workspace.path].pending is None


def test_whole_numbers_ask_and_the_larger_of_applied_and_pending_counts():
    workspace = service("billing")
    applied(workspace, SIZED)
    pending(workspace, {**SIZED, "cpu": 256, "desired_count": 3})

    use = service_uses()[workspace.path]

    assert use.applied == ServiceTasks("art-service-billing", TaskSize(512, 1024), 2)
    assert use.pending == ServiceTasks("art-service-billing", TaskSize(256, 1024), 3)
    assert use.resources == Resources(3, 1024, 3072)


def test_a_destroyed_service_asks_for_nothing_and_is_listed():
    workspace = service("gone")
    applied(workspace, SIZED)
    applied(workspace, SIZED, kind=Run.Kind.DESTROY)

    use = service_uses()[workspace.path]
    assert use.applied is None and use.resources == Resources()
