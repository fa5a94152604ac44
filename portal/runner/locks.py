"""Terraform's state locks, as the S3 backend keeps them: a lockfile `<state key>.tflock` beside the
state (`use_lockfile`), holding who took the lock, when, and for what.

The portal reads them to show a workspace's lock, releases a lock left behind by a run whose
terraform is known to be dead, and lets an admin remove one by hand. Every release is recorded
(LockRelease): whose lock it was, who removed it and why.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from botocore.exceptions import ClientError
from django.conf import settings
from django.utils import timezone

from portal import audit
from portal.core.aws import client
from portal.runs.models import LockRelease, Run
from portal.workspaces import identities
from portal.workspaces.models import Workspace

# Clocks of the worker and of S3 may differ a little.
CLOCK_SKEW = timedelta(seconds=30)


@dataclass(frozen=True)
class StateLock:
    id: str
    operation: str
    who: str
    created: datetime | None
    version: str

    @property
    def host(self) -> str:
        return self.who.rpartition("@")[2]

    @property
    def operation_display(self) -> str:
        return self.operation.removeprefix("OperationType").lower() or "unknown"


def lockfile_key(workspace: Workspace) -> str:
    return f"{workspace.state_key}.tflock"


def state_client(workspace: Workspace):
    """S3 as the workspace's state role: the portal's own credentials only assume roles."""
    service_type = identities.type_of(workspace.path)
    return client("s3", role_arn=identities.role_arn(service_type, "state") if service_type else None)


def read(workspace: Workspace) -> StateLock | None:
    """The lock on the workspace's state, or None when there is none."""
    try:
        body = state_client(workspace).get_object(Bucket=settings.STATE_BUCKET, Key=lockfile_key(workspace))["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NoSuchBucket"):
            return None
        raise
    try:
        info = json.loads(body)
    except ValueError:
        info = {}
    return StateLock(
        id=str(info.get("ID", "")),
        operation=str(info.get("Operation", "")),
        who=str(info.get("Who", "")),
        created=parse_created(info.get("Created")),
        version=str(info.get("Version", "")),
    )


def parse_created(value) -> datetime | None:
    """Terraform writes RFC 3339 with nanoseconds; Python reads microseconds."""
    if not isinstance(value, str):
        return None
    value = re.sub(r"(\.\d{6})\d+", r"\1", value.strip())
    try:
        created = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return created if created.tzinfo else created.replace(tzinfo=timezone.utc)


def taken_by(run: Run, lock: StateLock) -> bool:
    """Whether `lock` is the one this run's terraform took: its recorded id, or else a lock taken
    from the run's worker machine while its step ran."""
    if run.lock_id:
        return lock.id == run.lock_id
    if not run.worker_host or lock.host != run.worker_host or lock.created is None or run.step_started_at is None:
        return False
    ended = run.finished_at or timezone.now()
    return run.step_started_at - CLOCK_SKEW <= lock.created <= ended + CLOCK_SKEW


def release(workspace: Workspace, lock: StateLock, *, reason: str, run: Run | None = None, user=None) -> LockRelease:
    """Remove the lock just read (callers read it right before and check whose it is); record who
    did and why."""
    state_client(workspace).delete_object(Bucket=settings.STATE_BUCKET, Key=lockfile_key(workspace))
    record = LockRelease.objects.create(
        workspace=workspace,
        run=run,
        lock_id=lock.id,
        holder=lock.who,
        operation=lock.operation_display,
        locked_at=lock.created,
        released_by=user,
        reason=reason,
    )
    audit.record(
        "lock.force_unlock" if user else "lock.release", user, workspace, lock_id=lock.id, holder=lock.who, reason=reason, run=str(run.pk) if run else None
    )
    if run is not None:
        who = user.get_username() if user else "the portal"
        run.append_log(f"\n[portal] {who} released the Terraform state lock {lock.id} ({lock.who}): {reason}\n")
    return record


def release_left_by(run: Run, reason: str) -> LockRelease | None:
    """Release the lock a run's terraform left behind, once that terraform is known to be dead."""
    lock = read(run.workspace)
    if lock is None or not taken_by(run, lock):
        return None
    return release(run.workspace, lock, reason=reason, run=run)
