"""The capacity model, table by table: what one instance of each type gives tasks, whether a
registration or a change fits beside the other services, whether the cluster may shrink, the
settings read at start. No database, no emulator: the instance type table against the EC2 API's own
answer is tests/integration/capacity/test_instance_types.py."""

from pathlib import Path

import hcl2
import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.capacity import defaults
from portal.capacity.instance_types import RESERVED_MEMORY_MIB, InstanceType
from portal.capacity.model import (
    SMALLEST_TASK,
    ClusterSettings,
    Deployment,
    Need,
    Resources,
    ServiceTasks,
    TaskSize,
    minimum_instances,
    room_refusal,
    shrink_refusal,
)
from portal.catalog import rules

ROOT = Path(__file__).resolve().parents[3]


def cluster(instance_type="m6i.large", max_size=3, trunking=True) -> ClusterSettings:
    return ClusterSettings(instance_type, 1, max_size, 1, trunking)


def small(count: int) -> ServiceTasks:
    return ServiceTasks("svc", TaskSize(256, 512), count)


def smalls(count: int) -> Resources:
    return TaskSize(256, 512).tasks(count)


# --- one instance ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "instance_type, trunking, tasks, cpu, memory",
    [
        ("t3.small", False, 2, 2048, 1689),  # 2048 MiB: floor(0.95 x 2048) - 256
        ("t3.small", True, 2, 2048, 1689),  # burstable: no trunking, whatever the setting
        ("t3a.small", False, 1, 2048, 1689),  # two network interfaces, one is the instance's
        ("m6i.large", False, 2, 2048, 7526),
        ("m6i.large", True, 10, 2048, 7526),
        ("c5.large", True, 10, 2048, 3635),  # AWS's own example: 2 tasks, 10 with trunking
        ("m7i.large", True, 2, 2048, 7526),  # not in the trunking table read: counted without
        ("m5.4xlarge", True, 60, 16384, 62003),
        ("r6i.4xlarge", True, 60, 16384, 124262),
    ],
)
def test_one_instance_gives_tasks(instance_type, trunking, tasks, cpu, memory):
    assert cluster(instance_type, max_size=1, trunking=trunking).per_instance == Resources(tasks, cpu, memory)


def test_the_memory_counted_is_below_what_aws_example_registers_less_the_reservation():
    # "Reserving Amazon ECS Linux container instance memory": an m4.large (8192 MiB) registers 7985 MiB.
    m4_large = InstanceType("m4.large", "x86_64", 2, 8192, 2, 1, 10)
    assert m4_large.task_memory_mib <= 7985 - RESERVED_MEMORY_MIB


def test_the_memory_reserved_is_what_the_cluster_module_tells_the_agent():
    with open(ROOT / "infra_modules" / "ecs-cluster" / "variables.tf") as handle:
        variables = hcl2.load(handle)["variable"]
    (reserved,) = [v['"reserved_memory_mib"'] for v in variables if '"reserved_memory_mib"' in v]
    assert reserved["default"] == RESERVED_MEMORY_MIB


def test_the_smallest_task_is_the_smallest_the_form_offers():
    smallest_cpu = min(rules.TASK_SIZES)
    assert (SMALLEST_TASK.cpu, SMALLEST_TASK.memory) == (smallest_cpu, rules.TASK_SIZES[smallest_cpu][0])


