"""A service's history: each change, who proposed and who approved it, what it declared (the
revision and its diff against what it was based on), how it ended, and the log of each of its runs."""

from django.db.models import Prefetch
from django.shortcuts import render

from portal.access import permissions
from portal.access.decorators import permission_required
from portal.catalog.lookup import service_named
from portal.catalog.models import Service
from portal.changes.listing import HEAVY_FIELDS, page_of
from portal.runs.models import Run, in_apply_order

PAGE_SIZE = 25


def changes_page(service: Service, query):
    """The service's changes, newest first, with their revisions, proposers and runs (with their
    approvers, in apply order as `runs_in_apply_order`): four queries however many changes."""
    changes = (
        service.changes.select_related("requested_by", "revision__based_on")
        .prefetch_related(Prefetch("runs", Run.objects.select_related("workspace", "approved_by").defer(*HEAVY_FIELDS)))
        .order_by("-created_at")
    )
    page = page_of(changes, query, PAGE_SIZE, f"{service.name}'s changes")
    for change in page:
        change.runs_in_apply_order = in_apply_order(change.runs.all(), change.destroys)
        change.approvers = sorted({run.approved_by.username for run in change.runs_in_apply_order if run.approved_by})
    return page


@permission_required("catalog.view_service")
def service_history(request, name):
    service = service_named(name)
    permissions.require(permissions.view_service(request.user, service))
    return render(request, "catalog/service_history.html", {"service": service, "page": changes_page(service, request.GET)})
