"""The audit trail for admins: a filtered, paginated page and its export as JSON lines."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.paginator import EmptyPage, Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from portal.access import permissions
from portal.access.decorators import allowed
from portal.audit.filters import PARAMETERS, filtered
from portal.core import params
from portal.core.keyset import Keyset, KeysetPage

PAGE_SIZE = 50
EVENTS = Keyset("time", PAGE_SIZE)
COUNT_LIMIT = 10_000
EXPORT_CHUNK = 2000


@allowed(permissions.view_audit)
def audit_list(request):
    form, events = filtered(request.GET)
    page = events_page(events, request.GET)
    query = request.GET.copy()
    for name in ("page", "older", "newer"):
        query.pop(name, None)
    export_query = urlencode({name: request.GET[name] for name in PARAMETERS if request.GET.get(name)})
    return render(
        request,
        "audit/list.html",
        {"form": form, "page": page, "query": query.urlencode(), "export_query": export_query},
    )


@dataclass
class EventsPage(KeysetPage):
    """A page of the trail (`items`, its events) and where the pages beside it start, with how many
    events the filters select, counted up to COUNT_LIMIT."""

    count: int = 0
    number: int | None = None  # for a page asked for by number (`page=N`, links from before)

    @property
    def counted(self) -> str:
        """In words: "1 event", "12 events", or "more than 10,000 events" when counting stopped there."""
        if self.number is None and self.count > COUNT_LIMIT:
            return f"more than {COUNT_LIMIT:,} events"
        return f"{self.count:,} event{'' if self.count == 1 else 's'}"


def events_page(events, query) -> EventsPage:
    """The page the query asks for: the newest PAGE_SIZE events, or those just older or newer than a
    place (portal.core.keyset), or page N by offset for a link from before. The trail only grows, and
    past half a million events an offset and an exact count each took longer than the page's budget."""
    if "page" in query:
        if "older" in query or "newer" in query:
            raise params.InvalidParameter("page", "give page, or older or newer, not both.")
        number = params.whole_number(query, "page", default=1, minimum=1)
        try:
            numbered = Paginator(events, PAGE_SIZE).page(number)
        except EmptyPage:
            raise Http404("There is no such page of the audit trail.") from None
        listed = list(numbered.object_list)
        older, newer = EVENTS.beside(listed, numbered)
        return EventsPage(listed, older=older, newer=newer, count=numbered.paginator.count, number=number)
    page = EVENTS.page(events, query)
    # Counted as far as COUNT_LIMIT: "more than 10,000" says enough, and counting half a million
    # events took 20 ms on every view.
    return EventsPage(page.items, older=page.older, newer=page.newer, count=events[: COUNT_LIMIT + 1].count())


@allowed(permissions.view_audit)
def audit_export(request):
    """Every event the filters select, one JSON object per line, read from the database in chunks
    as the response is sent."""
    _, events = filtered(request.GET)
    response = StreamingHttpResponse(events.json_lines(EXPORT_CHUNK), content_type="application/jsonl; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{timezone.now():%Y%m%dT%H%M%SZ}.jsonl"'
    return response
