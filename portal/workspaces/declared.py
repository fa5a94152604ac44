"""The administrators as declared: as the administrators workspace last applied them, else the
configured defaults (what the bootstrap makes). Database reads below both identities.py (which asks
which types have an administrator) and layout.py (which writes the workspaces); it imports neither.
"""

from django.conf import settings

from portal.workspaces.models import Workspace
from portal.workspaces.paths import iam_admins_path


def default_name_patterns() -> list[str]:
    # `<prefix>*`, not `<prefix>-*`: the platform's own resources are named `<prefix>` exactly (the
    # cluster, its load balancer) or `/vpc/<prefix>/...` (log groups).
    return [f"{settings.SERVICE_NAME_PREFIX}*"]


def default_administrators() -> dict[str, dict]:
    return {t: {"name_patterns": default_name_patterns()} for t in sorted(settings.IAM_ADMIN_SERVICE_TYPES)}


def declared_administrators() -> dict[str, dict]:
    """The administrators as last applied: type -> {"name_patterns": [...]}. Before the administrators
    workspace exists in this database, the configured defaults (what the bootstrap makes)."""
    workspace = Workspace.objects.filter(path=iam_admins_path()).first()
    return administrators_in(workspace, last_applied_variables(workspace) if workspace else None)


def administrators_in(workspace: Workspace | None, applied: dict | None) -> dict[str, dict]:
    """declared_administrators() from the administrators' workspace row and its last applied inputs,
    for a caller that read them already."""
    if workspace is None:
        return default_administrators()
    return (applied if applied is not None else workspace.variables).get("administrators") or default_administrators()


def last_applied_variables(workspace: Workspace) -> dict | None:
    """The inputs AWS was last brought to in this workspace, or None before its first apply or once
    its last apply destroyed it (Run.objects.last_applied). A plan with no changes settles too: AWS
    already matches those inputs."""
    # Read through the reverse relation: workspaces sit below runs and import nothing of them.
    applied = workspace.runs.last_applied()
    return applied.variables if applied else None
