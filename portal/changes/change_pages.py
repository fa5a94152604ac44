"""A change's page: what is being asked (who proposed it, the declaration diff, the plan of every
workspace as a resource diff) and the approve and discard buttons, or why they are not offered.
It follows the change's runs while they plan and apply, without reloading."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from portal.access import permissions
from portal.access.decorators import permission_required
from portal.access.models import Team
from portal.changes import inbox, workflow
from portal.runs.models import APPROVABLE_STATUSES, Change, Run, RunStatus, in_apply_order
from portal.runs.progress import progress_of
from portal.workspaces import images

view_runs = permission_required("runs.view_run")


def visible_change(request, change_id) -> Change:
    """The change, when the user may read its runs (its service's team, or the platform's admins)."""
    change = get_object_or_404(
        Change.objects.select_related("service__team", "requested_by", "revision__based_on", "revision__proposed_by"),
        pk=change_id,
    )
    permissions.require(permissions.view_change(request.user, change))
    return change


def change_page(request, change: Change, refusal: workflow.Refusal | None = None, status: int = 200):
    runs = in_apply_order(change.runs.select_related("workspace", "approved_by", "requested_by"), change.destroys)
    for run in runs:
        run.progress = progress_of(run)
    return render(
        request,
        "runs/change_detail.html",
        {
            "change": change,
            "runs": runs,
            "approved_by": next((run.approved_by for run in runs if run.approved_by_id), None),
            "approved_by_portal": any(run.approved_at and not run.approved_by_id for run in runs),
            "next_step": inbox.next_step(change, runs),
            # Why this person cannot approve is said only while the change waits for approval; before
            # and after, what happens next says it all.
            "awaiting_approval": change.is_pending and awaits_approval(runs),
            "approval_refusal": workflow.approval_refusal(change, request.user, runs),
            "discard_refusal": workflow.discard_refusal(change, request.user, runs),
            "refusal": refusal,
            "version": page_version(change, runs),
            "settled": not any(run.is_active for run in runs),
            # A decommission's runs that apply rather than destroy: the workload roles, without its grant.
            "applied_in_destroy": [run for run in runs if change.destroys and run.kind != Run.Kind.DESTROY],
            # While it is under way: whether the tag it deploys is in the repository (a warning when
            # PORTAL_IMAGE_CHECK=warn let a missing one be planned, or before the repository exists).
            "image": images.image_section(change.service, change.revision.image_tag)
            if change.is_pending and change.revision_id and not change.destroys
            else None,
        },
        status=status,
    )


def image_of(change: Change) -> dict | None:
    if not change.is_pending or change.revision_id is None or change.destroys:
        return None
    return images.image_section(change.service, change.revision.image_tag)


def awaits_approval(runs: list[Run]) -> bool:
    statuses = {run.status for run in runs}
    return RunStatus.AWAITING_APPROVAL in statuses and statuses <= set(APPROVABLE_STATUSES)


@require_GET
@view_runs
def change_list(request):
    """What waits for my approval (oldest first), what I proposed that is under way, and every change
    I may read, filtered like the runs page."""
    filters = inbox.ChangeFilters.from_query(request.GET, request.user)  # a bad value is a 400 that says what it takes
    waiting, waiting_count = inbox.waiting_section(request.user, inbox.SECTION_LIMIT)
    mine = list(inbox.proposed_by(request.user)[: inbox.SECTION_LIMIT])
    page = inbox.changes_page(filters, request.user, request.GET)
    for change in [*waiting, *mine, *page]:
        change.next_step = inbox.next_step(change, change.listed_runs)
    return render(
        request,
        "runs/change_list.html",
        {
            "waiting": waiting,
            "more_waiting": waiting_count > len(waiting),
            "changes_waiting": waiting_count,  # the navigation's count, found with the section
            "may_approve": request.user.has_perm(permissions.ROLE_APPROVER),
            "mine": mine,
            "page": page,
            "filters": filters,
            "filter_query": urlencode(filters.as_query()),
            "outcomes": list(inbox.OUTCOMES),
            "teams": Team.objects.all(),
        },
    )


@view_runs
def change_detail(request, change_id):
    return change_page(request, visible_change(request, change_id))


@view_runs
def change_status(request, change_id):
    """Where each run of the change is, for the page to follow them; `version` changes whenever
    something the page shows beyond the progress does."""
    change = visible_change(request, change_id)
    runs = list(change.runs.only("pk", "status", "to_add", "to_change", "to_destroy", "cancel_requested_at"))
    return JsonResponse(
        {
            "version": page_version(change, runs),
            "settled": not any(run.is_active for run in runs),
            "runs": [{"id": str(run.pk), "status": run.status, "progress": progress_of(run).as_dict()} for run in runs],
        }
    )


def page_version(change: Change, runs: list[Run]) -> str:
    """Changes whenever the page shows something new beyond the progress: a run's status (its plan,
    the buttons), a cancel asked for, the change settled."""
    moves = sorted(f"{run.pk}:{run.status}:{run.cancel_requested_at is not None}" for run in runs)
    return "|".join([change.outcome, *moves])


# What each decision does, and what the page says once it is taken (the run's page offers them too).
DECISIONS = {
    "approve": (workflow.approve, "Approved: the applies of this change are queued, in order."),
    "discard": (workflow.discard, "Discarded: nothing of this change will be applied."),
}


def decide(request, change: Change, decision: str, refused, done_url: str):
    """Take `decision` on the change as the request's user. A refusal answers as the API does (403 or
    409) with `refused(refusal)`, the page that offered the button with the reason."""
    action, done = DECISIONS[decision]
    try:
        tally = action(change, request.user)
    except workflow.Refused as exc:
        return refused(exc.refusal)
    if tally is not None and tally[0] < tally[1]:
        done = f"Your approval is recorded ({tally[0]} of {tally[1]}): the change waits for another approver, who did not propose it."
    messages.success(request, done)
    return redirect(done_url)


def decide_here(request, change_id, decision: str):
    change = visible_change(request, change_id)
    return decide(
        request,
        change,
        decision,
        lambda refusal: change_page(request, change, refusal, refusal.http_status),
        reverse("changes:detail", kwargs={"change_id": change.pk}),
    )


@view_runs
@require_POST
def change_approve(request, change_id):
    return decide_here(request, change_id, "approve")


@view_runs
@require_POST
def change_discard(request, change_id):
    return decide_here(request, change_id, "discard")
