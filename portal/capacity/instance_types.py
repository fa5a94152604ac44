"""The instance types the cluster may run (instance_types.csv beside this file, with its sources), and
what one instance of each gives ECS tasks.

Plain Python, no Django: the settings read it to refuse a default instance type that is not here.
"""

import csv
import math
from dataclasses import dataclass
from pathlib import Path

TABLE = Path(__file__).with_name("instance_types.csv")

# ECS registers 1024 CPU units per vCPU ("Task size", ECS developer guide) and places tasks against them.
CPU_UNITS_PER_VCPU = 1024

# Memory. The ECS agent registers what the operating system reports, less ECS_RESERVED_MEMORY
# ("Reserving Amazon ECS Linux container instance memory", ECS developer guide): AWS's own example, an
# m4.large's 8192 MiB, registers 7985 MiB, 2.5% less. The portal counts twice that share as the
# kernel's, so that smaller types, where the kernel takes a larger share, are not over-counted, and the
# ecs-cluster module reserves RESERVED_MEMORY_MIB for the agent and the system (ECS_RESERVED_MEMORY, its
# `reserved_memory_mib`, whose default a test keeps equal to this). What tasks may have is never more
# than what the instance registers, as long as the kernel takes at most 5%.
KERNEL_SHARE = 0.05
RESERVED_MEMORY_MIB = 256


@dataclass(frozen=True)
class InstanceType:
    name: str
    architecture: str
    vcpus: int
    memory_mib: int
    max_enis: int
    tasks_without_trunking: int
    tasks_with_trunking: int | None  # None: ENI trunking does not raise its limit

    @property
    def cpu_units(self) -> int:
        return self.vcpus * CPU_UNITS_PER_VCPU

    @property
    def task_memory_mib(self) -> int:
        """The memory ECS may give tasks on one instance, by the rule above."""
        return math.floor(self.memory_mib * (1 - KERNEL_SHARE)) - RESERVED_MEMORY_MIB

    def task_slots(self, trunking: bool) -> int:
        """awsvpc tasks one instance holds: each takes a network interface (a branch of the trunk
        interface with trunking)."""
        if trunking and self.tasks_with_trunking:
            return self.tasks_with_trunking
        return self.tasks_without_trunking

    @property
    def supports_trunking(self) -> bool:
        return self.tasks_with_trunking is not None

    def __str__(self) -> str:
        return self.name

    def summary(self, trunking: bool) -> str:
        """'m6i.large: 2 vCPU, 8 GiB, 10 tasks per instance'."""
        slots = self.task_slots(trunking)
        note = ""
        if trunking and not self.supports_trunking:
            note = ", no trunking"
        return f"{self.name}: {self.vcpus} vCPU, {self.memory_mib / 1024:g} GiB, {slots} task{'s' if slots != 1 else ''} per instance{note}"


def load(path: Path = TABLE) -> dict[str, InstanceType]:
    with path.open(newline="") as lines:
        rows = csv.DictReader(line for line in lines if line.strip() and not line.startswith("#"))
        types = {}
        for row in rows:
            types[row["instance_type"]] = InstanceType(
                name=row["instance_type"],
                architecture=row["architecture"],
                vcpus=int(row["vcpus"]),
                memory_mib=int(row["memory_mib"]),
                max_enis=int(row["max_enis"]),
                tasks_without_trunking=int(row["tasks_without_trunking"]),
                tasks_with_trunking=int(row["tasks_with_trunking"]) if row["tasks_with_trunking"] else None,
            )
    return types


INSTANCE_TYPES: dict[str, InstanceType] = load()


def named(name: str) -> InstanceType | None:
    return INSTANCE_TYPES.get(name)
