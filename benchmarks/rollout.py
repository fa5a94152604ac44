"""A module rollout across N services on a running local stack (`bin/portal` in another terminal).

Registers N services (or reuses the ones an earlier run of this benchmark applied), then changes
`infra_modules/ecs-service` by adding one file (a `terraform_data` resource, so every plan has one
thing to add and every apply does it, on the emulator as on AWS), and rolls it out as an admin with
the waves of PORTAL_ROLLOUT_WAVES (1,5,10: 10 services go in waves of 1, 5, 4), a second admin approving
each wave as soon as it may. Prints the plans shown, the waves, and the time from the proposal to
every plan shown and to every service applied.

Then a failure in wave 2: a second version whose apply fails in one service of wave 2 (a provisioner
that exits 1); prints what the halted rollout leaves (its reason, what is still behind, the later
waves' plans) and what Resume answers once the module is fixed (a new version: propose it instead).
Last, the file is taken out again and that version rolled out, so the stack ends as it began.

    .venv/bin/python benchmarks/rollout.py [N]
"""

import sys
import time

# isort: off
from local_stack import user  # noqa: E402  (first: sets up the stack's environment and Django)

# isort: on
from django.conf import settings  # noqa: E402

from portal.capacity import usage as capacity_usage  # noqa: E402
from portal.catalog.models import Service  # noqa: E402
from portal.catalog.onboarding import register_service  # noqa: E402
from portal.changes.workflow import Refused, approve  # noqa: E402
from portal.platform.provisioning import ProvisioningFailed, wait_for  # noqa: E402
from portal.rollouts.models import Rollout  # noqa: E402
from portal.rollouts.pages import state_of  # noqa: E402
from portal.rollouts.rollout import behind, propose_rollout, resume_rollout  # noqa: E402
from portal.runs.models import APPLIED_STATUSES, Change, RunStatus  # noqa: E402

MODULE = "ecs-service"
MARKER = settings.INFRA_MODULES_DIR / MODULE / "zz_rollout_benchmark.tf"
PLANNED = {RunStatus.AWAITING_APPROVAL, RunStatus.NO_CHANGES}


def marker(version: str, fail_in: str = "") -> str:
    """One resource every plan adds; with `fail_in`, a second one whose apply fails in that service."""
    text = f'resource "terraform_data" "rollout_benchmark" {{\n  input = "{version}"\n}}\n'
    if fail_in:
        text += (
            'resource "terraform_data" "rollout_benchmark_fails" {\n'
            f'  count = var.name == "{fail_in}" ? 1 : 0\n'
            '  provisioner "local-exec" {\n    command = "exit 1"\n  }\n}\n'
        )
    return text


def services(count: int, author, approver) -> list[Service]:
    names = [f"rollout-{index:02}" for index in range(count)]
    # The default cluster places 6 tasks, and registration refuses what it cannot place
    # (portal.capacity); the emulator runs no task, and what is measured here is the rollout.
    capacity_usage.ensure_room = lambda plans: None
    existing = {service.name for service in Service.objects.filter(name__in=names)}
    # An earlier run stopped half way leaves registrations waiting: they are approved with the rest.
    changes = list(Change.objects.filter(service__name__in=existing, outcome=Change.Outcome.PENDING))
    for name in names:
        if name not in existing:
            _, change = register_service(
                author, name=name, container_port=8080, cpu=256, memory=512, desired_count=1, health_check_path="/health", image_tag="1.0.0"
            )
            changes.append(change)
    if changes:
        print(f"registering {len(changes)} services...", flush=True)
        for change in changes:
            wait_for(change, PLANNED, 900)
            approve(change, approver)
        for change in changes:
            wait_for(change, set(APPLIED_STATUSES) | {RunStatus.NO_CHANGES}, 900)
    return list(Service.objects.filter(name__in=names))


