"""What registering a name makes, shown while the name is typed: the service's workspaces with their
state keys, and where the load balancer will route to it.

Computed by the layout code registration uses (portal.catalog.layout) on an unsaved service, so
showing it writes nothing (and takes no id: a service's id is its listener rule priority).
"""

from portal.catalog import layout
from portal.catalog.forms import name_errors
from portal.catalog.models import Service, ServiceRevision
from portal.runs.models import Run
from portal.workspaces.models import Workspace
from portal.workspaces.paths import cluster_path

# What each of a service's workspaces holds, by module.
HOLDS = {
    "ecr-repository": "The image repository (ECR) {name}: the images the service runs. Applied first.",
    "ecs-service": "The ECS service {name}: its task definition, log group and the tasks' security group, "
    "and its target group and listener rule on the load balancer.",
}


def load_balancer_dns_name() -> str | None:
    """The platform's load balancer, as the cluster workspace was last applied; None before."""
    run = Run.objects.filter(workspace__path=cluster_path()).applied().last_finished_first().only("outputs").first()
    dns_name = run.outputs.get("alb_dns_name") if run and isinstance(run.outputs, dict) else None
    return dns_name if isinstance(dns_name, str) and dns_name else None


def route(service: Service, workspace: Workspace) -> dict:
    """Where the load balancer sends requests for the service: the ecs-service module's path
    patterns (its default, `/<name>` and `/<name>/*`, unless the inputs give others) and the URL
    its root's `url` output reports once applied."""
    inputs = layout.inputs(workspace, service, ServiceRevision())
    routed = inputs["name"]
    patterns = inputs.get("path_patterns") or [f"/{routed}", f"/{routed}/*"]
    dns_name = load_balancer_dns_name()
    return {
        "path_patterns": patterns,
        "load_balancer": dns_name,
        "url": f"http://{dns_name or '<the load balancer>'}{patterns[0].removesuffix('/*')}/",
    }


def registration_preview(name: str) -> dict:
    """For a name the form would accept: the workspaces (path, state key, module, what it holds) and
    the route. Otherwise the name field's messages, and nothing else (the name is not echoed)."""
    errors = name_errors(name)
    if errors:
        return {"name": None, "errors": errors, "workspaces": [], "route": None}
    service = Service(name=name)
    workspaces = layout.planned_workspaces(service)
    return {
        "name": name,
        "errors": [],
        "workspaces": [
            {
                "path": workspace.path,
                "state_key": workspace.state_key,
                "module": workspace.module,
                "holds": HOLDS[workspace.module].format(name=service.resource_name),
            }
            for workspace in workspaces
        ],
        "route": route(service, next(w for w in workspaces if w.module == "ecs-service")),
    }
