"""Where workspaces live: their paths, state keys and service types, from the settings alone.

Pure functions of a path or a setting: nothing here reads the database or asks AWS, so any module
(the models included) may import them without an import circle. Paths follow the art service's
folder convention `service-type/service-implementation/details`, and each path is also its state key's
folder (see state_key).
"""

from django.conf import settings

STATE_FILE = "terraform.tfstate"


def state_key(path: str) -> str:
    """The state object of the workspace at `path`: derived from the path, never stored or typed twice."""
    return f"{path}/{STATE_FILE}"


def prefix() -> str:
    return settings.SERVICE_NAME_PREFIX


def state_bucket_path() -> str:
    return f"s3/remote-state/{settings.STATE_BUCKET}"


def network_path() -> str:
    return f"vpc/{prefix()}-network"


def cluster_path() -> str:
    return f"ecs/clusters/{prefix()}-cluster"


def access_logs_path() -> str:
    return f"s3/access-logs/{prefix()}"


def iam_admins_path() -> str:
    return f"iam/service-admins/{prefix()}"


def workload_roles_path() -> str:
    return f"iam/workload-roles/{prefix()}"


def shared_state_paths() -> list[str]:
    """The platform workspaces whose outputs other workspaces read (terraform_remote_state)."""
    return [workload_roles_path(), network_path(), cluster_path()]


def shared_state_keys() -> tuple[str, ...]:
    """The platform keys every workspace may read through terraform_remote_state."""
    return tuple(state_key(path) for path in shared_state_paths())


TYPES: dict[str, str] = {
    "ecs": "ECS clusters and services, with their load balancer, autoscaling group, launch template and log groups",
    "ecr": "ECR repositories",
    "s3": "S3 buckets (the state bucket's workspace)",
    "vpc": "The network: VPC, subnets, routes, gateways, security groups, flow logs",
    "iam": "IAM: the administrators themselves and the roles workloads use",
    "logs": "CloudWatch log groups (for people; no workspace runs with it)",
    "elb": "Load balancers (for people; no workspace runs with it)",
    "autoscaling": "Autoscaling groups and scaling policies (for people; no workspace runs with it)",
}

# Paths whose type is not their first segment, longest first.
PATH_EXCEPTIONS = [("ecs/ecr-repositories/", "ecr")]

# The folders whose state each type's state role may write.
STATE_KEY_PREFIXES: dict[str, list[str]] = {
    "ecs": ["ecs/clusters/", "ecs/services/"],
    "ecr": ["ecs/ecr-repositories/"],
    "s3": ["s3/"],
    "vpc": ["vpc/"],
    "iam": ["iam/"],
    "logs": ["logs/"],
    "elb": ["elb/"],
    "autoscaling": ["autoscaling/"],
}


def type_of(path: str) -> str | None:
    """The service type a workspace path belongs to; None when the path names no known type."""
    for prefix, service_type in PATH_EXCEPTIONS:
        if path.startswith(prefix):
            return service_type
    first = path.split("/", 1)[0]
    return first if first in TYPES else None
