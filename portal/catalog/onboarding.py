"""Registering a service: the one code path the form and the API both call."""

from django.db import transaction

from portal.catalog.models import Service
from portal.runs.models import Run
from portal.runs.queueing import queue_plan
from portal.workspaces.layout import sync_service_workspaces


@transaction.atomic
def register_service(user, **declaration) -> tuple[Service, list[Run]]:
    """Save a validated declaration, create its workspaces and queue a plan of each."""
    service = Service(created_by=user, **declaration)
    service.full_clean()
    service.save()
    runs = [queue_plan(workspace, user) for workspace in sync_service_workspaces(service)]
    return service, runs
