"""What a settled change means for its service: the applied declaration moves only when every run
of the change has applied, and a decommission ends the service's lifecycle.

A run that applied but whose deploy did not report healthy (RunStatus.APPLIED_UNHEALTHY) has applied:
AWS holds its declaration, so that is the applied one. The service page tells it apart by its
latest service run, and offers going back to the last healthy revision (portal.catalog.rollback).

    active --(decommission proposed)--> decommissioning --(destroy applied)--> decommissioned
    decommissioning --(destroy discarded, stale or failed before any apply)--> active
"""

from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone

from portal.catalog.models import Lifecycle, Service
from portal.changes.workflow import change_settled
from portal.runs.models import Change


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
    if outcome == Change.Outcome.APPLIED and change.revision_id is not None:
        # Never backwards: an older revision cannot overwrite a newer applied one.
        service.filter(Q(applied_revision__isnull=True) | Q(applied_revision__number__lt=change.revision.number)).update(applied_revision=change.revision_id)
