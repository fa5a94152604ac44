"""Which workspaces run an older version of their module than the one the portal ships now: each
workspace's last apply (destroy aware) against the module's current digest, per module."""

from dataclasses import dataclass, field

from portal.runs.models import Run
from portal.workspaces.models import Workspace
from portal.workspaces.modules import ModuleVersion, version_of


@dataclass
class Behind:
    workspace: Workspace
    applied: str  # the digest it was applied with; "" when applied before versions were recorded


# The Platform page names this many workspaces behind a module and counts the rest: after a module's
# new version every service's workspace is behind it, and a list of them all made the page slow to
# build and to read. Roll out plans them all.
LISTED_BEHIND = 10


@dataclass
class ModuleReport:
    version: ModuleVersion
    current: int = 0  # workspaces whose last apply used this version
    behind_count: int = 0  # workspaces whose last apply used another
    behind: list[Behind] = field(default_factory=list)  # by path; only the first `listed` when asked so

    @property
    def unlisted_behind(self) -> int:
        return self.behind_count - len(self.behind)


def module_report(listed: int | None = None, module: str | None = None) -> list[ModuleReport]:
    """Every module some workspace was applied with (or `module` alone), in name order, with the
    workspaces behind it: all of them, or the first `listed` of each by path and the count of all.
    One query for every workspace's last apply, then one for the workspaces named."""
    workspaces = Workspace.objects.filter(module=module) if module else None
    last = sorted(Run.objects.last_applied_values("workspace__path", "workspace_id", "workspace__module", "module_sha256", workspaces=workspaces))
    reports: dict[str, ModuleReport] = {}
    named: list[tuple[ModuleReport, int, str]] = []
    for _, workspace_id, name, applied in last:
        if name not in reports:
            reports[name] = ModuleReport(version_of(name))
        report = reports[name]
        if applied == report.version.sha256:
            report.current += 1
            continue
        report.behind_count += 1
        if listed is None or report.behind_count <= listed:
            named.append((report, workspace_id, applied))
    workspaces = Workspace.objects.in_bulk([workspace_id for _, workspace_id, _ in named])
    for report, workspace_id, applied in named:
        report.behind.append(Behind(workspaces[workspace_id], applied))
    return [reports[name] for name in sorted(reports)]
