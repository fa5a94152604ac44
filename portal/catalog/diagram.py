"""A service's picture: listener rule -> target group -> ECS service -> tasks, with the repository
its tasks pull from and the log group they write to.

Drawn from the applied declaration and the outputs of the last applies; before the first apply,
from the declaration being proposed, and what only AWS can name (ARNs, the repository's URL)
reads "after apply" rather than a guess.
"""

from dataclasses import dataclass
from itertools import pairwise

from portal.catalog.layout import inputs
from portal.catalog.models import Service, ServiceRevision
from portal.diagrams.applied import Applied, last_applied, module_defaults
from portal.diagrams.svg import CONTAINERS, MANAGEMENT, NETWORKING, Canvas, Picture, Value

AFTER_APPLY = "after apply"
WIDTH = 860
COLUMN = 177  # four boxes and the gaps their arrows need
MOST_CARDS = 2  # cards drawn behind the tasks: enough to read as "several", whatever the count


@dataclass(frozen=True)
class Drawn:
    """What one picture of a service is drawn from."""

    service: Service
    revision: ServiceRevision
    variables: dict  # the service workspace's inputs: as applied, or as the proposal would render them
    service_outputs: dict | None  # None: never applied
    repository_outputs: dict | None


def service_picture(service: Service) -> Picture:
    """The picture for the service page; `service` comes from Service.objects.with_runs(), so this
    adds one query (the last applies of its workspaces), or two before anything was proposed."""
    if not service.is_live:
        return Picture(f"{service.get_status_display()}: nothing of it runs in AWS, so there is nothing to draw.")
    drawn = drawn_from(service)
    if drawn.service_outputs is None:
        caption = (
            f"Drawn from the proposed declaration (revision {drawn.revision.number}): nothing is applied yet, so what only AWS can name reads “{AFTER_APPLY}”."
        )
    else:
        caption = f"Drawn from the applied declaration (revision {drawn.revision.number}) and the outputs of its last apply."
    return Picture(caption, draw(drawn, label=f"Architecture of {service.name}"))


def drawn_from(service: Service) -> Drawn:
    workspaces = {workspace.module: workspace for workspace in service.workspaces.all()}
    applied = last_applied(list(workspaces.values()))
    running, repository = (applied_in(workspaces.get(module), applied) for module in ("ecs-service", "ecr-repository"))
    if service.applied_revision is not None and running is not None:
        revision, variables = service.applied_revision, running.variables
    else:
        revision = service.proposed_revision or service.base_revision()
        workspace = workspaces.get("ecs-service")
        variables = inputs(workspace, service, revision) if workspace else {}
        running = None
    return Drawn(
        service=service,
        revision=revision,
        variables=variables,
        service_outputs=running.outputs if running else None,
        repository_outputs=repository.outputs if repository else None,
    )


def applied_in(workspace, applied: dict[int, Applied]) -> Applied | None:
    return applied.get(workspace.pk) if workspace is not None else None


def draw(drawn: Drawn, label: str) -> str:
    canvas = Canvas(WIDTH)
    top = 24  # room for the cards stacked behind the tasks
    flow = [  # x, colour, the box: left to right as a request travels
        (10, NETWORKING, listener_rule(drawn)),
        (227, NETWORKING, target_group(drawn)),
        (444, CONTAINERS, ecs_service(drawn)),
        (661, CONTAINERS, tasks(drawn)),
    ]
    height = max(canvas.box_height(COLUMN, title, values) for _, _, (_, title, values) in flow)
    cards = min(max(drawn.revision.desired_count - 1, 0), MOST_CARDS)
    row = [
        canvas.box(x, top, COLUMN, kind=kind, title=title, values=values, color=color, min_h=height,
                   stacked=cards if i == len(flow) - 1 else 0)
        for i, (x, color, (kind, title, values)) in enumerate(flow)
    ]  # fmt: skip
    for left, right in pairwise(row):
        canvas.arrow([(left.right, left.cy), (right.x - 2, right.cy)])

    # What the tasks need beside the request path, one row each, so that no line crosses another:
    # the image they pull and the log group they write to.
    tasks_box, left, width = row[-1], row[0].x, 650
    repo = canvas.box(left, tasks_box.bottom + 40, width, kind="Amazon ECR", title="Repository", values=repository(drawn),
                      color=CONTAINERS)  # fmt: skip
    logs = canvas.box(left, repo.bottom + 30, width, kind="Amazon CloudWatch", title="Log group", values=log_group(drawn),
                      color=MANAGEMENT)  # fmt: skip
    pull_x, log_x = tasks_box.x + 45, tasks_box.right - 45
    canvas.arrow([(repo.right, repo.cy), (pull_x, repo.cy), (pull_x, tasks_box.bottom + 2)], "image",
                 label_at=((repo.right + pull_x) / 2, repo.cy - 8))  # fmt: skip
    canvas.arrow([(log_x, tasks_box.bottom), (log_x, logs.cy), (logs.right + 2, logs.cy)], "logs",
                 label_at=((logs.right + log_x) / 2, logs.cy - 8))  # fmt: skip
    return canvas.render(label)


