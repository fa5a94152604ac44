"""The changes page's questions: what waits for a person's approval (their inbox), what they proposed,
every change they may read (filtered), and, for any change, what happens next in a sentence. Each
list is a fixed number of queries however many changes there are."""

from dataclasses import dataclass, field

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Count, Exists, OuterRef, Prefetch, Window

from portal.access import permissions
from portal.access.models import Team
from portal.access.naming import is_team_name
from portal.changes.listing import page_of, text_filter
from portal.core.choices import Colour, ColouredChoices
from portal.core.params import InvalidParameter
from portal.runs.models import BREAKING_STATUSES, Change, Run, RunStatus

PAGE_SIZE = 50
# The inbox and "proposed by me" show at most this many; the filtered list below them has pages.
SECTION_LIMIT = 50
# The outcome filter's values: the stored outcome, with `pending` for the empty one.
OUTCOMES = {"pending": Change.Outcome.PENDING, "applied": Change.Outcome.APPLIED, "abandoned": Change.Outcome.ABANDONED}


def readable(user, changes=None):
    """The changes `user` may read (portal.access.permissions.view_change, asked of many at once): a
    service's are its team's, the platform's (no service) its admins'; every one for an admin."""
    changes = Change.objects.all() if changes is None else changes
    if not user.has_perm("runs.view_run"):
        return changes.none()
    if permissions.is_admin(user):
        return changes
    return changes.filter(service__team_id__in=permissions.team_ids(user))


def waiting_for(user):
    """The changes `user` may approve now, oldest first: every plan ended and one waits for approval
    (Change.objects.awaiting_approval), proposed by someone else, and all of it theirs to approve (an
    approver of the team of every workspace it touches; an admin for the platform's, or for a change
    that says an admin approves it). The workflow's approval rule (workflow.approval_refusal), asked
    of many changes at once; a further check (a blocking policy finding) may still ask for more."""
    if not user.has_perm(permissions.ROLE_APPROVER):
        return Change.objects.none()
    # Nor one they approved already and that waits for a second person (portal.approvals' Approval).
    changes = Change.objects.awaiting_approval().exclude(requested_by=user).exclude(approvals__user=user)
    if not permissions.is_admin(user):
        outside = Run.objects.filter(change=OuterRef("pk")).exclude(workspace__service__team_id__in=permissions.team_ids(user))
        changes = changes.filter(platform_approval="").exclude(Exists(outside))
    for narrow in waiting_filters:
        changes = narrow(changes, user)
    return changes.order_by("created_at", "pk")


# Further rules of other apps that no approval can get past yet (a rollout's wave before its turn),
# as queryset filters: each takes (changes, user) and returns the changes still waiting for `user`.
# Registered in their AppConfig.ready(), beside their workflow.approval_checks entry.
waiting_filters: list = []


def waiting_section(user, limit: int) -> tuple[list[Change], int]:
    """The first `limit` changes waiting for `user` (waiting_for) with what their rows show, and how
    many wait in all. The waiting changes are found by id with their count (a window over the same
    rows), then read by id: the rows' joins in the approval rule's query, and the rule asked a
    second time for the count, cost twice what this does with a thousand waiting."""
    found = list(waiting_for(user).annotate(waiting=Window(Count("pk"))).values_list("pk", "waiting")[:limit])
    changes = with_runs(Change.objects.filter(pk__in=[pk for pk, _ in found])).order_by("created_at", "pk")
    return list(changes), found[0][1] if found else 0


def waiting_count(user) -> int:
    """How many changes wait for `user`'s approval (the navigation's count): one query."""
    if not (user.is_authenticated and user.has_perm(permissions.ROLE_APPROVER)):
        return 0
    return waiting_for(user).count()


