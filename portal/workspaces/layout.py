"""Which platform workspaces exist, where they live, and what goes into them (a service's own
workspaces are laid out by portal.catalog.layout).

Paths follow the art service's folder convention `service-type/service-implementation/details`,
and each path is also its state key (see Workspace.state_key). Workspaces read what they need from
the platform through `terraform_remote_state` on the platform's state keys (see README).
"""

import re

from django.conf import settings

from portal.workspaces.identities import STATE_KEY_PREFIXES, default_name_patterns, policy_arn, shared_state_keys
from portal.workspaces.models import Workspace


def prefix() -> str:
    return settings.SERVICE_NAME_PREFIX


def state_bucket_path() -> str:
    return f"s3/remote-state/{settings.STATE_BUCKET}"


def network_path() -> str:
    return f"vpc/{prefix()}-network"


def cluster_path() -> str:
    return f"ecs/clusters/{prefix()}-cluster"


def iam_admins_path() -> str:
    return f"iam/service-admins/{prefix()}"


def workload_roles_path() -> str:
    return f"iam/workload-roles/{prefix()}"


def shared_state_paths() -> list[str]:
    """The platform workspaces whose outputs other workspaces read (terraform_remote_state)."""
    return [workload_roles_path(), network_path(), cluster_path()]


def remote_state_config() -> dict:
    """How a workspace reads another workspace's outputs (terraform_remote_state, S3 backend)."""
    return {
        "bucket": settings.STATE_BUCKET,
        "region": settings.AWS_REGION,
        # The emulator serves buckets by path, not by virtual host name.
        "use_path_style": settings.ON_EMULATOR,
    }


def state_bucket_workspace() -> Workspace:
    workspace, _ = Workspace.objects.update_or_create(
        path=state_bucket_path(),
        defaults={
            "module": "remote-state",
            "apply_order": 0,
            "variables": {
                "bucket_name": settings.STATE_BUCKET,
                # A TLS-only policy would lock us out of an emulator that speaks plain HTTP.
                "require_tls": not settings.AWS_ENDPOINT_URL.startswith("http://"),
            },
        },
    )
    return workspace


def declared_administrators() -> dict[str, dict]:
    """The administrators as last applied: type -> {"name_patterns": [...]}. Before the administrators
    workspace exists in this database, the configured defaults (what the bootstrap makes)."""
    workspace = Workspace.objects.filter(path=iam_admins_path()).first()
    if workspace is None:
        return default_administrators()
    variables = last_applied_variables(workspace)
    return (variables if variables is not None else workspace.variables).get("administrators") or default_administrators()


def last_applied_variables(workspace: Workspace) -> dict | None:
    """The inputs AWS was last brought to in this workspace, or None before its first apply. A plan
    with no changes settles too: AWS already matches those inputs."""
    applied = (
        # The runs' DONE_STATUSES, spelled out: workspaces sit below runs.
        workspace.runs.filter(status__in=["applied", "applied_unhealthy", "no_changes"])
        .exclude(variables={})
        .order_by("-finished_at")
        .first()
    )
    return applied.variables if applied else None


# Where the iam administrator makes the workloads' roles: the modules' default (iam-service-admins
# lets the ecs and vpc administrators pass roles under it and no others).
WORKLOAD_ROLE_PATH = "/art-service/workloads/"


def granted_service_secrets() -> dict[str, list[str]]:
    """ECS service name -> the secret ARNs its own execution role may read, as last applied to the
    workload roles workspace (each service's changes add or replace its own entry)."""
    workspace = Workspace.objects.filter(path=workload_roles_path()).first()
    variables = last_applied_variables(workspace) if workspace else None
    return dict((variables or {}).get("service_secrets") or {})


def workload_roles_variables(service_secrets: dict[str, list[str]]) -> dict:
    return {
        "name_prefix": prefix(),
        "permissions_boundary_arn": policy_arn("admin-boundary"),
        "service_secrets": {name: sorted(set(arns)) for name, arns in sorted(service_secrets.items()) if arns},
    }


def workload_roles_grant(service_name: str, arns: list[str]) -> tuple[Workspace, dict] | None:
    """The plan of the workload roles workspace that grants `service_name`'s own execution role
    exactly `arns` (none: the role goes), or None when that is already the grant."""
    granted = granted_service_secrets()
    if sorted(set(arns)) == sorted(set(granted.get(service_name, []))):
        return None
    workspace = Workspace.objects.filter(path=workload_roles_path()).first()
    if workspace is None:  # no platform yet: the service's own plan says what to do
        return None
    return workspace, workload_roles_variables({**granted, service_name: arns})


def default_administrators() -> dict[str, dict]:
    return {t: {"name_patterns": default_name_patterns()} for t in sorted(settings.IAM_ADMIN_SERVICE_TYPES)}


