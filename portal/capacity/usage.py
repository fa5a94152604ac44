"""What the services use of the cluster, and the one check a registration or a change of a service
asks before anything is planned (the page and the API reach it through portal.catalog.onboarding).

The services' tasks are read from the runs of their ecs-service workspaces: what the last finished
apply brought AWS to, and what a change under way asks for; each service counts the larger of the
two (a pending change may still apply, or be discarded). The cluster is the one the cluster
workspace last applied, and, while a change of it is under way, that one too: a service must fit both.
"""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import CharField, Func
from django.db.models.fields.json import KeyTextTransform, KeyTransform

from portal.capacity.model import (
    SMALLEST_TASK,
    CapacityRefusal,
    ClusterSettings,
    Deployment,
    Need,
    Resources,
    ServiceTasks,
    TaskSize,
    fit_refusal,
    room_refusal,
)
from portal.runs.models import Run
from portal.workspaces.layout import CLUSTER_SIZING, applied_cluster_inputs
from portal.workspaces.models import Workspace
from portal.workspaces.paths import cluster_path

SERVICE_MODULE = "ecs-service"
# Inputs of the ecs-service module that make a new task definition, which ECS rolls out by starting new
# tasks beside the old ones. A change of only the count starts or stops tasks; a health check path
# changes only the target group.
ROLLING_INPUTS = ("cpu", "memory", "image_tag", "container_port", "secrets")
# Capacity checks take turns (a transaction-scoped PostgreSQL advisory lock), so that two proposals
# at once cannot both take the last room.
LOCK_KEY = 0x43415041  # "CAPA"


def take_turns() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


# --- the cluster -----------------------------------------------------------------------------------
def cluster_from(inputs: dict) -> ClusterSettings:
    return ClusterSettings(
        instance_type=inputs["instance_type"],
        min_size=int(inputs["min_size"]),
        max_size=int(inputs["max_size"]),
        desired_capacity=int(inputs["desired_capacity"]),
        trunking=bool(inputs.get("awsvpc_trunking", False)),
    )


def cluster_in_effect() -> ClusterSettings:
    return cluster_from(applied_cluster_inputs())


def pending_cluster_run() -> Run | None:
    """The change of the cluster workspace under way (planned, waiting or applying), if any."""
    return Run.objects.active().filter(workspace__path=cluster_path(), kind=Run.Kind.APPLY).select_related("requested_by").first()


def pending_cluster() -> ClusterSettings | None:
    return cluster_proposed_by(pending_cluster_run())


def cluster_proposed_by(run: Run | None) -> ClusterSettings | None:
    """The cluster `run`, a change of the cluster workspace under way, would make."""
    if run is None or not all(name in run.variables for name in CLUSTER_SIZING):
        return None
    return cluster_from(run.variables)


def clusters_to_fit() -> list[tuple[ClusterSettings, str]]:
    """The cluster in effect and, while a change of it is under way, the proposed one, each with how
    a message names it."""
    clusters = [(cluster_in_effect(), "")]
    pending = pending_cluster()
    if pending is not None and pending != clusters[0][0]:
        clusters.append((pending, " after the cluster change under way"))
    return clusters


@dataclass
class Placement:
    """The task sizes one instance of the cluster can run (in effect, and as a change under way would
    make it): what the register and change forms offer, and their message for any other."""

    clusters: list[tuple[ClusterSettings, str]]

    def refusal(self, cpu: int, memory: int) -> CapacityRefusal | None:
        for cluster, when in self.clusters:
            refusal = fit_refusal(cluster, TaskSize(cpu, memory), when)
            if refusal:
                return refusal
        return None

    def offered(self, sizes: dict[int, tuple[int, ...]]) -> dict[int, tuple[int, ...]]:
        kept = {cpu: tuple(m for m in memories if self.refusal(cpu, m) is None) for cpu, memories in sizes.items()}
        return {cpu: memories for cpu, memories in kept.items() if memories}

    def limit(self) -> str:
        """'one m6i.large holds at most 2 vCPU and 7526 MiB for tasks'."""
        return " and ".join(f"one {cluster.instance_type}{when} holds at most {cluster.largest_task()} for tasks" for cluster, when in self.clusters)


def placement() -> Placement:
    return Placement(clusters_to_fit())


# --- the services ----------------------------------------------------------------------------------
@dataclass
class ServiceUse:
    """One service's tasks: as last applied, and as a change under way asks (None: none)."""

    path: str
    applied: ServiceTasks | None = None
    pending: ServiceTasks | None = None

    @property
    def asked(self) -> list[ServiceTasks]:
        return [tasks for tasks in (self.applied, self.pending) if tasks is not None]

    @property
    def resources(self) -> Resources:
        total = Resources()
        for tasks in self.asked:
            total = total.largest(tasks.resources)
        return total


FIELDS = ("workspace__path", "workspace__service__name", "kind")


