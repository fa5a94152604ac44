"""Rollouts: one version of a module brought to every workspace behind it, wave by wave.

`propose_rollout` plans every workspace behind at once, so the blast radius (each plan's resource
diff, on its wave's change page) is in front of people before anything is approved: one change per
wave (portal.rollouts.waves), planned with the inputs each workspace was last applied with, so the
module's version is all that moves. A wave is approved only once every wave before it applied
healthy (`wave_refusal`, one of the workflow's approval checks). When a wave's change settles
(`wave_settled`): applied and healthy, the rollout goes on, or is done after its last wave; not
applied (failed, discarded, superseded, abandoned) or unhealthy, it halts, the later waves' plans
are dropped, and `resume_rollout` plans what is left in new waves. A platform wave whose plan changes
outputs that other workspaces read (`read_plan`) has those readers, and the later waves, planned
again once it has applied: their plans read the new outputs."""

from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from portal import audit
from portal.access import permissions
from portal.changes.workflow import Refused, advance, locked_runs_of, propose
from portal.core.refusals import Refusal
from portal.platform.module_versions import module_report
from portal.rollouts.models import ChangedOutputs, Rollout, Wave
from portal.rollouts.waves import in_dependency_order, into_waves, readers_of
from portal.runs.models import DONE_STATUSES, Change, Run, RunStatus
from portal.workspaces.layout import last_applied_variables
from portal.workspaces.models import Workspace
from portal.workspaces.modules import version_of

RESUME = "Resume the rollout once the cause is fixed: it plans what is left again."


# --- propose ---------------------------------------------------------------------------------------
def propose_rollout(module, user) -> Rollout:
    """Plan every workspace behind `module`'s current version, in waves. Refused for a module no
    workspace is made from, one with nothing behind, and while a rollout of it runs (or is halted at
    this very version: resume that one)."""
    permissions.require(permissions.roll_out(user))
    if not isinstance(module, str) or not Workspace.objects.filter(module=module).exists():
        raise Refused(Refusal("unknown_module", "No workspace is made from that module: pick one listed under Module versions."))
    version = version_of(module)
    with transaction.atomic():
        for other in Rollout.objects.select_for_update().filter(module=module, status__in=[Rollout.Status.RUNNING, Rollout.Status.HALTED]):
            if other.status == Rollout.Status.RUNNING:
                raise Refused(
                    Refusal("rollout_running", f"A rollout of {module} is running already (proposed {other.created_at:%Y-%m-%d %H:%M}); let it finish first.")
                )
            if other.sha256 == version.sha256:
                raise Refused(Refusal("rollout_halted", f"A rollout of this version of {module} is halted: resume it rather than start another."))
            other.status = Rollout.Status.SUPERSEDED
            other.finished_at = timezone.now()
            # Its page no longer offers a resume: say what took its place instead.
            halted = other.halted_because.removesuffix(RESUME).strip()
            other.halted_because = f"{halted} A rollout of a newer version of {module} took its place.".strip()
            other.save(update_fields=["status", "finished_at", "halted_because"])
        report = next(iter(module_report(module=module)), None)
        if report is None:
            raise Refused(Refusal("never_applied", f"No workspace made from {module} has been applied yet: there is nothing to roll out."))
        targets = [item.workspace for item in report.behind]
        if not targets:
            raise Refused(Refusal("up_to_date", f"Every workspace made from {module} was last applied with its current version: there is nothing to roll out."))
        go, left_out = without_busy(targets)
        if not go:
            raise Refused(Refusal("all_busy", "Every workspace behind has a change under way; propose the rollout once those have ended."))
        try:
            with transaction.atomic():
                rollout = Rollout.objects.create(module=module, sha256=version.sha256, changelog=version.changelog[:300], proposed_by=user, left_out=left_out)
        except IntegrityError:  # another admin's proposal, a moment ago
            raise Refused(Refusal("rollout_running", f"A rollout of {module} was proposed a moment ago.")) from None
        waves = plan_waves(rollout, go, user)
        audit.record(
            "rollout.propose",
            user,
            rollout,
            module=module,
            version=version.sha256,
            waves=[[workspace.path for workspace in wave] for wave in waves],
            left_out=left_out,
        )
    return rollout


def behind(module: str) -> list[Workspace]:
    """The workspaces made from `module` whose last apply used another version than today's."""
    report = next(iter(module_report(module=module)), None)
    return [item.workspace for item in report.behind] if report else []


def without_busy(workspaces: Iterable[Workspace]) -> tuple[list[Workspace], list[dict]]:
    """The workspaces free to plan, and those left out because a change of theirs is under way (a
    team's proposal is theirs to apply or discard; a plan made now would supersede it)."""
    workspaces = list(workspaces)
    busy = set(Run.objects.active().filter(workspace__in=workspaces).values_list("workspace_id", flat=True))
    go = [workspace for workspace in workspaces if workspace.pk not in busy]
    left_out = [{"path": workspace.path, "why": "a change is under way there"} for workspace in workspaces if workspace.pk in busy]
    return go, left_out


