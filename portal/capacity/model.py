"""What the cluster can place, as arithmetic: no database here (portal.capacity.usage reads what the
services and the cluster are; this decides whether more fits, and says what would).

The model, from ECS's placement rules for awsvpc tasks on the EC2 launch type:
- one task runs on one instance: its CPU units and memory must fit what one instance registers;
- every task takes a network interface of its instance (a trunk branch with ENI trunking), so an
  instance holds at most its task limit (instance_types.csv);
- the services' desired tasks together, plus the rolling deployment of the service being changed,
  must fit within max_size instances in task slots, CPU and memory. A deployment (maximumPercent 200,
  minimumHealthyPercent 100, the ecs-service module's) starts the new tasks before it stops the old
  ones, so for a while the service runs its new tasks and up to as many of its old ones.
What it leaves out is in the README ("Cluster capacity").
"""

import math
from dataclasses import dataclass

from portal.capacity.instance_types import INSTANCE_TYPES, InstanceType
from portal.changes.workflow import Refusal

# The smallest task the register form offers (catalog.rules.TASK_SIZES; a test keeps them equal): the
# unit the Platform page counts free room in.
SMALLEST_TASK_CPU, SMALLEST_TASK_MEMORY = 256, 512


@dataclass(frozen=True)
class Resources:
    """What tasks take of a cluster: task slots (network interfaces), CPU units, memory in MiB."""

    tasks: int = 0
    cpu: int = 0
    memory: int = 0

    def __add__(self, other: "Resources") -> "Resources":
        return Resources(self.tasks + other.tasks, self.cpu + other.cpu, self.memory + other.memory)

    def __sub__(self, other: "Resources") -> "Resources":
        return Resources(self.tasks - other.tasks, self.cpu - other.cpu, self.memory - other.memory)

    def times(self, n: int) -> "Resources":
        return Resources(self.tasks * n, self.cpu * n, self.memory * n)

    def largest(self, other: "Resources") -> "Resources":
        """Each dimension's larger value."""
        return Resources(max(self.tasks, other.tasks), max(self.cpu, other.cpu), max(self.memory, other.memory))

    def within(self, other: "Resources") -> bool:
        return self.tasks <= other.tasks and self.cpu <= other.cpu and self.memory <= other.memory

    def count_of(self, task: "TaskSize") -> int:
        """How many tasks of `task`'s size fit in this much room."""
        return max(0, min(self.tasks, self.cpu // task.cpu, self.memory // task.memory))

    def exhausted_by(self, need: "Resources") -> list[str]:
        """The dimensions `need` takes more of than this holds, in words."""
        names = [("tasks", "task network interfaces"), ("cpu", "CPU"), ("memory", "memory")]
        return [words for attribute, words in names if getattr(need, attribute) > getattr(self, attribute)]


@dataclass(frozen=True)
class TaskSize:
    cpu: int  # CPU units
    memory: int  # MiB

    def tasks(self, count: int) -> Resources:
        return Resources(count, self.cpu * count, self.memory * count)

    def __str__(self) -> str:
        return f"{self.cpu / 1024:g} vCPU / {self.memory} MiB"


SMALLEST_TASK = TaskSize(SMALLEST_TASK_CPU, SMALLEST_TASK_MEMORY)


@dataclass(frozen=True)
class ClusterSettings:
    """The cluster's instance type and size, as applied (or proposed), and whether ENI trunking is on."""

    instance_type: str
    min_size: int
    max_size: int
    desired_capacity: int
    trunking: bool = False

    @property
    def type(self) -> InstanceType:
        return INSTANCE_TYPES[self.instance_type]

    @property
    def per_instance(self) -> Resources:
        kind = self.type
        return Resources(kind.task_slots(self.trunking), kind.cpu_units, kind.task_memory_mib)

    @property
    def capacity(self) -> Resources:
        """At most max_size instances: managed scaling adds instances up to it, never beyond."""
        return self.per_instance.times(self.max_size)

    def holds(self, task: TaskSize) -> bool:
        """Whether one instance can run a task of this size at all."""
        one = self.per_instance
        return one.tasks >= 1 and task.cpu <= one.cpu and task.memory <= one.memory

    def __str__(self) -> str:
        return f"up to {self.max_size} x {self.instance_type}"

    def each(self) -> str:
        """'each 10 tasks, 2 vCPU and 7526 MiB for tasks'."""
        one = self.per_instance
        return f"each {one.tasks} task{'s' if one.tasks != 1 else ''}, {one.cpu / 1024:g} vCPU and {one.memory} MiB for tasks"

    def described(self) -> str:
        """'up to 3 x m6i.large, each 10 tasks, 2 vCPU and 7526 MiB for tasks'."""
        return f"{self}, {self.each()}"

    def largest_task(self) -> str:
        one = self.per_instance
        return f"{one.cpu / 1024:g} vCPU and {one.memory} MiB"


@dataclass(frozen=True)
class ServiceTasks:
    """The tasks one service runs (or asks for): `count` tasks of `size`."""

    name: str
    size: TaskSize
    count: int

    @property
    def resources(self) -> Resources:
        return self.size.tasks(self.count)


@dataclass(frozen=True)
class Deployment:
    """A service going from `old` (None: a registration) to `new`. `rolls`: the change makes a new task
    definition, so ECS replaces the running tasks by a rolling deployment; without it (only the count
    changes) ECS starts or stops tasks and nothing else."""

    new: ServiceTasks
    old: ServiceTasks | None = None
    rolls: bool = True

    @property
    def surge(self) -> Resources:
        """Old tasks still running while the new ones start: minimumHealthyPercent 100 keeps up to
        the new count of them, maximumPercent 200 lets that many new ones start beside them."""
        if self.old is None or not self.rolls:
            return Resources()
        return self.old.size.tasks(min(self.old.count, self.new.count))

    @property
    def peak(self) -> Resources:
        return self.new.resources + self.surge


@dataclass(frozen=True)
class CapacityRefusal(Refusal):
    """A refusal of a size or count the cluster cannot place; `field` is the form field it is about."""

    field: str = "desired_count"


def fit_refusal(cluster: ClusterSettings, size: TaskSize, when: str = "") -> CapacityRefusal | None:
    """Whether one instance of the cluster can run a task of `size`; None when it can."""
    if cluster.holds(size):
        return None
    return CapacityRefusal(
        "task_too_large",
        f"A task of {size} does not fit on one {cluster.instance_type}{when} ({cluster.largest_task()} for "
        f"tasks): choose at most {cluster.largest_task()}, or ask an admin for a larger instance type.",
        field="cpu" if size.cpu > cluster.per_instance.cpu else "memory",
    )


def room_refusal(cluster: ClusterSettings, others: Resources, change: Deployment, when: str = "") -> CapacityRefusal | None:
    """Whether `change` can be placed beside the other services' tasks (`others`); None when it can.
    `when` names the cluster when it is not the one in effect ("after the pending cluster change")."""
    new = change.new
    too_large = fit_refusal(cluster, new.size, when)
    if too_large:
        return too_large
    if change.old is not None and change.peak.within(change.old.resources):
        return None  # it needs no more than the service holds now: it only frees room
    room = cluster.capacity - others
    if (change.peak).within(room):
        return None
    fits = (room - change.surge).count_of(new.size)
    if change.surge.tasks:
        replaced = change.surge.tasks
        old_size = change.old.size if change.old else new.size
        while_rolling = (
            f" while the deployment replaces the {replaced} running task{'s' if replaced != 1 else ''}"
            + (f" of {old_size}" if old_size != new.size else "")
            + " (new tasks start before old ones stop)"
        )
    else:
        while_rolling = ""
    short = " and ".join(room.exhausted_by(change.peak))
    return CapacityRefusal(
        "no_room",
        f"The cluster ({cluster.described()}){when} has room for {fits} more task{'s' if fits != 1 else ''} of "
        f"{new.size}{while_rolling}; this change needs {new.count}, and the cluster runs out of {short}. "
        "Choose fewer tasks or a smaller size, or ask an admin to grow the cluster.",
        field=refused_field(change),
    )


def refused_field(change: Deployment) -> str:
    """The field the person can change to make room: what grew, else the count."""
    old, new = change.old, change.new
    if old is None or new.count > old.count:
        return "desired_count"
    if new.size.cpu > old.size.cpu:
        return "cpu"
    if new.size.memory > old.size.memory:
        return "memory"
    return "desired_count"


@dataclass(frozen=True)
class Need:
    """What the live services need of the cluster: their tasks (`steady`), plus room for the largest
    rolling deployment of one of them, so that any one service can still roll out a new version.
    `services`: each service's tasks as applied and as a change under way asks, every size that
    must fit one instance."""

    steady: Resources = Resources()
    services: tuple[ServiceTasks, ...] = ()

    @property
    def largest_rollout(self) -> Resources:
        largest = Resources()
        for service in self.services:
            largest = largest.largest(service.resources)
        return largest

    @property
    def total(self) -> Resources:
        return self.steady + self.largest_rollout


def minimum_instances(cluster: ClusterSettings, need: Resources) -> int | None:
    """The fewest instances of the cluster's type that hold `need`; None when no number does."""
    one = cluster.per_instance
    if one.tasks < 1:
        return None
    counts = [math.ceil(getattr(need, d) / getattr(one, d)) for d in ("tasks", "cpu", "memory") if getattr(need, d)]
    return max(counts, default=0)


def shrink_refusal(wanted: ClusterSettings, need: Need) -> CapacityRefusal | None:
    """Whether the cluster may become `wanted` with the services it runs; None when it may."""
    for service in need.services:
        if service.count and not wanted.holds(service.size):
            return CapacityRefusal(
                "task_too_large",
                f"{service.name} runs tasks of {service.size}, which do not fit on one {wanted.instance_type} "
                f"({wanted.largest_task()} for tasks). Choose a larger instance type, or resize {service.name} first.",
                field="instance_type",
            )
    if need.total.within(wanted.capacity):
        return None
    fewest = minimum_instances(wanted, need.total)
    steady = need.steady
    return CapacityRefusal(
        "too_small",
        f"The services run {steady.tasks} tasks ({steady.cpu / 1024:g} vCPU, {steady.memory} MiB) and one "
        f"deployment needs room for {need.largest_rollout.tasks} more; {wanted} ({wanted.each()}) hold "
        f"{wanted.capacity.tasks} tasks, {wanted.capacity.cpu / 1024:g} vCPU and {wanted.capacity.memory} MiB. "
        + (f"With {wanted.instance_type}, choose a maximum of at least {fewest} instances" if fewest else "Choose another instance type")
        + ", or make the services smaller first.",
        field="max_size",
    )
