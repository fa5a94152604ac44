"""A workspace's page: its active run and what waits behind it, the Terraform lock on its state, and
the admins' force-unlock."""

import logging

from botocore.exceptions import BotoCoreError, ClientError
from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.access import permissions
from portal.access.decorators import permission_required
from portal.changes.workflow import Refusal, Refused
from portal.core.forms import NoSilentTruncation
from portal.runner import locks
from portal.runner.locks import StateLock
from portal.runs import queueing
from portal.workspaces.models import Workspace

logger = logging.getLogger(__name__)


class UnlockForm(NoSilentTruncation, forms.Form):
    lock_id = forms.CharField(max_length=64, help_text="The id of the lock as shown on the page.")
    confirm = forms.BooleanField(error_messages={"required": "Tick the box to confirm: removing a lock that a live terraform holds can corrupt the state."})


def visible_workspace(request, workspace_id) -> Workspace:
    """A workspace's page shows its runs: read by those who may read them (the platform's by its admins)."""
    workspace = get_object_or_404(Workspace.objects.select_related("service__team"), pk=workspace_id)
    permissions.require(permissions.view_runs(request.user, workspace))
    return workspace


def read_lock(workspace: Workspace) -> tuple[StateLock | None, str]:
    """The lock, and a sentence when it could not be read (the page shows it rather than failing)."""
    try:
        return locks.read(workspace), ""
    except (BotoCoreError, ClientError) as exc:
        logger.warning("Could not read the lock of %s: %s", workspace.path, exc)
        return None, f"The lock could not be read from the state bucket ({type(exc).__name__}); try again in a moment."


def unlock_refusal(workspace: Workspace, user, lock: StateLock | None, lock_id: str) -> Refusal | None:
    refusal = permissions.force_unlock(user, workspace)
    if refusal is not None:
        return refusal
    if lock is None:
        return Refusal("no_lock", "There is no lock on this workspace's state any more.")
    if lock.id != lock_id:
        return Refusal("lock_changed", "The lock changed since the page was shown; look at it again before removing it.")
    running = workspace.runs.running().first()
    if running is not None and not running.worker_silent and locks.taken_by(running, lock):
        return Refusal(
            "lock_in_use",
            f"The run that holds this lock is {running.get_status_display().lower()} and its worker is alive: "
            "cancel the run instead; its terraform releases the lock as it stops.",
        )
    return None


def workspace_page(request, workspace: Workspace, refusal: Refusal | None = None, form=None, status: int = 200):
    lock, lock_problem = read_lock(workspace)
    active = workspace.runs.active().select_related("change", "requested_by", "cancelled_by").first()
    behind = [run for run in active.change.runs_in_order() if run.pk != active.pk and run.is_active] if active and active.change_id else []
    queue = queueing.waiting_runs()
    position = next((index for index, run in enumerate(queue, start=1) if active and run.pk == active.pk), None)
    return render(
        request,
        "runs/workspace_detail.html",
        {
            "workspace": workspace,
            "active": active,
            "behind": behind,
            "queue": queue,
            "queue_position": position,
            "lock": lock,
            "lock_problem": lock_problem,
            "lock_is_active_runs": bool(lock and active and locks.taken_by(active, lock)),
            "unlock_refusal": unlock_refusal(workspace, request.user, lock, lock.id if lock else ""),
            "form": form or UnlockForm(initial={"lock_id": lock.id if lock else ""}),
            "releases": workspace.lock_releases.select_related("released_by", "run")[:10],
            "recent_runs": workspace.runs.newest_first().select_related("requested_by")[:10],
            "refusal": refusal,
        },
        status=status,
    )


@permission_required("workspaces.view_workspace")
def workspace_detail(request, workspace_id):
    return workspace_page(request, visible_workspace(request, workspace_id))


@permission_required("workspaces.view_workspace")
@require_POST
def workspace_unlock(request, workspace_id):
    workspace = visible_workspace(request, workspace_id)
    form = UnlockForm(request.POST)
    if not form.is_valid():
        return workspace_page(request, workspace, form=form, status=400)
    try:
        release = force_unlock(workspace, request.user, form.cleaned_data["lock_id"])
    except Refused as exc:
        return workspace_page(request, workspace, exc.refusal, status=exc.refusal.http_status)
    messages.success(request, f"Removed the lock {release.lock_id} held by {release.holder or 'an unknown holder'}.")
    return redirect("workspace:detail", workspace_id=workspace.pk)


def force_unlock(workspace: Workspace, user, lock_id: str):
    lock, problem = read_lock(workspace)
    if problem:
        raise Refused(Refusal("lock_unreadable", problem))
    refusal = unlock_refusal(workspace, user, lock, lock_id)
    if refusal:
        raise Refused(refusal)
    running = workspace.runs.running().first()
    return locks.release(
        workspace,
        lock,
        reason=f"Removed by hand by {user.get_username()}.",
        run=running if running is not None and locks.taken_by(running, lock) else None,
        user=user,
    )
