"""Onboarding timings against a running local stack (`bin/portal` in another terminal, which starts
one worker more than the cores: three on a two-core machine).

Registers N services, waits until every plan of each is shown (the runs' own `planned_at`, review and
policy check included), approves each as a second user and waits for the apply. Beside the portal,
the same two workspaces are planned bare, one after the other, as a person in the folders would:
`terraform init && terraform plan` in fresh copies (same plugin cache and CLI config, Go's default
collector; also printed with the portal's PORTAL_TERRAFORM_GOGC). Prints the medians and the ratio
portal / bare (target <= 0.8), then `terraform init` and disk per workspace.

    .venv/bin/python benchmarks/onboarding.py [N]
    .venv/bin/python benchmarks/onboarding.py --burst [N]

`--burst` registers N services at once instead (a team's morning): the time until every plan of
every change is shown, beside N times the bare floor of one service measured in the same run
(target <= 0.6), then every change approved at once and the time until every one is applied; the
queue's length is printed while it drains.
"""

import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

# isort: off
from local_stack import lift_capacity_check, user  # noqa: E402  (first: sets up the stack's environment and Django)

# isort: on
import django_rq  # noqa: E402
from django.conf import settings  # noqa: E402
from django.utils import timezone  # noqa: E402
from rq import Worker  # noqa: E402

from portal.catalog.onboarding import register_service  # noqa: E402
from portal.changes.workflow import approve  # noqa: E402
from portal.platform.provisioning import ProvisioningFailed, wait_for  # noqa: E402
from portal.runner.terraform import Terraform, backend_config, terraform_environment  # noqa: E402
from portal.runs.models import RunStatus  # noqa: E402
from portal.workspaces.rendering import RENDERED_FILES  # noqa: E402


def disk_usage(path: Path) -> int:
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0]) * 1024


def plain_environment() -> dict[str, str]:
    """The portal's terraform environment (credentials, CLI configuration, emulator) without its tuning
    of Go's collector: terraform as a person in the folders runs it."""
    env = terraform_environment()
    env.pop("GOGC", None)
    return env


def bare_init_and_plan(workspaces, env=None) -> float:
    """`terraform init && terraform plan` of each workspace, one after the other, in fresh copies at
    the same depth as the portal's (the root module points at the module by a relative path)."""
    env = env or plain_environment()
    started = time.monotonic()
    for workspace in workspaces:
        copy = settings.STATE_DIR / "bench-bare" / workspace.path
        shutil.rmtree(copy, ignore_errors=True)
        copy.mkdir(parents=True)
        for name in RENDERED_FILES:
            shutil.copy(workspace.directory / name, copy / name)
        backend = [f"-backend-config={key}={value}" for key, value in backend_config(workspace.state_key).items()]
        subprocess.run(["terraform", "init", "-input=false", "-no-color", *backend], cwd=copy, env=env, check=True, capture_output=True)
        subprocess.run(["terraform", "plan", "-input=false", "-no-color", "-lock=true"], cwd=copy, env=env, check=True, capture_output=True)
    elapsed = time.monotonic() - started
    shutil.rmtree(settings.STATE_DIR / "bench-bare", ignore_errors=True)
    return elapsed


def shown_after(changes, registered_at) -> float:
    """Seconds from `registered_at` until the last plan of `changes` was recorded (shown), read from
    the runs' own `planned_at` rather than from when this process's polling noticed it."""
    planned = [run.planned_at for change in changes for run in change.runs.all()]
    return (max(planned) - registered_at).total_seconds()


def median_line(label: str, values: list[float]) -> str:
    return f"{label} median {statistics.median(values):6.2f} s (min {min(values):.2f}, max {max(values):.2f})"


def register(author, name: str):
    _, change = register_service(
        author,
        name=name,
        container_port=8080,
        cpu=256,
        memory=512,
        desired_count=1,
        health_check_path="/health",
        image_tag="1.0.0",
    )
    return change


def wait_all(changes, statuses, timeout: float, queue) -> float:
    """Seconds until every run of every change is in `statuses`, saying the queue's length every 10 s."""
    started, said = time.monotonic(), 0.0
    for change in changes:
        while True:
            try:
                wait_for(change, statuses, 10)
                break
            except ProvisioningFailed as exc:
                if exc.retryable or time.monotonic() - started > timeout:  # a run failed, or it is too late
                    raise
            if time.monotonic() - said >= 10:
                said = time.monotonic()
                done = sum(all(run.status in statuses for run in c.runs.all()) for c in changes)
                print(f"  {said - started:5.0f} s: {done}/{len(changes)} changes there, {len(queue)} jobs queued", flush=True)
    return time.monotonic() - started