def inputs_of(workspace: Workspace) -> dict:
    """What AWS was last brought to in the workspace: only the module's version moves."""
    applied = last_applied_variables(workspace)
    return applied if applied is not None else workspace.variables


def plan_waves(rollout: Rollout, workspaces: Iterable[Workspace], user, reason: str = "") -> list[list[Workspace]]:
    """One change per wave, numbered after the rollout's last wave."""
    waves = into_waves(in_dependency_order(workspaces), settings.ROLLOUT_WAVE_SIZES)
    last = rollout.waves.order_by("-number").values_list("number", flat=True).first() or 0
    for number, wave in enumerate(waves, start=last + 1):
        change = propose(f"Roll out {rollout.module} {rollout.sha256[:12]}: wave {number}", [(workspace, inputs_of(workspace)) for workspace in wave], user)
        Wave.objects.create(rollout=rollout, number=number, change=change, reason=reason[:300])
    return waves


# --- approve ---------------------------------------------------------------------------------------
def wave_refusal(change: Change, user, runs: list[Run]) -> Refusal | None:
    """A wave is approved while its rollout runs, once every wave before it has applied."""
    wave = Wave.objects.filter(change=change).select_related("rollout").first()
    if wave is None:
        return None
    rollout = wave.rollout
    if wave.replaced:
        return Refusal("wave_replaced", f"This wave of the rollout of {rollout.module} was planned again in a later wave; approve that one.")
    if rollout.status != Rollout.Status.RUNNING:
        return Refusal(
            "rollout_halted", f"The rollout of {rollout.module} is {rollout.get_status_display().lower()}; nothing of it is approved until it is resumed."
        )
    earlier = rollout.waves.filter(number__lt=wave.number, replaced=False).exclude(change__outcome=Change.Outcome.APPLIED).order_by("number").first()
    if earlier is not None:
        return Refusal("wave_waiting", f"Wave {wave.number} of the rollout of {rollout.module} is approved once wave {earlier.number} has applied.")
    return None


def waiting_their_turn(changes, user):
    """The inbox's side of wave_refusal: a wave no approval can get past yet is not listed."""
    earlier = Wave.objects.filter(rollout=OuterRef("wave__rollout"), number__lt=OuterRef("wave__number"), replaced=False).exclude(
        change__outcome=Change.Outcome.APPLIED
    )
    return (
        changes.exclude(wave__replaced=True)
        .exclude(wave__rollout__status__in=[status for status in Rollout.Status if status != Rollout.Status.RUNNING])
        .exclude(Exists(earlier))
    )


# --- the worker's steps ----------------------------------------------------------------------------
def read_plan(sender, run: Run, plan: dict, log, **kwargs) -> None:
    """A rollout's plan of a platform workspace: keep which of its outputs it changes (`terraform
    show -json`'s output_changes), for the readers to be planned again after it applies."""
    if not run.workspace.is_platform or not run.change_id or not Wave.objects.filter(change_id=run.change_id).exists():
        return
    names = sorted(name for name, change in (plan.get("output_changes") or {}).items() if set(change.get("actions") or []) - {"no-op"})
    if names:
        ChangedOutputs.objects.update_or_create(run=run, defaults={"names": names})
        log(f"This plan changes outputs other workspaces read ({', '.join(names)}): once it has applied, the rollout plans them again.")


def wave_settled(sender, change: Change, outcome: str, **kwargs) -> None:
    """A wave's change has ended: go on, finish, plan the readers of changed outputs again, or halt."""
    wave = Wave.objects.filter(change=change, replaced=False).first()
    if wave is None:
        return
    rollout = Rollout.objects.select_for_update().get(pk=wave.rollout_id)
    if rollout.status != Rollout.Status.RUNNING:
        return
    runs = change.runs_in_order()
    if outcome != Change.Outcome.APPLIED:
        broken = next((run for run in runs if run.status not in DONE_STATUSES), runs[0])
        why = f": {broken.error}" if broken.error else ""
        halt(rollout, wave, f"Wave {wave.number} did not apply ({broken.workspace.path}, {broken.get_status_display().lower()}{why}).")
        return
    unhealthy = next((run for run in runs if run.status == RunStatus.APPLIED_UNHEALTHY), None)
    if unhealthy is not None:
        halt(rollout, wave, f"Wave {wave.number} applied, but {unhealthy.workspace.path} did not report healthy ({unhealthy.error}).")
        return
    later = list(rollout.waves.filter(number__gt=wave.number, replaced=False).select_related("change"))
    changed = list(ChangedOutputs.objects.filter(run__in=runs).select_related("run__workspace"))
    if changed:
        plan_readers_again(rollout, wave, changed, later)
    elif not rollout.waves.filter(replaced=False).exclude(change__outcome=Change.Outcome.APPLIED).exists():
        finish(rollout)  # a plan with nothing to change settles at once, maybe before the waves ahead of it


