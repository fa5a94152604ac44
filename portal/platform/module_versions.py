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
    run: Run


@dataclass
class ModuleReport:
    version: ModuleVersion
    current: int = 0  # workspaces whose last apply used this version
    behind: list[Behind] = field(default_factory=list)


def module_report() -> list[ModuleReport]:
    """Every module some workspace was applied with, in name order, with the workspaces behind it."""
    reports: dict[str, ModuleReport] = {}
    last = Run.objects.last_applied_per_workspace().select_related("workspace").only("pk", "module_sha256", "finished_at", "workspace")
    for run in last:
        module = run.workspace.module
        if module not in reports:
            reports[module] = ModuleReport(version_of(module))
        report = reports[module]
        if run.module_sha256 == report.version.sha256:
            report.current += 1
        else:
            report.behind.append(Behind(run.workspace, run.module_sha256, run))
    for report in reports.values():
        report.behind.sort(key=lambda item: item.workspace.path)
    return [reports[name] for name in sorted(reports)]
