"""A service's workspaces and what goes into them, from one revision of its declaration.

Paths follow the art service's folder convention (`ecs/services/<prefix>-<name>`), and each path is
also its state key. The inputs are computed from the revision being planned, never from the newest
edit, so a plan shows exactly the revision it was made for.
"""

from django.conf import settings

from portal.catalog.models import Lifecycle, Service, ServiceRevision
from portal.runs.models import Run
from portal.workspaces.layout import (
    WORKLOAD_ROLE_PATH,
    remote_state_config,
    workload_roles_grant,
)
from portal.workspaces.models import Workspace
from portal.workspaces.paths import (
    cluster_path,
    network_path,
    state_key,
    workload_roles_path,
)


def repository_path(service: Service) -> str:
    return f"ecs/ecr-repositories/{service.resource_name}"


def service_path(service: Service) -> str:
    return f"ecs/services/{service.resource_name}"


def service_workspaces(service: Service) -> list[Workspace]:
    """The service's workspaces in apply order (repository, then service), made when missing. They
    apply after the platform's (orders 0-4): a change that grants the service its secrets applies
    the workload roles workspace first.

    A name registered again after a decommission takes over the same paths, and so the same state
    keys: their state was emptied by the destroy."""
    return [
        Workspace.objects.update_or_create(
            path=workspace.path,
            defaults={"module": workspace.module, "service": service, "apply_order": workspace.apply_order, "variables": {}},
        )[0]
        for workspace in planned_workspaces(service)
    ]


def planned_workspaces(service: Service) -> list[Workspace]:
    """The service's workspaces in apply order, unsaved: what registering makes (and what the
    register form's preview shows)."""
    wanted = [(repository_path(service), "ecr-repository"), (service_path(service), "ecs-service")]
    return [Workspace(path=path, module=module, apply_order=order) for order, (path, module) in enumerate(wanted, start=10)]


def inputs(workspace: Workspace, service: Service, revision: ServiceRevision | None) -> dict:
    """The module inputs of one of the service's workspaces for `revision` (None: a destroy, which
    needs only what names the resources)."""
    name = service.resource_name
    if workspace.module == "ecr-repository":
        # A decommission deletes the images with the repository; the page says so before it is asked.
        return {"name": name, "force_delete": True}
    if revision is None:
        revision = service.base_revision()
    return {
        "name": name,
        "repository_name": name,
        "image_tag": revision.image_tag,
        "container_port": revision.container_port,
        "cpu": revision.cpu,
        "memory": revision.memory,
        "desired_count": revision.desired_count,
        "health_check_path": revision.health_check_path,
        "secrets": revision.secrets,
        "keep_load_balancer_egress_rule": moves_into_service_tasks_group(workspace),
        "workload_role_path": WORKLOAD_ROLE_PATH,
        "listener_rule_priority": service.listener_rule_priority,
        "enable_autoscaling": settings.SERVICE_AUTOSCALING,
        "use_capacity_provider": settings.SERVICE_CAPACITY_PROVIDER,
        "health_check_grace_period_seconds": settings.SERVICE_HEALTH_CHECK_GRACE_SECONDS,
        "state": remote_state_config(),
        "network_state_key": state_key(network_path()),
        "cluster_state_key": state_key(cluster_path()),
        "roles_state_key": state_key(workload_roles_path()),
    }


def moves_into_service_tasks_group(workspace: Workspace) -> bool:
    """Whether this apply moves an existing service's tasks into the platform's shared service tasks
    group: its last apply was made before that group existed (its inputs lack the input that says so).
    That apply keeps the service's own egress rule on the load balancer's group, through which alone
    its running tasks are reachable until ECS has replaced them; the apply after it removes the rule.
    A new service, or one whose last apply destroyed it, never had the rule."""
    last = workspace.runs.last_applied() if workspace.pk else None
    return last is not None and "keep_load_balancer_egress_rule" not in last.variables


def plans_for(service: Service, revision: ServiceRevision | None) -> list[tuple]:
    """The service's two workspaces; and, when the revision's secrets are not what its execution
    role is granted, the workload roles workspace (iam, a platform workspace: an admin approves).

    Without a revision (a decommission) the service's workspaces are destroyed and, in the same
    change, the workload roles are applied without the service's execution role and its grants:
    a grant never outlives its service (a later service of the same name asks for it again)."""
    plans: list[tuple] = [(workspace, inputs(workspace, service, revision)) for workspace in service_workspaces(service)]
    grant = workload_roles_grant(service.resource_name, sorted(set(revision.secrets.values())) if revision else [])
    if grant is not None and revision is not None:
        plans.insert(0, grant)
    elif grant is not None:
        plans.append((*grant, Run.Kind.APPLY))
    return plans


def secrets_newly_granted(service: Service, revision: ServiceRevision) -> str:
    """Why a platform admin must approve the revision, whatever the plans show: it gives the
    service's tasks secrets its applied declaration did not (a new service: any). Empty when not.
    Not the plan of the grant: that finds nothing to do where a grant is in place already."""
    applied = service.applied_revision if service.status == Lifecycle.ACTIVE else None
    new = set(revision.secrets.values()) - set(applied.secrets.values() if applied else ())
    if not new:
        return ""
    return f"This change lets {service.name}'s tasks read {len(new)} secret{'s' if len(new) != 1 else ''} they could not before"