def plan_readers_again(rollout: Rollout, wave: Wave, changed: list[ChangedOutputs], later: list[Wave]) -> None:
    """The later waves and every reader of the changed outputs, planned again in new waves."""
    names = sorted({name for outputs in changed for name in outputs.names})
    readers = readers_of([outputs.run.workspace.path for outputs in changed], Workspace.objects.all())
    again = {run.workspace_id: run.workspace for later_wave in later for run in later_wave.change.runs.select_related("workspace")}
    again.update({workspace.pk: workspace for workspace in readers})
    Wave.objects.filter(pk__in=[later_wave.pk for later_wave in later]).update(replaced=True)
    for later_wave in later:
        drop(later_wave.change, f"Planned again in a later wave: wave {wave.number} changed outputs it reads.")
    go, left_out = without_busy(again.values())
    if left_out:
        Rollout.objects.filter(pk=rollout.pk).update(left_out=rollout.left_out + left_out)
    if not go:
        finish(rollout)
        return
    try:
        plan_waves(rollout, go, rollout.proposed_by, reason=f"Reads outputs wave {wave.number} changed: {', '.join(names)}")
    except Refused as refused:
        halt(rollout, wave, f"Wave {wave.number} changed outputs ({', '.join(names)}), and their readers could not be planned again: {refused.refusal.message}")


def halt(rollout: Rollout, wave: Wave, reason: str) -> None:
    rollout.status = Rollout.Status.HALTED
    rollout.halted_because = f"{reason} {RESUME}"
    rollout.save(update_fields=["status", "halted_because"])
    for later in rollout.waves.filter(number__gt=wave.number, replaced=False).select_related("change"):
        drop(later.change, f"The rollout of {rollout.module} halted at wave {wave.number}.")
    audit.record("rollout.halt", None, rollout, wave=wave.number, reason=reason)


def drop(change: Change, reason: str) -> None:
    """A wave's plans that wait go stale; one still planning is stopped at its approval."""
    for run in locked_runs_of(change):
        if run.status in (RunStatus.QUEUED, RunStatus.AWAITING_APPROVAL):
            run.mark_stale(reason)
    advance(change)


def finish(rollout: Rollout) -> None:
    rollout.status = Rollout.Status.DONE
    rollout.finished_at = timezone.now()
    rollout.save(update_fields=["status", "finished_at"])
    audit.record("rollout.finish", None, rollout, module=rollout.module, version=rollout.sha256)


# --- resume ----------------------------------------------------------------------------------------
def resume_rollout(rollout: Rollout, user) -> Rollout:
    """Plan again, in new waves, what a halted rollout left: the workspaces still behind its version
    and those of its waves that did not apply."""
    permissions.require(permissions.roll_out(user))
    with transaction.atomic():
        rollout = Rollout.objects.select_for_update().get(pk=rollout.pk)
        if rollout.status != Rollout.Status.HALTED:
            raise Refused(Refusal("not_halted", f"Only a halted rollout is resumed; this one is {rollout.get_status_display().lower()}."))
        if version_of(rollout.module).sha256 != rollout.sha256:
            raise Refused(
                Refusal(
                    "module_changed",
                    f"infra_modules/{rollout.module} has changed since this rollout was proposed: propose a rollout of the version the portal ships now.",
                )
            )
        unapplied = list(rollout.waves.filter(replaced=False).exclude(change__outcome=Change.Outcome.APPLIED).select_related("change"))
        left = {workspace.pk: workspace for workspace in behind(rollout.module)}
        for wave in unapplied:
            for run in wave.change.runs.select_related("workspace"):
                if run.status not in DONE_STATUSES:
                    left.setdefault(run.workspace_id, run.workspace)
        Wave.objects.filter(pk__in=[wave.pk for wave in unapplied]).update(replaced=True)
        for wave in unapplied:
            drop(wave.change, "Planned again: the rollout was resumed.")
        go, left_out = without_busy(left.values())
        if not go and left_out:
            raise Refused(Refusal("all_busy", "Every workspace left has a change under way; resume once those have ended."))
        rollout.status = Rollout.Status.RUNNING
        rollout.halted_because = ""
        rollout.left_out = left_out
        rollout.save(update_fields=["status", "halted_because", "left_out"])
        if not go:
            finish(rollout)
            waves = []
        else:
            waves = plan_waves(rollout, go, user)
        audit.record("rollout.resume", user, rollout, waves=[[workspace.path for workspace in wave] for wave in waves], left_out=left_out)
    return rollout