# --- a registration or a change beside the other services -------------------------------------------
CASES = [
    # (case, cluster, others, deployment, expected: None or (code, field, words in the message))
    ("four small tasks fit", cluster(), Resources(), Deployment(small(4)), None),
    (
        "a task wider than an instance",
        cluster(),
        Resources(),
        Deployment(ServiceTasks("svc", TaskSize(4096, 8192), 1)),
        ("task_too_large", "cpu", ["A task of 4 vCPU / 8192 MiB does not fit on one m6i.large", "at most 2 vCPU and 7526 MiB"]),
    ),
    (
        "a task with more memory than an instance registers",
        cluster(),
        Resources(),
        Deployment(ServiceTasks("svc", TaskSize(2048, 8192), 1)),
        ("task_too_large", "memory", ["does not fit on one m6i.large (2 vCPU and 7526 MiB for tasks)"]),
    ),
    (
        "CPU runs out first",
        cluster(),
        Resources(),
        Deployment(ServiceTasks("svc", TaskSize(1024, 1024), 7)),
        ("no_room", "desired_count", ["room for 6 more tasks of 1 vCPU / 1024 MiB", "needs 7", "runs out of CPU."]),
    ),
    (
        "network interfaces run out first: without trunking an m6i.large holds 2 tasks",
        cluster(trunking=False),
        smalls(4),
        Deployment(small(3)),
        ("no_room", "desired_count", ["up to 3 x m6i.large, each 2 tasks", "room for 2 more tasks", "needs 3", "runs out of task network interfaces."]),
    ),
    (
        "memory runs out first",
        cluster("c5.large"),  # 10 tasks, 2 vCPU and 3635 MiB each: 21 tasks of 512 MiB
        smalls(20),
        Deployment(small(2)),
        ("no_room", "desired_count", ["room for 1 more task of 0.25 vCPU / 512 MiB", "runs out of memory."]),
    ),
    ("a rolling deployment that just fits", cluster(), smalls(20), Deployment(small(2), small(2), rolls=True), None),
    (
        "a rolling deployment needs room for the old tasks too",
        cluster(),
        smalls(21),
        Deployment(small(2), small(2), rolls=True),
        ("no_room", "desired_count", ["while the deployment replaces the 2 running tasks (new tasks start before old ones stop)"]),
    ),
    ("a count-only change starts no deployment", cluster(), smalls(21), Deployment(small(3), small(2), rolls=False), None),
    ("fewer tasks always pass, even in a full cluster", cluster(), smalls(40), Deployment(small(1), small(3), rolls=False), None),
    ("fewer tasks of a new image need no more than the service holds", cluster(), smalls(29), Deployment(small(1), small(3), rolls=True), None),
    (
        "a larger size in a full cluster is refused on the CPU",
        cluster(),
        smalls(20),
        Deployment(ServiceTasks("svc", TaskSize(512, 1024), 2), small(2), rolls=True),
        ("no_room", "cpu", ["of 0.5 vCPU / 1024 MiB while the deployment replaces the 2 running tasks of 0.25 vCPU / 512 MiB"]),
    ),
]


@pytest.mark.parametrize("case, cluster_settings, others, change, expected", CASES, ids=[c[0] for c in CASES])
def test_a_change_fits_or_is_refused_with_what_would(case, cluster_settings, others, change, expected):
    refusal = room_refusal(cluster_settings, others, change)

    if expected is None:
        assert refusal is None, refusal
        return
    code, field, words = expected
    assert (refusal.code, refusal.field) == (code, field), refusal
    for word in words:
        assert word in refusal.message, refusal.message
    if code == "no_room":
        assert refusal.message.endswith("Choose fewer tasks or a smaller size, or ask an admin to grow the cluster.")


def test_a_refusal_names_the_cluster_a_pending_change_makes():
    refusal = room_refusal(cluster("t3.small", 1), Resources(), Deployment(small(3)), when=" after the cluster change under way")
    assert "(up to 1 x t3.small, each 2 tasks, 2 vCPU and 1689 MiB for tasks) after the cluster change under way" in refusal.message


def test_a_deployment_surge_is_the_old_tasks_the_new_ones_start_beside():
    assert Deployment(small(3), small(3)).surge == smalls(3)
    assert Deployment(small(2), small(5)).surge == smalls(2)  # the old count is first brought to the new
    assert Deployment(small(5), small(2)).surge == smalls(2)
    assert Deployment(small(5), small(2), rolls=False).surge == Resources()
    assert Deployment(small(5)).peak == smalls(5)


# --- the cluster may shrink only to what the services need --------------------------------------------
def test_the_cluster_may_not_shrink_below_the_tasks_and_one_deployment():
    need = Need(smalls(2), (small(2),))

    refusal = shrink_refusal(cluster("t3.small", 1, trunking=False), need)

    assert (refusal.code, refusal.field) == ("too_small", "max_size")
    assert "The services run 2 tasks (0.5 vCPU, 1024 MiB) and one deployment needs room for 2 more" in refusal.message
    assert "With t3.small, choose a maximum of at least 2 instances" in refusal.message
    assert shrink_refusal(cluster("t3.small", 2, trunking=False), need) is None


def test_the_cluster_may_not_move_to_a_type_the_services_tasks_do_not_fit():
    big = ServiceTasks("reports", TaskSize(2048, 4096), 1)

    refusal = shrink_refusal(cluster("c5.large", 10), Need(big.resources, (big,)))

    assert (refusal.code, refusal.field) == ("task_too_large", "instance_type")
    assert refusal.message.startswith("reports runs tasks of 2 vCPU / 4096 MiB, which do not fit on one c5.large")


@pytest.mark.parametrize(
    "instance_type, need, fewest",
    [("m6i.large", smalls(24), 3), ("m6i.large", smalls(25), 4), ("t3.small", smalls(2), 1), ("m6i.large", Resources(), 0)],
)
def test_the_fewest_instances_that_hold_a_need(instance_type, need, fewest):
    assert minimum_instances(cluster(instance_type), need) == fewest


