"""The runs page's questions, each a fixed number of queries however many runs there are: which runs
match its filters (newest first), and what each workspace with an active run is doing (its active
run, where that run stands in the workers' queue, and the runs of its change behind it)."""

import logging
from dataclasses import dataclass, field

from django.core.paginator import EmptyPage, Paginator
from django.db.models import Q
from django.http import Http404
from redis.exceptions import RedisError

from portal.access import permissions
from portal.access.models import Team
from portal.access.naming import is_team_name
from portal.core import params
from portal.core.keyset import Keyset, KeysetPage
from portal.core.params import InvalidParameter
from portal.runs import queueing
from portal.runs.models import Run, RunStatus, in_apply_order

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
RUNS = Keyset("created_at", PAGE_SIZE, what="microseconds.run id")
# The active section lists at most this many workspaces; filtering by service or workspace narrows it.
ACTIVE_LIMIT = 50
# What a listing never shows and can run to megabytes: left in the database.
HEAVY_FIELDS = ("log", "variables", "outputs", "plan_changes", "workspace__variables")
# What the runs page shows of a run, and no more: a row costs its columns (each timestamp parsed, each
# related row built), and the page shows a hundred or more. A field the templates read that is not
# here costs a query per row, which the page's query-count tests catch.
LISTED_FIELDS = (
    "created_at", "kind", "status", "to_add", "to_change", "to_destroy", "change_id",
    "workspace__path", "workspace__apply_order", "requested_by__username", "approved_by__username",
)  # fmt: skip
ACTIVE_FIELDS = ("worker_name", "worker_host", "heartbeat_at", "change__destroys")
SIBLING_FIELDS = ("change_id", "status", "workspace__path", "workspace__apply_order")


def text_filter(query, name: str, max_length: int) -> str:
    """A free-text filter: empty when absent; 400 when it could not be anything stored (too long,
    or a control character, such as the NUL byte PostgreSQL refuses outright)."""
    value = query.get(name, "").strip()
    if len(value) > max_length or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidParameter(name, f"give at most {max_length} printable characters.")
    return value


@dataclass(frozen=True)
class RunFilters:
    status: str = ""
    service: str = ""  # a service's name
    workspace: str = ""  # a workspace's path
    user: str = ""  # who requested or approved the run
    team: str = ""  # a team's name, or `mine`
    # The teams whose services' runs the viewer reads (portal.access.permissions.view_runs); None:
    # every run, the platform's included (an admin).
    readable_teams: frozenset | None = field(default=None, compare=False)
    viewer_teams: frozenset = field(default=frozenset(), compare=False)

    @classmethod
    def from_query(cls, query, viewer=None) -> "RunFilters":
        status = query.get("status", "")
        if status and status not in RunStatus.values:
            raise InvalidParameter("status", f"filter by one of: {', '.join(RunStatus.values)}.")
        team = text_filter(query, "team", 63)
        if team and team != "mine" and not (is_team_name(team) and Team.objects.filter(name=team).exists()):
            raise InvalidParameter("team", "no team has this name; give a team's name or `mine`.")
        mine = permissions.team_ids(viewer) if viewer is not None else frozenset()
        return cls(
            status=status,
            service=text_filter(query, "service", 64),
            workspace=text_filter(query, "workspace", 255),
            user=text_filter(query, "user", 150),
            team=team,
            readable_teams=None if viewer is None or permissions.is_admin(viewer) else mine,
            viewer_teams=mine,
        )

    def workspaces(self, runs):
        """Runs of the workspaces the filters name (all when they name none), of those the viewer reads."""
        if self.readable_teams is not None:
            runs = runs.filter(workspace__service__team_id__in=self.readable_teams)
        if self.team == "mine":
            runs = runs.filter(workspace__service__team_id__in=self.viewer_teams)
        elif self.team:
            runs = runs.filter(workspace__service__team__name=self.team)
        if self.service:
            runs = runs.filter(workspace__service__name=self.service)
        if self.workspace:
            runs = runs.filter(workspace__path=self.workspace)
        return runs

    def apply(self, runs):
        runs = self.workspaces(runs)
        if self.status:
            runs = runs.filter(status=self.status)
        if self.user:
            runs = runs.filter(Q(requested_by__username=self.user) | Q(approved_by__username=self.user))
        return runs

    def as_query(self) -> dict:
        return {name: getattr(self, name) for name in QUERY_FIELDS if getattr(self, name)}


