"""How a rollout orders its workspaces and groups them into waves. Pure: workspaces in (anything with
`path`, `is_platform` and `variables`), lists out; nothing here reads the database.

A workspace reads another's outputs through `terraform_remote_state` on the state key it is given in
a variable named `*_state_key` (portal/workspaces/roots/): those variables are the dependency graph,
so a new reader is ordered right the day its root names the key."""

from collections.abc import Iterable, Sequence
from typing import Protocol

from portal.workspaces.paths import state_key


class Placed(Protocol):
    path: str
    is_platform: bool
    variables: dict


def reads(workspace: Placed) -> set[str]:
    """The state keys whose outputs the workspace reads."""
    return {value for name, value in (workspace.variables or {}).items() if name.endswith("_state_key") and isinstance(value, str)}


def readers_of(paths: Iterable[str], workspaces: Iterable[Placed]) -> list[Placed]:
    """The workspaces that read the outputs of any workspace at `paths`, in path order."""
    keys = {state_key(path) for path in paths}
    return sorted((workspace for workspace in workspaces if reads(workspace) & keys), key=lambda workspace: workspace.path)


def in_dependency_order(workspaces: Iterable[Placed]) -> list[Placed]:
    """Platform workspaces first, each after the ones whose outputs it reads (then by path); the
    services after them, by path. A cycle cannot be applied in any order: it is an error."""
    workspaces = list(workspaces)
    platform = {workspace.path: workspace for workspace in workspaces if workspace.is_platform}
    ordered: list[Placed] = []
    pending = set(platform)
    while pending:
        unapplied = {state_key(path) for path in pending}
        ready = sorted(path for path in pending if not reads(platform[path]) & (unapplied - {state_key(path)}))
        if not ready:
            raise ValueError(f"These workspaces read each other's outputs: {', '.join(sorted(pending))}")
        pending.discard(ready[0])
        ordered.append(platform[ready[0]])
    return ordered + sorted((workspace for workspace in workspaces if not workspace.is_platform), key=lambda workspace: workspace.path)


def into_waves(workspaces: Sequence[Placed], sizes: Sequence[int]) -> list[list[Placed]]:
    """Waves in order: each platform workspace alone (another may read what it outputs, so it
    applies before the next plans), then the services in waves of `sizes`, the last size repeated
    for the rest. `workspaces` in dependency order."""
    if not sizes or any(size < 1 for size in sizes):
        raise ValueError("Wave sizes are whole numbers of at least 1.")
    waves = [[workspace] for workspace in workspaces if workspace.is_platform]
    services = [workspace for workspace in workspaces if not workspace.is_platform]
    start = 0
    for index in range(len(services)):
        if start >= len(services):
            break
        size = sizes[min(index, len(sizes) - 1)]
        waves.append(list(services[start : start + size]))
        start += size
    return waves
