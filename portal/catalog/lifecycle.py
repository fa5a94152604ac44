"""What a settled change means for its service: the applied declaration moves only when every run
of the change has applied, and a decommission ends the service's lifecycle.

A run that applied but whose deploy did not report healthy (RunStatus.APPLIED_UNHEALTHY) has applied:
AWS holds its declaration, so that is the applied one. The service page tells it apart by its
latest service run, and offers going back to the last healthy revision (portal.catalog.rollback).

    active --(decommission proposed)--> decommissioning --(destroy applied)--> decommissioned
    decommissioning --(destroy discarded, stale or failed before any apply)--> active
    active, nothing ever applied --(its change discarded, superseded or failed, none waiting)--> withdrawn
"""

from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone

from portal.catalog.models import Lifecycle, Service
from portal.changes.workflow import change_settled
from portal.runs.models import Change, Run


@receiver(change_settled, dispatch_uid="catalog-follows-settled-changes")
def follow_settled_change(sender, change: Change, outcome: str, **kwargs) -> None:
    if change.service_id is None:
        return
    service = Service.objects.filter(pk=change.service_id)
    if change.destroys:
        if outcome == Change.Outcome.APPLIED:
            service.update(status=Lifecycle.DECOMMISSIONED, decommissioned_at=timezone.now())
        elif not change.runs.applied().exists():
            # Nothing was destroyed: the service runs on as it was.
            service.filter(status=Lifecycle.DECOMMISSIONING).update(status=Lifecycle.ACTIVE)
        return
    if outcome == Change.Outcome.ABANDONED and nothing_ever_applied(change):
        # A registration that ended before anything reached AWS: the name is free again.
        service.filter(status=Lifecycle.ACTIVE, applied_revision__isnull=True).update(status=Lifecycle.WITHDRAWN, decommissioned_at=timezone.now())
        return
    if outcome == Change.Outcome.APPLIED and change.revision_id is not None:
        # Never backwards: an older revision cannot overwrite a newer applied one.
        service.filter(Q(applied_revision__isnull=True) | Q(applied_revision__number__lt=change.revision.number)).update(applied_revision=change.revision_id)


def nothing_ever_applied(change: Change) -> bool:
    """Whether the change's service never had anything applied and waits for no other change: its
    registration (or a change of it before any apply) ended, and nothing of it is in AWS."""
    service_id = change.service_id
    # Since it was registered: a name registered again takes over the workspaces of its last life.
    registered_at = Service.objects.filter(pk=service_id).values_list("created_at", flat=True).first()
    applied = Run.objects.filter(workspace__service_id=service_id, created_at__gte=registered_at).applied().exists()
    waiting = Change.objects.pending().filter(service_id=service_id).exclude(pk=change.pk).exists()
    return not applied and not waiting