QUERY_FIELDS = ("status", "service", "workspace", "user", "team")


def page_of(items, query, per_page: int, what: str):
    """The page of `items` the query asks for (`page`, from 1). A malformed page number is a bad
    request (400); one past the last page is not found (404), saying how many there are."""
    number = params.whole_number(query, "page", default=1, minimum=1)
    paginator = Paginator(items, per_page)
    try:
        return paginator.page(number)
    except EmptyPage:
        raise Http404(f"There is no page {number}: {what} fill {paginator.num_pages}.") from None


def runs_page(filters: RunFilters, query) -> "RunsPage":
    """The page of matching runs the query asks for, newest first: the newest PAGE_SIZE, or those just
    older (`older=`) or just newer (`newer=`) than a run's place, as the page's links give it. A
    deep page costs what the first does: the query seeks to the place in the index on created_at
    rather than counting its way past every newer run (an OFFSET). `page=N` (a link from before)
    is still served, by offset."""
    matching = filters.apply(Run.objects.all())
    runs = matching.select_related("workspace", "requested_by", "approved_by").only(*LISTED_FIELDS)
    if "page" in query:
        # The offset is counted over the runs' ids alone, then the page's rows are read by id: sorting
        # every matching run with its listed columns and joined rows cost twice as much on page 100.
        numbered = page_of(matching.order_by("-created_at", "-pk").values_list("pk", flat=True), query, PAGE_SIZE, "the runs matching")
        listed = list(runs.filter(pk__in=list(numbered)).order_by("-created_at", "-pk"))
        older, newer = RUNS.beside(listed, numbered)
        return RunsPage(listed, older=older, newer=newer, count=numbered.paginator.count)
    page = RUNS.page(runs, query)
    return RunsPage(page.items, older=page.older, newer=page.newer, count=runs.count())


@dataclass
class RunsPage(KeysetPage):
    """A page of runs (`items`) and where the pages beside it start; `count` is every run that matches."""

    count: int = 0


def place(run: Run) -> str:
    """A run's place in the newest-first order: its creation time in microseconds, then its id."""
    return RUNS.place(run)


@dataclass
class ActiveWorkspace:
    """A workspace's active run, its place in the workers' queue (None when it is not waiting there),
    and the active runs of its change queued behind it."""

    run: Run
    queue_position: int | None = None
    behind: list[Run] = field(default_factory=list)

    @property
    def workspace(self):
        return self.run.workspace


@dataclass
class ActiveSection:
    workspaces: list[ActiveWorkspace]
    more: bool  # more workspaces have an active run than are listed
    queue_problem: str = ""


def active_section(filters: RunFilters, limit: int = ACTIVE_LIMIT) -> ActiveSection:
    """Each workspace (of those the filters name) with an active run, by path: three queries and one
    read of the queue, however many."""
    runs = list(
        filters.workspaces(Run.objects.active())
        .select_related("workspace", "change", "requested_by", "approved_by")
        .only(*LISTED_FIELDS, *ACTIVE_FIELDS)
        .order_by("workspace__path")[: limit + 1]
    )
    more, runs = len(runs) > limit, runs[:limit]
    of_change: dict = {}
    change_ids = {run.change_id for run in runs if run.change_id}
    for sibling in Run.objects.active().filter(change_id__in=change_ids).select_related("workspace").only(*SIBLING_FIELDS):
        of_change.setdefault(sibling.change_id, []).append(sibling)
    positions, problem = queue_positions()
    section = ActiveSection([], more, problem)
    for run in runs:
        siblings = of_change.get(run.change_id, []) if run.change_id else []
        behind = [other for other in in_apply_order(siblings, run.change.destroys if run.change_id else False) if other.pk != run.pk]
        section.workspaces.append(ActiveWorkspace(run, positions.get(run.pk), behind))
    return section


def queue_positions() -> tuple[dict, str]:
    """Each queued run's place in the workers' queue (1 is taken next), as the workspace page shows
    it; a sentence instead when Redis cannot be read (the page still shows the runs)."""
    try:
        return {run.pk: position for position, run in enumerate(queueing.waiting_runs(), start=1)}, ""
    except RedisError as exc:
        logger.warning("Could not read the workers' queue: %s", exc)
        return {}, "The workers' queue could not be read from Redis; try again in a moment."