# What a change's row and its next step (next_step) read, and no more: the page lists up to a
# hundred and fifty changes and their runs, and each column is a value parsed and each related row
# an object built. A field read that is not here costs a query per row, which the page's
# query-count tests catch.
CHANGE_ROW_FIELDS = (
    "created_at", "title", "outcome", "platform_approval", "destroys",
    "service__name", "service__team__name", "requested_by__username",
)  # fmt: skip
RUN_STEP_FIELDS = ("change_id", "status", "workspace__path", "workspace__service_id", "approved_by__username")


def with_runs(changes):
    """The changes with what their rows show: service, team, proposer and their runs' statuses (no
    logs, plans or inputs), in four queries."""
    runs = Run.objects.select_related("workspace", "approved_by").only(*RUN_STEP_FIELDS)
    # portal.approvals' Approval, named through the relation: that app builds on this one.
    approvals = Change._meta.get_field("approvals").related_model.objects.select_related("user")
    # Into lists (to_attr) rather than the related managers' caches: a manager's cache costs a
    # queryset built per change.
    return (
        changes.select_related("service__team", "requested_by")
        .only(*CHANGE_ROW_FIELDS)
        .prefetch_related(Prefetch("runs", queryset=runs, to_attr="listed_runs"), Prefetch("approvals", queryset=approvals, to_attr="listed_approvals"))
    )


@dataclass(frozen=True)
class ChangeFilters:
    outcome: str = ""  # a key of OUTCOMES
    service: str = ""  # a service's name
    team: str = ""  # a team's name, or `mine`
    user: str = ""  # who proposed it
    viewer_teams: frozenset = field(default=frozenset(), compare=False)

    @classmethod
    def from_query(cls, query, viewer) -> "ChangeFilters":
        outcome = query.get("outcome", "")
        if outcome and outcome not in OUTCOMES:
            raise InvalidParameter("outcome", f"filter by one of: {', '.join(OUTCOMES)}.")
        team = text_filter(query, "team", 63)
        if team and team != "mine" and not (is_team_name(team) and Team.objects.filter(name=team).exists()):
            raise InvalidParameter("team", "no team has this name; give a team's name or `mine`.")
        return cls(
            outcome=outcome,
            service=text_filter(query, "service", 64),
            team=team,
            user=text_filter(query, "user", 150),
            viewer_teams=permissions.team_ids(viewer),
        )

    def apply(self, changes):
        if self.outcome:
            changes = changes.filter(outcome=OUTCOMES[self.outcome])
        if self.team == "mine":
            changes = changes.filter(service__team_id__in=self.viewer_teams)
        elif self.team:
            changes = changes.filter(service__team__name=self.team)
        if self.service:
            changes = changes.filter(service__name=self.service)
        if self.user:
            changes = changes.filter(requested_by__username=self.user)
        return changes

    def as_query(self) -> dict:
        return {name: getattr(self, name) for name in ("outcome", "service", "team", "user") if getattr(self, name)}


def changes_page(filters: ChangeFilters, viewer, query):
    """The page of the changes `viewer` reads that match, newest first."""
    changes = with_runs(filters.apply(readable(viewer))).order_by("-created_at", "-pk")
    return page_of(changes, query, PAGE_SIZE, "the changes matching")


def proposed_by(user):
    """The changes `user` proposed that are still under way, newest first."""
    return with_runs(readable(user, Change.objects.pending().filter(requested_by=user))).order_by("-created_at", "-pk")