class JSONTypeOf(Func):
    """PostgreSQL's jsonb_typeof: "number", "string", "boolean", "null", "array" or "object"."""

    function = "jsonb_typeof"
    output_field = CharField()


# The three inputs as JSON's text (`->>`) and their JSON types: a thousand services' rows are read on
# every view of the Platform page, and parsing each input's JSON in Python took 6 of its panel's 40 ms.
TASK_INPUTS = ("cpu", "memory", "desired_count")
READ_INPUTS = {
    **{name: KeyTextTransform(name, "variables") for name in TASK_INPUTS},
    **{f"{name}_type": JSONTypeOf(KeyTransform(name, "variables")) for name in TASK_INPUTS},
}
WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def whole_number(row: dict, name: str) -> int | None:
    """An input as read: a JSON whole number, or None for anything else (true, "512", 0.5, none)."""
    text = row[name]
    return int(text) if row[f"{name}_type"] == "number" and WHOLE_NUMBER.fullmatch(text) else None


def tasks_of(row: dict) -> ServiceTasks | None:
    """A run's tasks; a destroy leaves none, and so do inputs that are no whole numbers."""
    if row["kind"] != Run.Kind.APPLY:
        return None
    cpu, memory, count = (whole_number(row, name) for name in TASK_INPUTS)
    if cpu is None or memory is None or count is None:
        return None
    return ServiceTasks(row["workspace__service__name"] or row["workspace__path"].rsplit("/", 1)[-1], TaskSize(cpu, memory), count)


def service_workspaces(exclude_path: str | None = None):
    workspaces = Workspace.objects.filter(module=SERVICE_MODULE)
    return workspaces.exclude(path=exclude_path) if exclude_path else workspaces


def service_uses(exclude_path: str | None = None) -> dict[str, ServiceUse]:
    """Every service workspace's use, each with its service's name, in two queries however many
    services there are: what names a service whose tasks a smaller cluster cannot hold."""
    workspaces = service_workspaces(exclude_path)
    services = Run.objects.filter(workspace__in=workspaces)
    uses: dict[str, ServiceUse] = {}
    # A destroy included: its use is none (tasks_of), and the workspace is listed all the same.
    last_done = Run.objects.last_settled_per_workspace(workspaces).values(*FIELDS, **READ_INPUTS)
    for row in last_done:
        uses.setdefault(row["workspace__path"], ServiceUse(row["workspace__path"])).applied = tasks_of(row)
    for row in services.active().values(*FIELDS, **READ_INPUTS):
        uses.setdefault(row["workspace__path"], ServiceUse(row["workspace__path"])).pending = tasks_of(row)
    return uses


@dataclass(frozen=True)
class Totals:
    """What the services ask of the cluster, added up: `steady`, each service's ServiceUse.resources
    summed; `largest`, the largest of them in each dimension (Need.largest_rollout); `services`, how many
    ask for anything."""

    steady: Resources = Resources()
    largest: Resources = Resources()
    services: int = 0


# service_uses()'s arithmetic (tasks_of, ServiceUse.resources) in SQL over the same runs, so that a
# thousand services are one row to read rather than two thousand: the Platform page's panel took 24 of
# its 52 ms reading and adding them up in Python. A run's input counts when it is a JSON whole number,
# as whole_number() reads it; `numeric`, not `bigint`, so that no number a run holds makes it fail.
# `OFFSET 0` keeps PostgreSQL from moving the outer `IS NOT NULL` tests into the scan, where it
# evaluated each CASE twice (5.7 ms against 9.7 ms for 1,000 services).
TOTALS_SQL = """
SELECT count(*), sum(tasks), sum(cpu), sum(memory), max(tasks), max(cpu), max(memory)
FROM (
    SELECT workspace_id, max(n) AS tasks, max(c * n) AS cpu, max(m * n) AS memory
    FROM (
        SELECT workspace_id,
            CASE WHEN cpu_type = 'number' AND cpu ~ '^-?[0-9]+$' THEN cpu::numeric END AS c,
            CASE WHEN memory_type = 'number' AND memory ~ '^-?[0-9]+$' THEN memory::numeric END AS m,
            CASE WHEN desired_count_type = 'number' AND desired_count ~ '^-?[0-9]+$' THEN desired_count::numeric END AS n
        FROM ({runs}) AS asked
        WHERE kind = %s
        OFFSET 0
    ) AS sized
    WHERE c IS NOT NULL AND m IS NOT NULL AND n IS NOT NULL
    GROUP BY workspace_id
) AS per_service
"""


