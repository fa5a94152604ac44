from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal.access import permissions
from portal.access.decorators import permission_required
from portal.changes import workflow
from portal.changes.change_pages import decide
from portal.core import params
from portal.runs.models import Run
from portal.runs.progress import progress_of

view_runs = permission_required("runs.view_run")


def visible_run(request, run_id) -> Run:
    """The run, when the user may read its workspace's runs (its team's, or the platform's admins)."""
    run = get_object_or_404(
        Run.objects.select_related("workspace__service__team", "requested_by", "approved_by", "cancelled_by", "change__revision__based_on"),
        pk=run_id,
    )
    permissions.require(permissions.view_runs(request.user, run.workspace))
    return run


def run_page(request, run: Run, refusal: workflow.Refusal | None = None, status: int = 200):
    change = run.change
    run.progress = progress_of(run)
    siblings = change.runs_in_order() if change else []
    return render(
        request,
        "runs/run_detail.html",
        {
            "run": run,
            "siblings": siblings,
            "approval_refusal": workflow.approval_refusal(change, request.user, siblings) if change else None,
            "discard_refusal": workflow.discard_refusal(change, request.user, siblings) if change else None,
            "cancel_refusal": workflow.cancel_refusal(run, request.user, siblings or [run]),
            "refusal": refusal,
        },
        status=status,
    )


@view_runs
def run_detail(request, run_id):
    return run_page(request, visible_run(request, run_id))


@view_runs
def run_log(request, run_id):
    """The log from a character offset, for the page to follow a running run."""
    run = visible_run(request, run_id)
    text, next_offset = run.log_from(params.whole_number(request.GET, "offset", default=0))
    return JsonResponse(
        {
            "status": run.status,
            "status_display": run.get_status_display(),
            "active": run.is_active,
            "running": run.is_running,
            "text": text,
            "next_offset": next_offset,
            "progress": progress_of(run).as_dict(),
        }
    )


def decide_on_run(request, run_id, decision: str):
    """Approve or discard the run's change, from the run's page (portal.changes.change_pages.decide)."""
    run = visible_run(request, run_id)

    def refused(refusal):
        return run_page(request, run, refusal, refusal.http_status)

    if run.change is None:
        return refused(workflow.Refusal("no_change", "This run belongs to no change; there is nothing to decide."))
    return decide(request, run.change, decision, refused, reverse("runs:run-detail", kwargs={"run_id": run.pk}))


@view_runs
@require_POST
def run_approve(request, run_id):
    return decide_on_run(request, run_id, "approve")


@view_runs
@require_POST
def run_discard(request, run_id):
    return decide_on_run(request, run_id, "discard")


@view_runs
@require_POST
def run_cancel(request, run_id):
    run = visible_run(request, run_id)
    try:
        run = workflow.cancel(run, request.user)
    except workflow.Refused as exc:
        return run_page(request, run, exc.refusal, exc.refusal.http_status)
    if run.status == "cancelled":
        messages.success(request, "Cancelled: the run ended before a worker started it.")
    else:
        messages.success(request, "Cancel asked: the worker interrupts terraform, which writes its state and releases its lock.")
    return redirect("runs:run-detail", run_id=run.pk)