def drive(rollout: Rollout, approver, timeout: float = 1800) -> tuple[float, float]:
    """Approve each wave as soon as it may be, until the rollout is done or halted: (seconds until every
    plan of the first proposal was shown, seconds until the rollout ended)."""
    started = time.monotonic()
    all_planned = None
    while time.monotonic() - started < timeout:
        rollout.refresh_from_db()
        if rollout.status != Rollout.Status.RUNNING:
            break
        waves = list(rollout.waves.filter(replaced=False).select_related("change"))
        if all_planned is None and all(run.status not in (RunStatus.QUEUED, RunStatus.PLANNING) for wave in waves for run in wave.change.runs.all()):
            all_planned = time.monotonic() - started
            print(f"  {all_planned:6.1f} s: every plan of the {len(waves)} waves shown", flush=True)
        for wave in waves:
            change = Change.objects.get(pk=wave.change_id)
            if change.outcome == Change.Outcome.PENDING and {run.status for run in change.runs.all()} <= set(PLANNED):
                try:
                    approve(change, approver)
                    print(f"  {time.monotonic() - started:6.1f} s: wave {wave.number} approved ({change.runs.count()} services)", flush=True)
                except Refused:
                    pass  # its turn has not come
        time.sleep(0.5)
    return all_planned or 0.0, time.monotonic() - started


def describe(rollout: Rollout, approver) -> None:
    rollout.refresh_from_db()
    print(f"  status: {rollout.status}{f' ({rollout.halted_because})' if rollout.halted_because else ''}")
    for wave in rollout.waves.select_related("change"):
        counts = [(run.to_add, run.to_change, run.to_destroy) for run in wave.change.runs.all()]
        print(f"  wave {wave.number}: {len(counts)} services, plans {sorted(set(counts))} (add, change, destroy): {state_of(wave, approver)}")
    print(f"  still behind: {len(behind(MODULE))} workspaces")


def roll_out(title: str, admin, approver) -> Rollout:
    print(title, flush=True)
    proposed = time.monotonic()
    rollout = propose_rollout(MODULE, admin)
    print(f"  proposed in {time.monotonic() - proposed:.2f} s: {rollout.waves.count()} waves of {[wave.change.runs.count() for wave in rollout.waves.all()]}")
    shown, ended = drive(rollout, approver)
    describe(rollout, approver)
    print(f"  proposal to every plan shown {shown:.1f} s; to {rollout.status} {ended:.1f} s", flush=True)
    return rollout


def main(count: int) -> None:
    first_wave = settings.ROLLOUT_WAVE_SIZES[0]
    if count <= first_wave:
        # The failure is made in wave 2, which needs more services than the first wave holds.
        raise SystemExit(f"N must be more than {first_wave} (the first wave's size, PORTAL_ROLLOUT_WAVES): {count} given.")
    author, approver = user("bench-author", "developers"), user("bench-approver", "approvers")
    admin, other_admin = user("bench-admin", "admins"), user("bench-admin-2", "admins")
    made = services(count, author, approver)
    print("capacity check lifted in this process (the default cluster places 6 tasks)")
    print(f"{len(made)} services of the benchmark applied; waves {settings.ROLLOUT_WAVE_SIZES}; behind {MODULE} now: {len(behind(MODULE))}")
    try:
        MARKER.write_text(marker(str(time.time())))
        roll_out("a new version of ecs-service (one terraform_data added to each service):", admin, other_admin)

        wave_two = sorted(service.resource_name for service in made)[1]  # in path order, the first of wave 2
        MARKER.write_text(marker(str(time.time()), fail_in=wave_two))
        rollout = roll_out(f"a version whose apply fails in {wave_two} (wave 2):", admin, other_admin)
        MARKER.write_text(marker(str(time.time())))
        try:
            resume_rollout(rollout, admin)
        except Refused as refused:
            print(f"  resume after fixing the module: refused, {refused.refusal.code}: {refused.refusal.message}")
    except ProvisioningFailed as failed:
        print(f"failed: {failed}")
        raise
    finally:
        MARKER.unlink(missing_ok=True)
    roll_out("the module as it was (the benchmark's file taken out):", admin, other_admin)


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].isdigit():
        raise SystemExit(f"N is a number of services: {sys.argv[1]!r} given.")
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
