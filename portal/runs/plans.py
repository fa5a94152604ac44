"""Saved plans: kept in PostgreSQL (SavedPlan) so that the worker that applies needs nothing from the
one that planned, and on disk only while a terraform command reads or writes them.

A plan holds every input of the workspace in clear. On disk it lives in a folder only the portal's
user can enter, and is removed when the command is done; in the database it is deleted as soon as
its run has ended, whatever the end (applied, no changes, discarded, stale, abandoned, cancelled or
failed).
"""

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from portal.runs.models import Run, SavedPlan


def plan_path(run: Run) -> Path:
    return run.workspace.directory / ".plans" / f"{run.pk}.tfplan"


@contextmanager
def on_disk(run: Run) -> Iterator[Path]:
    """The path terraform reads or writes the run's plan at, removed when the block ends."""
    path = plan_path(run)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    path.unlink(missing_ok=True)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def store(run: Run, path: Path) -> str:
    """Keep the plan terraform wrote at `path`; return its SHA-256."""
    path.chmod(0o600)
    content = path.read_bytes()
    sha256 = hashlib.sha256(content).hexdigest()
    SavedPlan.objects.update_or_create(run=run, defaults={"content": content, "sha256": sha256})
    return sha256


def restore(run: Run, path: Path) -> bool:
    """Write the run's saved plan to `path` for terraform to apply. False when there is none, or
    when it is not byte for byte the plan that was approved."""
    saved = SavedPlan.objects.filter(run=run).first()
    if saved is None:
        return False
    content = bytes(saved.content)
    if hashlib.sha256(content).hexdigest() != run.plan_sha256:
        return False
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    return True


def delete(runs: list[Run]) -> None:
    if runs:
        SavedPlan.objects.filter(run__in=runs).delete()