def listener_rule(drawn: Drawn) -> tuple[str, str, list[Value]]:
    outputs = drawn.service_outputs or {}
    patterns = outputs.get("path_patterns") or routed_paths(drawn.service.resource_name)
    values = [Value(f"priority {drawn.variables.get('listener_rule_priority', drawn.service.listener_rule_priority)}")]
    if len(patterns) == 2 and patterns[1] == f"{patterns[0]}/*":  # said once: the name is long
        return "ELB", "Listener rule", values + [Value(patterns[0]), Value("and every path under it", note=True)]
    return "ELB", "Listener rule", values + [Value(pattern) for pattern in patterns]


def target_group(drawn: Drawn) -> tuple[str, str, list[Value]]:
    revision = drawn.revision
    arn = (drawn.service_outputs or {}).get("target_group_arn")
    name = Value(target_group_name(arn)) if arn else Value(f"name: {AFTER_APPLY}", note=True)
    values = [name, Value(f"HTTP port {revision.container_port}"), Value(f"health {revision.health_check_path}")]
    return "ELB", "Target group", values


def ecs_service(drawn: Drawn) -> tuple[str, str, list[Value]]:
    outputs, variables = drawn.service_outputs or {}, drawn.variables
    values = [Value(outputs.get("service_name") or drawn.service.resource_name), Value(f"desired count {drawn.revision.desired_count}")]
    if variables.get("enable_autoscaling"):
        defaults = module_defaults("ecs-service")
        low, high, cpu = (
            variables.get(name, defaults.get(name)) for name in ("autoscaling_min_capacity", "autoscaling_max_capacity", "autoscaling_cpu_target")
        )
        values.append(Value(f"autoscaling {low}–{high} tasks at {cpu}% CPU", note=True))
    else:
        values.append(Value("no autoscaling", note=True))
    if variables.get("use_capacity_provider"):
        values.append(Value("placed by the cluster's capacity provider", note=True))
    return "Amazon ECS", "Service", values


def tasks(drawn: Drawn) -> tuple[str, str, list[Value]]:
    revision = drawn.revision
    count = revision.desired_count
    values = [Value(f"{revision.cpu} CPU units"), Value(f"{revision.memory} MiB"), Value(f"image {revision.image_tag}")]
    if revision.secrets:
        values.append(Value(f"{len(revision.secrets)} secret{'s' if len(revision.secrets) != 1 else ''} read at start", note=True))
    return "Amazon ECS", f"{count} task{'s' if count != 1 else ''}", values


def repository(drawn: Drawn) -> list[Value]:
    url = (drawn.repository_outputs or {}).get("repository_url")
    return [Value(url)] if url else [Value(drawn.service.resource_name), Value(f"URL: {AFTER_APPLY}", note=True)]


def log_group(drawn: Drawn) -> list[Value]:
    if drawn.service_outputs is None:
        return [Value(AFTER_APPLY, note=True)]
    return [Value(drawn.service_outputs.get("log_group_name") or log_group_name(drawn.service.resource_name))]


# Two names the ecs-service module makes from the service's name, which its workspace does not
# output; tests/integration/changes/test_diagrams.py reads the module so that these cannot drift from it.
def routed_paths(name: str) -> list[str]:
    return [f"/{name}", f"/{name}/*"]


def log_group_name(name: str) -> str:
    return f"/ecs/{name}"


def target_group_name(arn: str) -> str:
    """`arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>` -> `<name>`."""
    resource = arn.rsplit(":", 1)[-1].split("/")
    return resource[1] if len(resource) >= 2 else arn
