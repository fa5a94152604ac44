from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.runs import queueing
from portal.runs.models import Run


def visible_run(request, run_id) -> Run:
    return get_object_or_404(
        Run.objects.select_related("workspace__service", "requested_by", "approved_by", "change"),
        pk=run_id,
    )


@login_required
def run_detail(request, run_id):
    run = visible_run(request, run_id)
    return render(
        request, "runs/run_detail.html", {"run": run, "can_approve": run.can_be_approved_by(request.user)}
    )


@login_required
def run_log(request, run_id):
    """The log from a character offset, for the page to follow a running run."""
    run = visible_run(request, run_id)
    offset_text = request.GET.get("offset", "0")
    offset = int(offset_text) if offset_text.isdigit() else 0
    return JsonResponse(
        {
            "status": run.status,
            "status_display": run.get_status_display(),
            "active": run.is_active,
            "text": run.log[offset:],
            "next_offset": len(run.log),
        }
    )


@login_required
@require_POST
def run_approve(request, run_id):
    run = visible_run(request, run_id)
    if not run.can_be_approved_by(request.user):
        return HttpResponseForbidden(
            "You cannot approve this run: it needs an approver who is not its author, and every "
            "plan of its change finished with one awaiting approval."
        )
    if queueing.approve(run.change, request.user):
        messages.success(request, "Approved: the applies of this change are queued, in order.")
    else:
        messages.error(request, "The run changed before your approval arrived; nothing was approved.")
    return redirect("runs:run-detail", run_id=run.pk)


@login_required
@require_POST
def run_discard(request, run_id):
    run = visible_run(request, run_id)
    if not (request.user.pk == run.requested_by_id or request.user.has_perm("runs.approve_run")):
        return HttpResponseForbidden("Only the run's author or an approver can discard it.")
    if run.change and queueing.discard(run.change):
        messages.success(request, "Plans of this change discarded; nothing will be applied.")
    else:
        messages.error(request, "Only a queued plan or one awaiting approval can be discarded.")
    return redirect("runs:run-detail", run_id=run.pk)
