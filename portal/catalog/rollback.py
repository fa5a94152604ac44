"""Going back to the last healthy declaration after a deploy that applied unhealthy.

A service workspace's run that applied but did not report a healthy deployment ends
RunStatus.APPLIED_UNHEALTHY (portal.runner.deploy_health); its declaration is the applied one all the
same. The change's and the run's pages then offer an ordinary change back to the last revision whose
service run ended applied and healthy: proposed, planned and approved like any other.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from portal.access.decorators import permission_required
from portal.catalog.lookup import service_named
from portal.catalog.models import Lifecycle, Service, ServiceRevision
from portal.catalog.onboarding import change_service
from portal.changes.workflow import Refused
from portal.runs.models import Change, RunStatus

SERVICE_MODULE = "ecs-service"


def last_healthy_revision(service: Service) -> ServiceRevision | None:
    """The latest revision whose service workspace's run ended applied (and healthy)."""
    return service.revisions.filter(changes__runs__workspace__module=SERVICE_MODULE, changes__runs__status=RunStatus.APPLIED).order_by("-number").first()


@dataclass
class Offer:
    service: Service
    revision: ServiceRevision
    refusal: object = None  # why the viewer may not propose it (portal.access.permissions.change_service)


def offer_for(change: Change | None) -> Offer | None:
    """Going back is offered on a change whose service run applied unhealthy while its revision is
    still the applied one, and an earlier revision was healthy."""
    if change is None or change.service_id is None or change.revision_id is None:
        return None
    if not change.runs.filter(workspace__module=SERVICE_MODULE, status=RunStatus.APPLIED_UNHEALTHY).exists():
        return None
    service = change.service
    if service.status != Lifecycle.ACTIVE or service.applied_revision_id != change.revision_id:
        return None
    healthy = last_healthy_revision(service)
    if healthy is None or healthy.pk == change.revision_id:
        return None
    return Offer(service, healthy)


@require_POST
@permission_required("catalog.change_service")
def propose_rollback(request, name):
    """Propose the last healthy revision's declaration as a new change."""
    service = service_named(name)
    healthy = last_healthy_revision(service)
    if healthy is None or request.POST.get("revision") != str(healthy.number):
        messages.error(request, "That is not the last healthy revision of the service any more; nothing was proposed.")
        return redirect("catalog:service-detail", name=service.name)
    try:
        change = change_service(service, request.user, rollback_to=healthy, **healthy.declaration())
    except Refused as exc:
        messages.error(request, exc.refusal.message)
        return redirect("catalog:service-detail", name=service.name)
    except ValidationError as exc:  # the cluster has no room for the deployment back (portal.capacity)
        messages.error(request, " ".join(exc.messages))
        return redirect("catalog:service-detail", name=service.name)
    if change is None:
        messages.info(request, f"Revision {healthy.number}'s declaration is applied or proposed already; nothing was queued.")
        return redirect("catalog:service-detail", name=service.name)
    messages.success(request, f"Going back to revision {healthy.number} is proposed; its plans are queued for approval.")
    return redirect("changes:detail", change_id=change.pk)
