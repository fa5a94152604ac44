"""The administrators as admins see and change them: one row per AWS service type, with its IAM
user, the roles the portal assumes for it, what it may do and the workspaces that run with it.

A change of the administrators (a type added or retired, a scope changed) is a change of the
administrators workspace like any other: planned, approved by another admin, applied by the iam
administrator (portal.changes.workflow).
"""

import json
from dataclasses import dataclass, field

from portal import audit
from portal.changes.workflow import Refusal, Refused, propose
from portal.runs.models import Run
from portal.workspaces import identities
from portal.workspaces.declared import declared_administrators
from portal.workspaces.layout import administrators_variables, administrators_workspace
from portal.workspaces.models import Workspace
from portal.workspaces.paths import iam_admins_path

# The iam administrator runs the administrators' own workspace and may not widen itself: it stays,
# and its scope changes only through the bootstrap identity (see the README).
SELF_TYPE = "iam"
# The page names this many of a type's workspaces, in path order, and counts the rest.
LISTED_WORKSPACES = 10


@dataclass
class Row:
    service_type: str
    description: str
    declared: bool
    name_patterns: list[str]
    user_name: str = ""
    role_arn: str = ""
    state_role_arn: str = ""
    summary: list[str] = field(default_factory=list)
    workspaces: list[Workspace] = field(default_factory=list)
    pending: str = ""  # what the pending change does to this type

    @property
    def editable(self) -> bool:
        return self.service_type != SELF_TYPE

    @property
    def listed_workspaces(self) -> list[Workspace]:
        """The workspaces the page names; the others it counts (a type may run thousands)."""
        return self.workspaces[:LISTED_WORKSPACES]

    @property
    def unlisted_workspaces(self) -> int:
        return max(0, len(self.workspaces) - LISTED_WORKSPACES)


def applied_outputs(workspace: Workspace | None) -> dict:
    run = workspace and workspace.runs.applied().last_finished_first().first()
    return run.outputs if run else {}


def workspaces_by_type() -> dict[str | None, list[Workspace]]:
    grouped: dict[str | None, list[Workspace]] = {}
    for workspace in Workspace.objects.only("pk", "path").order_by("path"):  # what the page and the API show
        grouped.setdefault(identities.type_of(workspace.path), []).append(workspace)
    return grouped


def rows() -> tuple[list[Row], Run | None, dict[str, dict]]:
    """Every known type (declared or not), the administrators change waiting if any, and the
    administrators as declared. Only reads: showing the page changes nothing."""
    workspace = Workspace.objects.filter(path=iam_admins_path()).first()
    declared = declared_administrators()
    outputs = applied_outputs(workspace)
    made = outputs.get("administrators", {})
    documents = outputs.get("policy_documents", {})
    pending = Run.objects.active().filter(workspace=workspace).first() if workspace else None
    wanted = pending.variables.get("administrators", {}) if pending else None
    by_type = workspaces_by_type()
    result = []
    for service_type, description in identities.TYPES.items():
        current = declared.get(service_type)
        made_here = made.get(service_type, {})
        row = Row(
            service_type=service_type,
            description=description,
            declared=current is not None,
            name_patterns=list(current["name_patterns"]) if current else [],
            user_name=made_here.get("user_name", ""),
            role_arn=made_here.get("role_arn", ""),
            state_role_arn=made_here.get("state_role_arn", ""),
            summary=summarize(documents.get(service_type)),
            workspaces=by_type.get(service_type, []),
        )
        if wanted is not None:
            row.pending = pending_effect(current, wanted.get(service_type))
        result.append(row)
    return result, pending, declared


def pending_effect(current: dict | None, wanted: dict | None) -> str:
    if current is None and wanted is not None:
        return "added, scope " + ", ".join(wanted["name_patterns"])
    if current is not None and wanted is None:
        return "retired"
    if current and wanted and current["name_patterns"] != wanted["name_patterns"]:
        return "scope " + ", ".join(wanted["name_patterns"])
    return ""


def summarize(document: str | None) -> list[str]:
    """One line per statement of a policy: what it allows or denies, on what."""
    if not document:
        return []
    lines = []
    for statement in json.loads(document).get("Statement", []):
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        shown = ", ".join(actions[:4]) + (f" and {len(actions) - 4} more" if len(actions) > 4 else "")
        where = "any resource" if resources == ["*"] else ", ".join(r.split(":")[-1] for r in resources[:3])
        if len(resources) > 3:
            where += f" and {len(resources) - 3} more"
        condition = " (with conditions)" if statement.get("Condition") else ""
        lines.append(f"{statement.get('Effect', '?')} {shown} on {where}{condition}")
    return lines


def change_refusal(current: dict[str, dict], wanted: dict[str, dict]) -> Refusal | None:
    """Whether the administrators may be changed from `current` to `wanted`."""
    if wanted == current:
        return Refusal("no_change", "That is what the administrators are already; nothing to plan.")
    if SELF_TYPE not in wanted:
        return Refusal("iam_stays", "The iam administrator runs the administrators' own workspace; it cannot be retired.")
    if wanted[SELF_TYPE] != current.get(SELF_TYPE):
        return Refusal(
            "iam_scope_is_bootstrap",
            "The iam administrator may not widen itself: its scope changes only through the bootstrap identity (see the README, 'Administrators').",
        )
    retired = sorted(set(current) - set(wanted))
    by_type = workspaces_by_type() if retired else {}
    for service_type in retired:
        users = [w.path for w in by_type.get(service_type, [])]
        if users:
            shown = ", ".join(users[:3]) + (f" and {len(users) - 3} more" if len(users) > 3 else "")
            return Refusal(
                "type_in_use",
                f"The {service_type} administrator runs {shown}; retire it once no workspace runs with it.",
            )
    return None


def propose_change(user, wanted: dict[str, dict], title: str, current: dict[str, dict] | None = None) -> Run:
    """Plan the administrators as `wanted` (from `current`, the declared ones when not given);
    raises Refused when the change is not allowed."""
    current = declared_administrators() if current is None else current
    refusal = change_refusal(current, wanted)
    if refusal:
        raise Refused(refusal)
    workspace = administrators_workspace()
    change = propose(title, [(workspace, administrators_variables(wanted))], user)
    audit.record("administrators.change", user, change, before=current, after=wanted)
    return change.runs_in_order()[0]


# --- the page's three actions, and the API's -------------------------------------------------------
def not_declared(service_type: str, doing: str) -> Refusal:
    return Refusal("not_declared", f"There is no {service_type} administrator to {doing}.")


def add(user, service_type: str, name_patterns: list[str]) -> Run:
    """Plan a new administrator of `service_type` (validated by AddTypeForm: a known type not declared)."""
    declared = declared_administrators()
    wanted = {**declared, service_type: {"name_patterns": name_patterns}}
    return propose_change(user, wanted, f"Add the {service_type} administrator", current=declared)


def change_scope(user, service_type: str, name_patterns: list[str]) -> Run:
    declared = declared_administrators()
    if service_type not in declared:
        raise Refused(not_declared(service_type, "change; add it first"))
    wanted = {**declared, service_type: {"name_patterns": name_patterns}}
    return propose_change(user, wanted, f"Change the {service_type} administrator's scope", current=declared)


def retire(user, service_type: str) -> Run:
    declared = declared_administrators()
    if service_type not in declared:
        raise Refused(not_declared(service_type, "retire"))
    wanted = {t: a for t, a in declared.items() if t != service_type}
    return propose_change(user, wanted, f"Retire the {service_type} administrator", current=declared)
