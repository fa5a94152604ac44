"""Onboarding timings against a running local stack (`bin/portal` in another terminal).

Registers N services, waits for each plan, approves each as a second user and waits for the apply.
Prints: form save -> plan shown, approve -> applied, `terraform init` per workspace, disk per workspace.

    .venv/bin/python benchmarks/onboarding.py [N]
"""

import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
from portal.local_services import local_environment  # noqa: E402

for name, value in local_environment().items():
    os.environ.setdefault(name, value)

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402

from portal.catalog.onboarding import register_service  # noqa: E402
from portal.runs.models import RunStatus  # noqa: E402
from portal.runs.platform import wait_for  # noqa: E402
from portal.runs.workflow import approve  # noqa: E402
from portal.runs.terraform import terraform_environment  # noqa: E402


def user(name, group):
    account, _ = User.objects.get_or_create(username=name)
    account.groups.add(Group.objects.get(name=group))
    return account


def disk_usage(path: Path) -> int:
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0]) * 1024


def main(count: int) -> None:
    author, approver = user("bench-author", "developers"), user("bench-approver", "approvers")
    to_plan, to_apply, inits, disks = [], [], [], []
    for _ in range(count):
        name = f"bench-{uuid.uuid4().hex[:8]}"
        started = time.monotonic()
        # One change: the repository and the service workspace, planned, then applied in order.
        _, change = register_service(
            author, name=name, container_port=8080, cpu=256, memory=512, desired_count=1,
            health_check_path="/health", image_tag="1.0.0",
        )
        wait_for(change, {RunStatus.AWAITING_APPROVAL}, 600)
        to_plan.append(time.monotonic() - started)
        approved = time.monotonic()
        approve(change, approver)
        wait_for(change, {RunStatus.APPLIED}, 900)
        to_apply.append(time.monotonic() - approved)
        directory = change.runs_in_order()[-1].workspace.directory
        t0 = time.monotonic()
        subprocess.run(["terraform", "init", "-input=false", "-no-color"], cwd=directory,
                       env=terraform_environment(), check=True, capture_output=True)
        inits.append(time.monotonic() - t0)
        disks.append(disk_usage(directory))

    print(f"services onboarded: {count} (each: repository + service workspace, one change)")
    print(f"form saved -> plan shown: median {statistics.median(to_plan):.2f} s "
          f"(min {min(to_plan):.2f}, max {max(to_plan):.2f})")
    print(f"approve -> applied:       median {statistics.median(to_apply):.2f} s "
          f"(min {min(to_apply):.2f}, max {max(to_apply):.2f})")
    print(f"terraform init (re-run):  median {statistics.median(inits):.2f} s")
    print(f"disk per workspace:       median {statistics.median(disks) / 1024:.0f} KiB "
          "(provider is a link into the shared plugin cache)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
