"""What AWS was last brought to in some workspaces, read in one query whatever their number."""

from dataclasses import dataclass
from functools import lru_cache

import hcl2
from django.conf import settings
from django.db.models import OuterRef, Subquery

from portal.runs.models import Run
from portal.workspaces.models import Workspace


@dataclass(frozen=True)
class Applied:
    """A workspace as last applied: the inputs AWS matches and the outputs of its last apply."""

    variables: dict
    outputs: dict


def last_applied(workspaces: list[Workspace]) -> dict[int, Applied]:
    """Workspace id -> how it was last applied; a workspace never applied, or destroyed since, is absent.

    The inputs are those of the last run that settled (applied, or planned with no changes, which
    says AWS already matched them: Run.objects.last_applied_per_workspace); the outputs are
    those of the last apply, since a plan with no changes records none."""
    applies = Run.objects.filter(workspace=OuterRef("workspace")).applied().last_finished_first()
    runs = (
        Run.objects.last_applied_per_workspace(Workspace.objects.filter(pk__in=[w.pk for w in workspaces]))
        .annotate(applied_outputs=Subquery(applies.values("outputs")[:1]))
        .only("workspace_id", "kind", "variables")
    )
    return {run.workspace_id: Applied(variables=run.variables, outputs=run.applied_outputs or {}) for run in runs}


@lru_cache
def module_defaults(module: str) -> dict:
    """The defaults of a shared module's variables: what a workspace gets for each variable its root
    module does not set (the cluster's instance counts, the VPC's range). Read once per process."""
    with open(settings.INFRA_MODULES_DIR / module / "variables.tf") as handle:
        blocks = hcl2.load(handle)["variable"]
    return {name.strip('"'): unquoted(spec["default"]) for block in blocks for name, spec in block.items() if "default" in spec}


def unquoted(value):
    """python-hcl2 keeps a string literal's quotes, in lists too; numbers and booleans come back as themselves."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, list):
        return [unquoted(item) for item in value]
    return value
