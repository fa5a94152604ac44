"""Which platform workspaces exist, where they live, and what goes into them (a service's own
workspaces are laid out by portal.catalog.layout).

Paths follow the art service's folder convention `service-type/service-implementation/details`,
and each path is also its state key (see Workspace.state_key). Workspaces read what they need from
the platform through `terraform_remote_state` on the platform's state keys (see README).
"""

from django.conf import settings

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


def sync_platform_workspaces() -> list[Workspace]:
    """The shared platform after the state bucket, in apply order: network, cluster, IAM admins."""
    state = remote_state_config()
    wanted = [
        (network_path(), "network", {"name": prefix(), "nat_mode": settings.PLATFORM_NAT_MODE}),
        (
            cluster_path(),
            "ecs-cluster",
            {
                "name": prefix(),
                "state": state,
                "network_state_key": f"{network_path()}/terraform.tfstate",
                "deletion_protection": settings.PLATFORM_DELETION_PROTECTION,
            },
        ),
        (
            iam_admins_path(),
            "iam-service-admins",
            {
                "name_prefix": prefix(),
                "service_types": sorted(settings.IAM_ADMIN_SERVICE_TYPES),
                "state_bucket_arn": f"arn:aws:s3:::{settings.STATE_BUCKET}",
            },
        ),
    ]
    return [
        Workspace.objects.update_or_create(
            path=path, defaults={"module": module, "variables": variables, "apply_order": order}
        )[0]
        for order, (path, module, variables) in enumerate(wanted, start=1)
    ]