def next_step(change: Change, runs: list[Run]) -> str:
    """What happens next to the change, in a sentence a person acts on: who it waits for, or that it
    has ended and why. `runs` are the change's runs (any order)."""
    if change.outcome == Change.Outcome.APPLIED:
        return "Applied: nothing more happens. A new change starts from the service's page or the API."
    statuses = [run.status for run in runs]
    # The run that stopped the change first; the others of its change it left abandoned.
    breaking = [run for run in runs if run.status in BREAKING_STATUSES] + [run for run in runs if run.status == RunStatus.ABANDONED]
    if change.outcome == Change.Outcome.ABANDONED or breaking:
        why = f" ({breaking[0].workspace.path}: {breaking[0].get_status_display()})" if breaking else ""
        return f"Ended without applying{why}. Nothing more happens; propose the change again to go on."
    planning = sum(status in (RunStatus.QUEUED, RunStatus.PLANNING) for status in statuses)
    if planning:
        return f"Planning: {len(statuses) - planning} of {len(statuses)} plans done. Approval comes once every plan has."
    applying = [run for run in runs if run.status in (RunStatus.APPROVED, RunStatus.APPLYING)]
    if applying:
        approver = next((run.approved_by for run in runs if run.approved_by_id), None)
        done = sum(run.status not in (RunStatus.APPROVED, RunStatus.APPLYING, RunStatus.AWAITING_APPROVAL) for run in runs)
        by = f" by {approver}" if approver else " by the portal, under the approval policy"
        return f"Approved{by}; applying, {done} of {len(statuses)} done. Nothing more is asked of anyone."
    if RunStatus.AWAITING_APPROVAL in statuses:
        if change.platform_approval or any(run.workspace.is_platform for run in runs):
            who = "an admin of the platform"
        elif change.service_id is not None:
            who = f"an approver of the team {change.service.team} (its approvers, or an admin)"
        else:
            who = "an approver (approvers or admins)"
        proposer = f", not {change.requested_by}, who proposed it" if change.requested_by_id else ""
        # Approvals of a change the approval policy asks two of (portal.approvals' Approval; with_runs fetches them for a list).
        approvals = change.listed_approvals if hasattr(change, "listed_approvals") else change.approvals.select_related("user")
        given = [approval.user.get_username() for approval in approvals if approval.user is not None]
        if given:
            return f"Approved by {', '.join(given)}; waiting for a second approval, from another person: {who}{proposer}."
        return f"Waiting for {who}{proposer}; nobody has approved it yet."
    return "Every plan found nothing to change; the change ends without an apply."


class Stage(ColouredChoices):
    """Where a change under way stands, in two or three words (the services list's pending column)."""

    PLANNING = "planning", Colour.GREY, "planning"
    WAITING = "waiting", Colour.YELLOW, "waits for approval"
    APPLYING = "applying", Colour.GREY, "applying"
    STOPPED = "stopped", Colour.ORANGE, "stopped"
    SETTLING = "settling", Colour.GREY, "settling"


def stage(statuses: set[str]) -> Stage:
    """The stage of a change whose runs have these statuses."""
    if statuses & set(BREAKING_STATUSES) or RunStatus.ABANDONED in statuses:
        return Stage.STOPPED
    if statuses & {RunStatus.QUEUED, RunStatus.PLANNING}:
        return Stage.PLANNING
    if statuses & {RunStatus.APPROVED, RunStatus.APPLYING}:
        return Stage.APPLYING
    if RunStatus.AWAITING_APPROVAL in statuses:
        return Stage.WAITING
    return Stage.SETTLING


def attach_changes_under_way(services) -> None:
    """Sets `pending_change` on each service (its newest change under way, or None), with the
    change's `stage`: one query for the whole list, of only what the services list shows (the
    change's title and kind, its runs' statuses as one array: a prefetch would build a run and a
    related manager per row)."""
    statuses = Run.objects.filter(change=OuterRef("pk")).values("status")
    pending = (
        Change.objects.pending()
        .filter(service__in=[service.pk for service in services])
        .order_by("service_id", "-created_at")
        .distinct("service_id")  # PostgreSQL's DISTINCT ON: the newest per service
        .only("pk", "title", "destroys", "service_id", "created_at")
        .annotate(run_statuses=ArraySubquery(statuses))
    )
    newest = {change.service_id: change for change in pending}
    for service in services:
        service.pending_change = newest.get(service.pk)
        if service.pending_change is not None:
            service.pending_change.stage = stage(set(service.pending_change.run_statuses))
