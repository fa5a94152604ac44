"""The runs page: every run, newest first, filtered by status, service, workspace and user; above
them, each workspace with an active run, where that run stands and what queues behind it. The
questions are asked in portal.changes.listing."""

from urllib.parse import urlencode

from django.shortcuts import render

from portal.access.decorators import permission_required
from portal.access.models import Team
from portal.changes.listing import RunFilters, active_section, runs_page
from portal.runs.models import RunStatus


@permission_required("runs.view_run")
def run_list(request):
    filters = RunFilters.from_query(request.GET, request.user)  # a bad value is a 400 that says what it takes
    return render(
        request,
        "runs/run_list.html",
        {
            "filters": filters,
            "filter_query": urlencode(filters.as_query()),  # kept by the page links
            "statuses": RunStatus.choices,
            "page": runs_page(filters, request.GET),
            "active": active_section(filters),
            "teams": Team.objects.all(),
        },
    )
