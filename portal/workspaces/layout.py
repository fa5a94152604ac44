"""Which workspaces exist, where they live, and what goes into them.

Paths follow the art service's folder convention `service-type/service-implementation/details`,
and each path is also its state key (see Workspace.state_key).
"""

from django.conf import settings

from portal.catalog.models import Service
from portal.workspaces.models import Workspace


def state_bucket_workspace() -> Workspace:
    workspace, _ = Workspace.objects.update_or_create(
        path=f"s3/remote-state/{settings.STATE_BUCKET}",
        defaults={
            "module": "remote-state",
            "variables": {
                "bucket_name": settings.STATE_BUCKET,
                # A TLS-only policy would lock us out of an emulator that speaks plain HTTP.
                "require_tls": not settings.AWS_ENDPOINT_URL.startswith("http://"),
            },
        },
    )
    return workspace


def sync_service_workspaces(service: Service) -> list[Workspace]:
    """Create or update the rows of the workspaces a service needs, in apply order."""
    name = service.resource_name
    wanted = [
        ("ecs/ecr-repositories/" + name, "ecr-repository", {"name": name}),
    ]
    workspaces = []
    for order, (path, module, variables) in enumerate(wanted):
        workspace, _ = Workspace.objects.update_or_create(
            path=path,
            defaults={"module": module, "variables": variables, "service": service, "apply_order": order},
        )
        workspaces.append(workspace)
    return workspaces