def runner_principal_arns() -> list[str]:
    """Who may assume the roles: configured, or else the identity the portal runs as."""
    if settings.RUNNER_PRINCIPAL_ARNS:
        return list(settings.RUNNER_PRINCIPAL_ARNS)
    from portal.aws import client

    arn = client("sts").get_caller_identity()["Arn"]
    # A role session (an instance's or a task's role) is trusted through its role.
    session = re.fullmatch(r"arn:([a-z-]+):sts::(\d{12}):assumed-role/([^/]+)/.+", arn)
    return [f"arn:{session[1]}:iam::{session[2]}:role/{session[3]}"] if session else [arn]


def administrators_variables(administrators: dict[str, dict]) -> dict:
    """The inputs of the administrators workspace for these declared administrators."""
    return {
        "name_prefix": prefix(),
        "administrators": {t: {"name_patterns": list(a["name_patterns"])} for t, a in sorted(administrators.items())},
        "state_bucket_name": settings.STATE_BUCKET,
        "state_key_prefixes": {t: STATE_KEY_PREFIXES[t] for t in sorted(administrators)},
        "shared_state_keys": list(shared_state_keys()),
        "runner_principal_arns": runner_principal_arns(),
        # moto sees "*" as the resource of most calls; see infra_modules/iam-service-admins.
        "emulator_wildcard_resources": settings.ON_EMULATOR,
        # moto neither keeps a user's boundary nor implements PutUserPermissionsBoundary.
        "user_permissions_boundary": not settings.ON_EMULATOR,
    }


def administrators_workspace() -> Workspace:
    """The administrators' workspace, with the declared administrators and today's settings."""
    variables = administrators_variables(declared_administrators())
    workspace, _ = Workspace.objects.update_or_create(
        path=iam_admins_path(), defaults={"module": "iam-service-admins", "variables": variables, "apply_order": 1}
    )
    return workspace


# The cluster's instance type and size: platform settings an admin changes through a planned, approved
# change of the cluster workspace (portal.capacity). What is in effect is what that workspace last
# applied; before its first apply, the configured defaults (PORTAL_CLUSTER_*).
CLUSTER_SIZING = ("instance_type", "min_size", "max_size", "desired_capacity")
# What a cluster applied before these were inputs of the workspace runs: the ecs-cluster module's
# defaults of the time, without ENI trunking.
CLUSTER_SIZING_BEFORE_INPUTS = {"instance_type": "t3.small", "min_size": 1, "max_size": 3, "desired_capacity": 1, "awsvpc_trunking": False}


def default_cluster_sizing() -> dict:
    return {name: settings.CLUSTER_DEFAULTS[name] for name in CLUSTER_SIZING}


def applied_cluster_inputs() -> dict:
    """The cluster's sizing and ENI trunking as last applied (CLUSTER_SIZING and `awsvpc_trunking`), or
    the configured defaults before the cluster workspace's first apply."""
    workspace = Workspace.objects.filter(path=cluster_path()).first()
    applied = last_applied_variables(workspace) if workspace else None
    if applied is None:
        return {**default_cluster_sizing(), "awsvpc_trunking": settings.CLUSTER_AWSVPC_TRUNKING}
    return {name: applied.get(name, before) for name, before in CLUSTER_SIZING_BEFORE_INPUTS.items()}


def declared_cluster_sizing() -> dict:
    """The sizing the next plan of the cluster keeps: what is applied."""
    applied = applied_cluster_inputs()
    return {name: applied[name] for name in CLUSTER_SIZING}


def cluster_variables(sizing: dict) -> dict:
    """The cluster workspace's inputs with this sizing; ENI trunking follows the setting (an
    account-wide choice, see the README)."""
    return {
        "name": prefix(),
        "state": remote_state_config(),
        "network_state_key": f"{network_path()}/terraform.tfstate",
        "roles_state_key": f"{workload_roles_path()}/terraform.tfstate",
        "deletion_protection": settings.PLATFORM_DELETION_PROTECTION,
        "instance_refresh_min_healthy_percentage": settings.PLATFORM_INSTANCE_REFRESH_MIN_HEALTHY_PERCENT,
        **{name: sizing[name] for name in CLUSTER_SIZING},
        "awsvpc_trunking": settings.CLUSTER_AWSVPC_TRUNKING,
    }


def sync_platform_workspaces() -> list[Workspace]:
    """The shared platform after the state bucket, in apply order: the administrators (made by the
    bootstrap, then run by the iam administrator), the workloads' roles, network, cluster."""
    state = remote_state_config()
    wanted = [
        (
            workload_roles_path(),
            "workload-roles",
            workload_roles_variables(granted_service_secrets()),
        ),
        (
            network_path(),
            "network",
            {
                "name": prefix(),
                "nat_mode": settings.PLATFORM_NAT_MODE,
                "state": state,
                "roles_state_key": f"{workload_roles_path()}/terraform.tfstate",
            },
        ),
        (cluster_path(), "ecs-cluster", cluster_variables(declared_cluster_sizing())),
    ]
    return [administrators_workspace()] + [
        Workspace.objects.update_or_create(
            path=path, defaults={"module": module, "variables": variables, "apply_order": order}
        )[0]
        for order, (path, module, variables) in enumerate(wanted, start=2)
    ]

