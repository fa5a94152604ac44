"""How long a run whose worker died stays "applying", against a running local stack (`bin/portal`
in another terminal, default settings: a dead worker is declared after 30 s of silence, the recovery
pass runs every 15 s).

For each way of dying, N times: register a service, approve it, and as soon as the repository's
apply runs terraform, kill
  - work-horse: the RQ work-horse only (`kill -9`, as the OOM killer does); its worker survives;
  - machine:    the work-horse, its worker and terraform at once (as a machine losing power).
Prints the time from the kill to the run marked failed, and whether the state lock was left.
`bin/portal` replaces a worker that died.

    .venv/bin/python benchmarks/worker_death.py [N]
"""

import os
import signal
import statistics
import sys
import time
import uuid
from pathlib import Path

from local_stack import user  # noqa: E402  (sets up the stack's environment and Django)

from portal.catalog.onboarding import register_service  # noqa: E402
from portal.changes.workflow import approve  # noqa: E402
from portal.platform.provisioning import wait_for  # noqa: E402
from portal.runner import locks  # noqa: E402
from portal.runs.models import Run, RunStatus  # noqa: E402


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def kill(run: Run, how: str) -> None:
    if how == "work-horse":
        os.kill(run.worker_pid, signal.SIGKILL)
        return
    worker = parent_of(run.worker_pid)
    for pid in (run.worker_pid, worker):
        os.kill(pid, signal.SIGKILL)
    os.killpg(run.terraform_pid, signal.SIGKILL)


def one(how: str, author, approver) -> tuple[float, bool]:
    name = f"death-{uuid.uuid4().hex[:8]}"
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
    wait_for(change, {RunStatus.AWAITING_APPROVAL}, 600)
    repository = change.runs_in_order()[0]
    approve(change, approver)
    deadline = time.monotonic() + 120
    while True:
        run = Run.objects.get(pk=repository.pk)
        if run.status == RunStatus.APPLYING and run.terraform_pid:
            break
        if time.monotonic() > deadline or run.status not in (RunStatus.APPROVED, RunStatus.APPLYING):
            raise SystemExit(f"the apply was not caught running terraform (it is {run.status})")
        time.sleep(0.02)
    killed = time.monotonic()
    kill(run, how)
    while Run.objects.filter(pk=run.pk, status=RunStatus.APPLYING).exists():
        time.sleep(0.1)
    elapsed = time.monotonic() - killed
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED, run.status
    time.sleep(2)
    return elapsed, locks.read(run.workspace) is not None


def main(count: int) -> None:
    author, approver = user("bench-author", "developers"), user("bench-approver", "approvers")
    for how in ("work-horse", "machine"):
        times, left = [], 0
        for _ in range(count):
            elapsed, locked = one(how, author, approver)
            times.append(elapsed)
            left += locked
            time.sleep(5)  # bin/portal replaces the dead worker
        print(
            f"{how:10} killed mid-apply -> run failed: median {statistics.median(times):5.1f} s "
            f"(min {min(times):.1f}, max {max(times):.1f}); state lock left afterwards: {left} of {count}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
