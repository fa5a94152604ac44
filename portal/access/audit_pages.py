"""The audit trail for admins: a filtered, paginated page and its export as JSON lines."""

from urllib.parse import urlencode

from django.core.paginator import EmptyPage, Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from portal.access import permissions
from portal.access.decorators import allowed
from portal.audit.filters import PARAMETERS, filtered
from portal.core import params

PAGE_SIZE = 50
EXPORT_CHUNK = 2000


@allowed(permissions.view_audit)
def audit_list(request):
    form, events = filtered(request.GET)
    number = params.whole_number(request.GET, "page", default=1, minimum=1)
    try:
        page = Paginator(events, PAGE_SIZE).page(number)
    except EmptyPage:
        raise Http404("There is no such page of the audit trail.") from None
    query = request.GET.copy()
    query.pop("page", None)
    export_query = urlencode({name: request.GET[name] for name in PARAMETERS if request.GET.get(name)})
    return render(
        request,
        "audit/list.html",
        {"form": form, "page": page, "query": query.urlencode(), "export_query": export_query},
    )


@allowed(permissions.view_audit)
def audit_export(request):
    """Every event the filters select, one JSON object per line, read from the database in chunks
    as the response is sent."""
    _, events = filtered(request.GET)
    response = StreamingHttpResponse(events.json_lines(EXPORT_CHUNK), content_type="application/jsonl; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{timezone.now():%Y%m%dT%H%M%SZ}.jsonl"'
    return response
