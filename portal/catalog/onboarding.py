"""Registering and changing services: the one code path the form and the API both call."""

from django.db import transaction

from portal.catalog.models import Service
from portal.runs.models import Change
from portal.runs.queueing import queue_change
from portal.workspaces.layout import sync_service_workspaces

CHANGEABLE_FIELDS = ["container_port", "cpu", "memory", "desired_count", "health_check_path", "image_tag"]


@transaction.atomic
def register_service(user, **declaration) -> tuple[Service, Change]:
    """Save a validated declaration, create its workspaces and plan them as one change."""
    service = Service(created_by=user, **declaration)
    service.full_clean()
    service.save()
    workspaces = sync_service_workspaces(service)
    return service, queue_change(f"Onboard {service.name}", workspaces, user, service=service)


@transaction.atomic
def change_service(service: Service, user, **changes) -> Change | None:
    """Apply changed fields to the declaration and plan again. None when nothing changed."""
    changed = {field: value for field, value in changes.items() if getattr(service, field) != value}
    unknown = set(changed) - set(CHANGEABLE_FIELDS)
    if unknown:
        raise ValueError(f"These fields cannot be changed: {', '.join(sorted(unknown))}")
    if not changed:
        return None
    for field, value in changed.items():
        setattr(service, field, value)
    service.full_clean()
    service.save()
    workspaces = sync_service_workspaces(service)
    summary = ", ".join(f"{field} {value}" for field, value in changed.items())
    return queue_change(f"Change {service.name}: {summary}", workspaces, user, service=service)


@transaction.atomic
def decommission_service(service: Service, user) -> Change:
    """Plan the destruction of the service's workspaces (service first, repository last)."""
    workspaces = list(service.workspaces.all())
    return queue_change(f"Decommission {service.name}", workspaces, user, service=service, destroy=True)
