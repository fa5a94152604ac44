"""Provisioning the shared platform: the state bucket, then network, cluster and IAM administrators.

Each platform workspace reads the outputs of the ones before it, so each is planned only after the
previous one is applied: one change per workspace, in order.
"""

import time

from portal.runs.bootstrap import bootstrap_administrators, bootstrap_state_bucket
from portal.runs.models import Change, RunStatus
from portal.runs.workflow import approve, propose
from portal.workspaces.layout import sync_platform_workspaces
from portal.workspaces.models import Workspace


class ProvisioningFailed(Exception):
    pass


def wait_for(change: Change, statuses: set[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        runs = list(change.runs.all())
        if all(run.status in statuses for run in runs):
            return
        failed = [run for run in runs if run.status in (RunStatus.FAILED, RunStatus.STALE, RunStatus.DISCARDED, RunStatus.ABANDONED)]
        if failed:
            raise ProvisioningFailed(f"{failed[0].workspace.path}: {failed[0].error} (run {failed[0].pk})")
        settled = [run for run in runs if run.status not in (RunStatus.QUEUED, RunStatus.PLANNING, RunStatus.APPROVED, RunStatus.APPLYING)]
        if len(settled) == len(runs):
            found = ", ".join(f"{run.workspace.path}: {run.status}" for run in runs)
            raise ProvisioningFailed(f"{change} settled elsewhere than {sorted(statuses)}: {found}")
        if time.monotonic() > deadline:
            raise ProvisioningFailed(f"{change} did not finish within {timeout:.0f}s")
        time.sleep(0.5)


def plan_and_apply(workspace: Workspace, requester, approver, *, destroy=False, timeout=900) -> Change:
    """Plan one workspace, approve it as `approver` and wait until it is applied (or unchanged)."""
    verb = "Destroy" if destroy else "Provision"
    change = propose(f"{verb} {workspace.path}", [(workspace, workspace.variables)], requester, destroy=destroy)
    wait_for(change, {RunStatus.AWAITING_APPROVAL, RunStatus.NO_CHANGES}, timeout)
    if change.runs.filter(status=RunStatus.AWAITING_APPROVAL).exists():
        approve(change, approver)
        wait_for(change, {RunStatus.APPLIED}, timeout)
    return change


def provision_platform(requester, approver, timeout=900) -> list[Change]:
    """Bring the whole platform up to date; needs a running worker. Idempotent."""
    bootstrap_state_bucket(requester)
    bootstrap_administrators(requester)
    return [plan_and_apply(ws, requester, approver, timeout=timeout) for ws in sync_platform_workspaces()]


def destroy_platform(requester, approver, timeout=900) -> list[Change]:
    """Destroy the cluster, network and workload roles. Not the state bucket (prevent_destroy), nor
    the administrators: the iam administrator cannot remove itself, and every run needs them."""
    workspaces = list(reversed(sync_platform_workspaces()))[:-1]
    return [plan_and_apply(ws, requester, approver, destroy=True, timeout=timeout) for ws in workspaces]