# --- the settings read at start -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "environ, expected",
    [
        ({}, {"instance_type": "m6i.large", "min_size": 1, "max_size": 3, "desired_capacity": 1}),
        (
            {
                "PORTAL_CLUSTER_INSTANCE_TYPE": "c6i.xlarge",
                "PORTAL_CLUSTER_MIN_SIZE": "2",
                "PORTAL_CLUSTER_MAX_SIZE": "6",
                "PORTAL_CLUSTER_DESIRED_CAPACITY": "2",
            },
            {"instance_type": "c6i.xlarge", "min_size": 2, "max_size": 6, "desired_capacity": 2},
        ),
        ({"PORTAL_CLUSTER_INSTANCE_TYPE": "m6g.large"}, "PORTAL_CLUSTER_INSTANCE_TYPE must be one of the instance types"),
        ({"PORTAL_CLUSTER_MAX_SIZE": "0"}, "PORTAL_CLUSTER_MAX_SIZE must be a whole number of instances from 1 to 100"),
        ({"PORTAL_CLUSTER_MAX_SIZE": "1000"}, "PORTAL_CLUSTER_MAX_SIZE must be a whole number of instances from 1 to 100"),
        ({"PORTAL_CLUSTER_MIN_SIZE": "²"}, "PORTAL_CLUSTER_MIN_SIZE must be a whole number"),
        ({"PORTAL_CLUSTER_MIN_SIZE": "2"}, "PORTAL_CLUSTER_MIN_SIZE <= PORTAL_CLUSTER_DESIRED_CAPACITY <= PORTAL_CLUSTER_MAX_SIZE"),
    ],
)
def test_the_cluster_defaults_are_refused_at_start_when_wrong(environ, expected):
    if isinstance(expected, dict):
        assert defaults.cluster_defaults(environ) == expected
        return
    with pytest.raises(ImproperlyConfigured, match=expected.replace("<=", "<=").replace("(", r"\(")):
        defaults.cluster_defaults(environ)


@pytest.mark.parametrize(
    "value, on_emulator, expected",
    [
        (None, False, True),
        (None, True, False),
        ("off", False, False),
        ("TRUE", False, True),
        ("treu", False, "must be true or false"),
        ("1", True, "cannot be on against the emulator"),
    ],
)
def test_trunking_is_on_against_aws_and_refused_when_unreadable(value, on_emulator, expected):
    environ = {} if value is None else {"PORTAL_CLUSTER_AWSVPC_TRUNKING": value}
    if isinstance(expected, bool):
        assert defaults.awsvpc_trunking(environ, on_emulator=on_emulator) is expected
        return
    with pytest.raises(ImproperlyConfigured, match=expected):
        defaults.awsvpc_trunking(environ, on_emulator=on_emulator)


# --- the figures -----------------------------------------------------------------------------------------
def figures(settings: ClusterSettings) -> tuple[int, int, int]:
    """Tasks of the smallest size, services of one such task (room for one rolling deployment kept),
    and how many of the form's task sizes one instance holds."""
    capacity = settings.capacity
    sizes = sum(settings.holds(TaskSize(cpu, memory)) for cpu, memories in rules.TASK_SIZES.items() for memory in memories)
    return capacity.count_of(SMALLEST_TASK), (capacity - SMALLEST_TASK.tasks(1)).count_of(SMALLEST_TASK), sizes


def test_the_platform_holds_four_times_the_tasks_at_the_new_defaults():
    before = ClusterSettings("t3.small", 1, 3, 1, trunking=False)  # the cluster as it was, fixed
    after = ClusterSettings(defaults.DEFAULT_INSTANCE_TYPE, 1, 3, 1, trunking=True)  # the defaults against AWS
    on_emulator = ClusterSettings(defaults.DEFAULT_INSTANCE_TYPE, 1, 3, 1, trunking=False)

    print(f"\n{'cluster':46} tasks  services  sizes (of {sum(map(len, rules.TASK_SIZES.values()))})")
    for label, settings in [
        ("before: 1-3 x t3.small, no trunking", before),
        ("after: 1-3 x m6i.large, ENI trunking", after),
        ("after, on the emulator (no trunking)", on_emulator),
    ]:
        print(f"{label:46} {'%5d  %8d  %5d' % figures(settings)}")

    assert figures(before) == (6, 5, 3)
    assert figures(after) == (24, 23, 17)
    assert figures(on_emulator) == (6, 5, 17)