def burst(count: int) -> None:
    author, approver = user("bench-author", "developers"), user("bench-approver", "approvers")
    lift_capacity_check()
    queue = django_rq.get_queue(settings.RQ_QUEUE)
    started, registered_at = time.monotonic(), timezone.now()
    changes = [register(author, f"bench-{uuid.uuid4().hex[:8]}") for _ in range(count)]
    registered = time.monotonic() - started
    wait_all(changes, {RunStatus.AWAITING_APPROVAL}, 1800, queue)
    to_plan = shown_after(changes, registered_at)
    floor = statistics.median(bare_init_and_plan([run.workspace for run in changes[0].runs_in_order()]) for _ in range(3))
    approved = time.monotonic()
    for change in changes:
        approve(change, approver)
    wait_all(changes, {RunStatus.APPLIED}, 3600, queue)
    to_apply = time.monotonic() - approved
    failed = sum(run.status != RunStatus.APPLIED for change in changes for run in change.runs.all())
    workers = len(Worker.all(connection=django_rq.get_connection(settings.RQ_QUEUE)))
    print(f"burst of {count} services (each: repository + service workspace, one change); workers: {workers}")
    print(f"registered, all {count}:                {registered:7.2f} s")
    print(f"register -> every plan shown:         {to_plan:7.2f} s")
    print(f"bare init && plan of one service:     {floor:7.2f} s (median of 3, same run)")
    print(f"ratio portal / (N x bare) (<= 0.6):   {to_plan / (count * floor):7.2f}")
    print(f"approve all -> every one applied:     {to_apply:7.2f} s; runs not applied: {failed}")


def main(count: int) -> None:
    author, approver = user("bench-author", "developers"), user("bench-approver", "approvers")
    lift_capacity_check()
    to_plan, bare, tuned, to_apply, inits, disks = [], [], [], [], [], []
    for _ in range(count):
        name = f"bench-{uuid.uuid4().hex[:8]}"
        registered_at = timezone.now()
        # One change: the repository and the service workspace, planned, then applied in order.
        change = register(author, name)
        wait_for(change, {RunStatus.AWAITING_APPROVAL}, 600)
        to_plan.append(shown_after([change], registered_at))
        # After the portal's plans, so that the two never compete for the cores.
        bare.append(bare_init_and_plan([run.workspace for run in change.runs_in_order()]))
        tuned.append(bare_init_and_plan([run.workspace for run in change.runs_in_order()], terraform_environment()))
        approved = time.monotonic()
        approve(change, approver)
        wait_for(change, {RunStatus.APPLIED}, 900)
        to_apply.append(time.monotonic() - approved)
        directory = change.runs_in_order()[-1].workspace.directory
        t0 = time.monotonic()
        Terraform(directory, lambda text: None).run("init", input=False)  # as the portal inits: its pinned providers
        inits.append(time.monotonic() - t0)
        disks.append(disk_usage(directory))

    ratios = [portal / plain for portal, plain in zip(to_plan, bare, strict=True)]
    print(
        f"services onboarded: {count} (each: repository + service workspace, one change); "
        f"workers: {len(Worker.all(connection=django_rq.get_connection(settings.RQ_QUEUE)))}"
    )
    print(median_line("register -> every plan shown:         ", to_plan))
    print(median_line("bare init && plan, both, sequential:  ", bare))
    print(median_line("  the same with the portal's GOGC:    ", tuned))
    print(f"ratio portal / bare (target <= 0.8):    median {statistics.median(ratios):6.2f}   (min {min(ratios):.2f}, max {max(ratios):.2f})")
    print(median_line("approve -> applied:                   ", to_apply))
    print(f"terraform init (re-run):  median {statistics.median(inits):.2f} s")
    print(f"disk per workspace:       median {statistics.median(disks) / 1024:.0f} KiB (provider is a link into the shared plugin cache)")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["--burst"]:
        burst(int(arguments[1]) if len(arguments) > 1 else 10)
    else:
        main(int(arguments[0]) if arguments else 5)