def totals(exclude_path: str | None = None) -> Totals:
    """The services' use added up, in one query however many services there are: each service workspace's
    last settled run (a destroy asks nothing) and its runs under way, as service_uses() reads them."""
    workspaces = service_workspaces(exclude_path)
    last_done = Run.objects.last_settled_per_workspace(workspaces).order_by().values("workspace_id", "kind", **READ_INPUTS)
    under_way = Run.objects.filter(workspace__in=workspaces).active().order_by().values("workspace_id", "kind", **READ_INPUTS)
    runs = last_done.union(under_way, all=True)
    runs_sql, params = runs.query.get_compiler(using=runs.db).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(TOTALS_SQL.format(runs=runs_sql), (*params, Run.Kind.APPLY))
        services, *sums = cursor.fetchone()
    tasks, cpu, memory, most_tasks, most_cpu, most_memory = (int(value or 0) for value in sums)
    return Totals(Resources(tasks, cpu, memory), Resources(most_tasks, most_cpu, most_memory), services)


def need() -> Need:
    """What the services need of the cluster, with each service's tasks by name: shrink_refusal names a
    service whose tasks a smaller instance cannot hold."""
    uses = service_uses()
    return Need(totals().steady, tuple(tasks for use in uses.values() for tasks in use.asked))


# --- the check before planning ---------------------------------------------------------------------
def last_applied_service(workspace: Workspace) -> dict | None:
    """The inputs the service's workspace last brought AWS to, None when it runs nothing (never applied,
    or destroyed)."""
    run = Run.objects.last_applied(workspace)
    return run.variables if run else None


def deployment(workspace: Workspace, variables: dict) -> Deployment:
    name = workspace.service.name if workspace.service_id else workspace.path.rsplit("/", 1)[-1]
    new = ServiceTasks(name, TaskSize(variables["cpu"], variables["memory"]), variables["desired_count"])
    applied = last_applied_service(workspace)
    if applied is None:
        return Deployment(new)
    old = ServiceTasks(name, TaskSize(applied["cpu"], applied["memory"]), applied["desired_count"])
    rolls = any(applied.get(key) != variables.get(key) for key in ROLLING_INPUTS)
    return Deployment(new, old, rolls)


def service_refusal(workspace: Workspace, variables: dict) -> CapacityRefusal | None:
    """Whether the service workspace may be planned with these inputs: its tasks fit one instance, and
    beside every other service's, the cluster. Call inside the transaction that proposes the plan."""
    take_turns()
    change = deployment(workspace, variables)
    others = totals(exclude_path=workspace.path).steady
    for cluster, when in clusters_to_fit():
        refusal = room_refusal(cluster, others, change, when)
        if refusal:
            return refusal
    return None


def ensure_room(plans) -> None:
    """Refuses (ValidationError on the field to change, nothing planned) a plan of a service the
    cluster cannot place. `plans` are the (workspace, inputs) a change would plan."""
    for workspace, variables in plans:
        if workspace.module != SERVICE_MODULE:
            continue
        refusal = service_refusal(workspace, variables)
        if refusal:
            raise ValidationError({refusal.field: ValidationError(refusal.message, code=refusal.code)})


# --- the Platform page -----------------------------------------------------------------------------
@dataclass
class Room:
    """The cluster's capacity, what the services use and what is free, for the Platform page."""

    cluster: ClusterSettings
    pending: ClusterSettings | None
    pending_run: Run | None
    used: Resources
    kept: Resources  # room kept for the largest service's rolling deployment
    services: int

    @property
    def capacity(self) -> Resources:
        return self.cluster.capacity

    @property
    def free(self) -> Resources:
        return self.capacity - self.used

    @property
    def smallest_task(self) -> TaskSize:
        return SMALLEST_TASK

    @property
    def free_smallest_tasks(self) -> int:
        return self.free.count_of(SMALLEST_TASK)

    @property
    def free_services_of_one_task(self) -> int:
        """More services of one smallest task, keeping room for one rolling deployment (the largest
        of the services', or of one such task)."""
        kept = self.kept.largest(SMALLEST_TASK.tasks(1))
        return (self.free - kept).count_of(SMALLEST_TASK)

    def rows(self) -> list[dict]:
        """Per dimension: capacity, used, free, in the units people read."""
        cap, used, free = self.capacity, self.used, self.free
        return [
            {"name": "Task network interfaces", "capacity": cap.tasks, "used": used.tasks, "free": free.tasks, "unit": "tasks"},
            {"name": "CPU", "capacity": f"{cap.cpu / 1024:g}", "used": f"{used.cpu / 1024:g}", "free": f"{free.cpu / 1024:g}", "unit": "vCPU"},
            {"name": "Memory", "capacity": gib(cap.memory), "used": gib(used.memory), "free": gib(free.memory), "unit": "GiB"},
        ]


def gib(mib: int) -> str:
    return f"{mib / 1024:.1f}"


def room(applied_inputs: dict | None = None) -> Room:
    """`applied_inputs`: the cluster's applied_cluster_inputs(), when the caller read them already."""
    counted = totals()
    pending_run = pending_cluster_run()
    return Room(
        cluster=cluster_from(applied_inputs or applied_cluster_inputs()),
        pending=cluster_proposed_by(pending_run),
        pending_run=pending_run,
        used=counted.steady,
        kept=counted.largest,
        services=counted.services,
    )
