"""The rollout pages: propose one from the Platform page, follow its waves, resume it."""

from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from portal.access import permissions
from portal.access.decorators import allowed
from portal.changes.workflow import Refused
from portal.core.refusals import Refusal
from portal.rollouts.models import Rollout, Wave
from portal.rollouts.rollout import behind, propose_rollout, resume_rollout, wave_refusal
from portal.runs.models import Run, RunStatus


@allowed(permissions.roll_out)
@require_POST
def propose(request):
    try:
        rollout = propose_rollout(request.POST.get("module", ""), request.user)
    except Refused as refused:
        return refused_page(request, refused.refusal)
    messages.success(request, f"Every workspace behind {rollout.module} is planning, in {rollout.waves.count()} waves; approve wave 1 once its plan is in.")
    return redirect("rollouts:detail", rollout_id=rollout.pk)


@allowed(permissions.roll_out)
@require_POST
def resume(request, rollout_id):
    rollout = get_object_or_404(Rollout, pk=rollout_id)
    try:
        resume_rollout(rollout, request.user)
    except Refused as refused:
        messages.error(request, refused.refusal.message)
        return redirect("rollouts:detail", rollout_id=rollout.pk)
    messages.success(request, "What the rollout left is planning again, in new waves.")
    return redirect("rollouts:detail", rollout_id=rollout.pk)


def refused_page(request, refusal: Refusal):
    """The Platform page is where a rollout is proposed from: back there, with the reason."""
    messages.error(request, refusal.message)
    return redirect("platform:page")


@allowed(permissions.manage_platform)
@require_GET
def detail(request, rollout_id):
    runs = Prefetch("change__runs", Run.objects.select_related("workspace").order_by("workspace__apply_order", "workspace__path"))
    rollout = get_object_or_404(
        Rollout.objects.prefetch_related(Prefetch("waves", Wave.objects.select_related("change").prefetch_related(runs))), pk=rollout_id
    )
    waves = [(wave, state_of(wave, request.user)) for wave in rollout.waves.all()]
    left = behind(rollout.module) if rollout.status != Rollout.Status.DONE else []
    return render(request, "rollouts/rollout.html", {"rollout": rollout, "waves": waves, "left": left, "resumable": rollout.status == Rollout.Status.HALTED})


def state_of(wave: Wave, user) -> str:
    """Where the wave stands, in words."""
    if wave.replaced:
        return "Planned again in a later wave"
    runs = list(wave.change.runs.all())
    statuses = {run.status for run in runs}
    if wave.change.outcome == wave.change.Outcome.APPLIED:
        return "Applied, one unhealthy" if RunStatus.APPLIED_UNHEALTHY in statuses else "Applied"
    if wave.change.outcome == wave.change.Outcome.ABANDONED:
        return "Did not apply"
    if statuses & {RunStatus.QUEUED, RunStatus.PLANNING}:
        return "Planning"
    if statuses & {RunStatus.APPROVED, RunStatus.APPLYING}:
        return "Applying"
    refusal = wave_refusal(wave.change, user, runs)
    if refusal is not None:
        return refusal.message
    return "Awaiting approval"
