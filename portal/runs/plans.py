"""Saved plan files: where they live, who may read them, and that none outlives its run.

A plan file holds every input of the workspace in clear, so it is readable by the portal's own user
only, and deleted as soon as its run has ended, whatever the end (applied, no changes, discarded,
stale, abandoned or failed).
"""

import hashlib
from pathlib import Path

from portal.runs.models import Run


def plan_path(run: Run) -> Path:
    return run.workspace.directory / ".plans" / f"{run.pk}.tfplan"


def prepare(run: Run) -> Path:
    """The path terraform writes the plan to, in a folder only the portal's user can enter."""
    path = plan_path(run)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    return path


def seal(path: Path) -> str:
    """Make the written plan private to the portal's user; return its SHA-256."""
    path.chmod(0o600)
    return sha256_of(path)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def delete(run: Run) -> None:
    plan_path(run).unlink(missing_ok=True)
