"""What a service's runs ask of the cluster, read from their inputs as PostgreSQL holds them: only whole
JSON numbers count (a run whose inputs are anything else asks nothing), a destroy leaves nothing, and
the larger of the applied and the pending counts."""

import pytest
from django.utils import timezone

from portal.capacity.model import Resources, ServiceTasks, TaskSize
from portal.capacity.usage import Totals, service_uses, totals
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


def python_totals(exclude_path=None) -> Totals:
    """What totals() adds up in PostgreSQL, added up here from service_uses()' reading of each run."""
    uses = [use for use in service_uses(exclude_path).values() if use.asked]
    steady, largest = Resources(), Resources()
    for use in uses:
        steady, largest = steady + use.resources, largest.largest(use.resources)
    return Totals(steady, largest, len(uses))


def test_the_added_up_use_is_what_each_services_runs_ask_summed():
    """Applied only, pending only, both (larger either way, per dimension), destroyed, odd inputs in
    either run, a count of none, a number too large for any integer column; and one left out."""
    cases = {
        "applied": ([SIZED], None),
        "pending": ([], {"cpu": 1024, "memory": 2048, "desired_count": 1}),
        "larger-pending": ([SIZED], {**SIZED, "desired_count": 5}),
        "mixed": ([{"cpu": 2048, "memory": 4096, "desired_count": 1}], {"cpu": 256, "memory": 512, "desired_count": 6}),
        "destroyed": ([SIZED, "destroy"], None),
        "destroyed-then-pending": ([SIZED, "destroy"], {**SIZED, "desired_count": 3}),
        "odd-applied": ([{**SIZED, "cpu": "512"}], None),
        "odd-pending": ([SIZED], {**SIZED, "memory": 1024.5}),
        "none-running": ([{**SIZED, "desired_count": 0}], None),
        "huge": ([{"cpu": 4096, "memory": 30720, "desired_count": 10**20}], None),
        "older-applies": ([{**SIZED, "desired_count": 9}, SIZED], None),
    }
    for name, (applies, asked) in cases.items():
        workspace = service(name)
        for variables in applies:
            if variables == "destroy":
                applied(workspace, SIZED, kind=Run.Kind.DESTROY)
            else:
                applied(workspace, variables)
        if asked is not None:
            pending(workspace, asked)

    every = totals()
    assert every == python_totals()
    # By hand, the services that ask: applied 2x512, pending 1x1024, larger-pending 5x512 (applied 2),
    # mixed 1x2048|6x256, destroyed-then-pending 3x512, odd-pending its applied 2x512, none-running 0,
    # huge, older-applies its last 2x512.
    assert every.services == 9
    assert every.steady.tasks == 2 + 1 + 5 + 6 + 3 + 2 + 0 + 10**20 + 2
    assert every.largest == Resources(10**20, 4096 * 10**20, 30720 * 10**20)
    assert every.steady.cpu == 1024 + 1024 + 2560 + 2048 + 1536 + 1024 + 0 + 4096 * 10**20 + 1024

    left_out = "ecs/services/art-service-huge"
    assert totals(exclude_path=left_out) == python_totals(exclude_path=left_out)
    assert totals(exclude_path=left_out).largest == Resources(6, 2560, 5120)  # mixed; larger-pending


def test_nothing_asked_adds_up_to_nothing():
    service("empty")
    assert totals() == Totals() == python_totals()
