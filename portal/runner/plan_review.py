"""A saved plan as a reviewer reads it: every resource with its action, the attributes that change
as before -> after, why a resource is replaced, and what that means for an ECS service.

Read from `terraform show -json` of the saved plan. What is stored is built here and only here:
sensitive values are masked by terraform's own marks, values not known until apply say so, and
every string goes through the log's secret masking, so the review holds nothing a log would not.
"""

import json
from dataclasses import asdict, dataclass, field

from portal.core.masking import mask_secrets, secret_values

UNKNOWN = "(known after apply)"
SENSITIVE = "(sensitive value)"
# Past this many changed attributes a resource's list ends with a pointer to the raw log.
MAX_ATTRIBUTES = 80
MAX_VALUE_CHARS = 300

ACTIONS = {
    ("create",): "create",
    ("update",): "update",
    ("delete", "create"): "replace",
    ("create", "delete"): "replace",
    ("delete",): "destroy",
    ("forget",): "forget",
}
ACTION_WORDS = {
    "create": "create",
    "update": "update in place",
    "replace": "replace",
    "destroy": "destroy",
    "forget": "forget (kept in AWS, removed from the state)",
    "move": "move (nothing changes in AWS)",
}
REASONS = {
    "replace_because_tainted": "it is tainted: an earlier apply failed part-way through creating it",
    "replace_by_request": "its replacement was requested",
    "replace_by_triggers": "a resource it is replaced with (replace_triggered_by) changes",
    "delete_because_no_resource_config": "it is no longer in the configuration",
    "delete_because_no_module": "the module that made it is no longer called",
    "delete_because_wrong_repetition": "it is no longer repeated the way it was (count or for_each)",
    "delete_because_count_index": "the count no longer reaches its index",
    "delete_because_each_key": "for_each no longer has its key",
    "delete_because_no_move_target": "it was moved to an address that does not exist",
}


@dataclass
class AttributeChange:
    path: str
    before: str | None  # None: the resource is created, there is no before
    after: str | None  # None: the resource is destroyed
    forces_replacement: bool = False


@dataclass
class ResourceChange:
    address: str
    type: str
    action: str
    reason: str = ""
    moved_from: str = ""
    attributes: list[AttributeChange] = field(default_factory=list)
    more_attributes: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def action_display(self) -> str:
        return ACTION_WORDS[self.action]


def review(plan: dict) -> list[dict]:
    """The plan's resource changes, in terraform's order, as stored on the run."""
    secrets = secret_values()
    changes = [change for entry in plan.get("resource_changes", []) if (change := resource_change(entry))]
    for change in changes:
        change.notes = ecs_notes(change)
    return [masked(asdict(change) | {"action_display": change.action_display}, secrets) for change in changes]


def resource_change(entry: dict) -> ResourceChange | None:
    change = entry.get("change", {})
    actions = tuple(change.get("actions", ()))
    moved_from = entry.get("previous_address", "")
    if actions == ("no-op",) and moved_from:
        action = "move"
    elif actions in ACTIONS:
        action = ACTIONS[actions]
    else:  # no-op, or a data source read: nothing for a reviewer to decide
        return None
    replace_paths = [render_path(path) for path in change.get("replace_paths", []) or []]
    attributes = attribute_changes(change, action, set(replace_paths))
    result = ResourceChange(
        address=entry["address"],
        type=entry.get("type", ""),
        action=action,
        reason=reason_for(entry.get("action_reason", ""), action, replace_paths),
        moved_from=moved_from,
        attributes=attributes[:MAX_ATTRIBUTES],
        more_attributes=max(0, len(attributes) - MAX_ATTRIBUTES),
    )
    return result


def changed_paths(entry: dict) -> set[str]:
    """Every attribute path a resource change of the plan changes (none for a no-op or a read), in
    the form AttributeChange.path has: what the drift check matches drifted attributes against."""
    actions = tuple(entry.get("change", {}).get("actions", ()))
    if actions not in ACTIONS:
        return set()
    return {attribute.path for attribute in attribute_changes(entry["change"], ACTIONS[actions], set())}


def reason_for(action_reason: str, action: str, replace_paths: list[str]) -> str:
    if action_reason == "replace_because_cannot_update" or (action == "replace" and not action_reason):
        if replace_paths:
            return f"{', '.join(replace_paths)} cannot be changed in place"
        return "it cannot be changed in place"
    return REASONS.get(action_reason, "")


# --- attributes ----------------------------------------------------------------------------------
def attribute_changes(change: dict, action: str, replace_paths: set[str]) -> list[AttributeChange]:
    if action in ("destroy", "forget", "move"):
        return []
    before = change.get("before") if action != "create" else None
    walked = Walk(
        before_sensitive=change.get("before_sensitive") or False,
        after_sensitive=change.get("after_sensitive") or False,
        creating=action == "create",
    )
    walked.compare("", before, change.get("after"), change.get("after_unknown") or False)
    for attribute in walked.changes:
        attribute.forces_replacement = attribute.path in replace_paths or any(
            attribute.path.startswith(path + ".") or attribute.path.startswith(path + "[") for path in replace_paths
        )
    return walked.changes


@dataclass
class Walk:
    """Walks before and after side by side, with terraform's unknown and sensitive marks, which
    have the same shape as the values (a mark on a collection covers what is inside it)."""

    before_sensitive: object
    after_sensitive: object
    creating: bool
    changes: list[AttributeChange] = field(default_factory=list)

    def compare(self, path: str, before, after, unknown, before_marks=None, after_marks=None) -> None:
        before_marks = self.before_sensitive if before_marks is None else before_marks
        after_marks = self.after_sensitive if after_marks is None else after_marks
        if unknown is True:
            self.leaf(path, before, UNKNOWN, before_marks, False)
            return
        if after_marks is True or before_marks is True:
            if before != after:
                self.leaf(path, before, after, before_marks, after_marks)
            return
        before, after = decoded(before), decoded(after)
        if isinstance(after, dict) or isinstance(before, dict):
            before_map, after_map = before if isinstance(before, dict) else {}, after if isinstance(after, dict) else {}
            # Terraform leaves values known only after apply out of `after`: their keys are in `unknown`.
            unknown_keys = set(unknown) if isinstance(unknown, dict) else set()
            for key in sorted(set(before_map) | set(after_map) | unknown_keys):
                self.compare(
                    join(path, key),
                    before_map.get(key),
                    after_map.get(key),
                    child(unknown, key),
                    child(before_marks, key),
                    child(after_marks, key),
                )
        elif is_list_of_collections(before) or is_list_of_collections(after):
            before_list, after_list = before or [], after or []
            for index in range(max(len(before_list), len(after_list))):
                self.compare(
                    f"{path}[{index}]",
                    before_list[index] if index < len(before_list) else None,
                    after_list[index] if index < len(after_list) else None,
                    child(unknown, index),
                    child(before_marks, index),
                    child(after_marks, index),
                )
        elif any_marked(unknown):  # a list of values some of which are known only after apply
            self.leaf(path, before, UNKNOWN, before_marks, False)
        elif before != after and not (is_empty(after) and (self.creating or is_empty(before))):
            self.leaf(path, before, after, before_marks, after_marks)

    def leaf(self, path: str, before, after, before_marks, after_marks) -> None:
        self.changes.append(
            AttributeChange(
                path=path or "(whole value)",
                before=None if self.creating else shown(before, any_marked(before_marks)),
                after=after if after == UNKNOWN else shown(after, any_marked(after_marks)),
            )
        )


def child(marks, key):
    """The marks for one element: a mark on a whole collection covers each of its elements."""
    if isinstance(marks, dict):
        return marks.get(key, False)
    if isinstance(marks, list):
        return marks[key] if isinstance(key, int) and key < len(marks) else False
    return marks


def any_marked(marks) -> bool:
    """Whether a mark is set anywhere in a value: one sensitive element masks the list shown whole."""
    if isinstance(marks, dict):
        return any(any_marked(mark) for mark in marks.values())
    if isinstance(marks, list):
        return any(any_marked(mark) for mark in marks)
    return marks is True


def decoded(value):
    """A JSON document held in a string attribute (a task definition's container definitions, a
    policy) is compared field by field, so `container_definitions[0].cpu 256 -> 1024` shows."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def is_list_of_collections(value) -> bool:
    return isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value)


def is_empty(value) -> bool:
    """Nothing set: terraform's "" -> null and [] -> null are the provider's normalising, not a change."""
    return value is None or value == [] or value == {} or value == ""


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else str(key)


def render_path(steps: list) -> str:
    path = ""
    for step in steps:
        path = f"{path}[{step}]" if isinstance(step, int) else join(path, step)
    return path


def shown(value, sensitive: bool) -> str:
    if sensitive:
        return SENSITIVE
    if value is None:
        return "null"
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else json.dumps(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def masked(value, secrets: list[str]):
    if isinstance(value, str):
        return mask_secrets(value, secrets)
    if isinstance(value, list):
        return [masked(item, secrets) for item in value]
    if isinstance(value, dict):
        return {key: masked(item, secrets) for key, item in value.items()}
    return value


# --- in ECS terms --------------------------------------------------------------------------------
def ecs_notes(change: ResourceChange) -> list[str]:
    """What a change means for the running service, where the resource's name alone does not say."""
    attributes = {attribute.path: attribute for attribute in change.attributes}
    notes = []
    if change.type == "aws_ecs_task_definition" and change.action == "replace":
        notes.append("New task definition revision: running tasks are replaced by tasks of the new revision")
    elif change.type == "aws_ecs_service":
        if change.action == "replace":
            notes.append("The ECS service is replaced: its tasks are stopped and started again, with downtime")
        if (count := attributes.get("desired_count")) and count.before is not None:
            notes.append(f"desired count {count.before} -> {count.after}")
        if "task_definition" in attributes and change.action == "update":
            notes.append("Rolling deployment: new tasks start and pass their health check before old ones stop")
    elif change.type == "aws_lb_target_group" and change.action == "replace":
        notes.append("New target group: the service registers its tasks in it and the listener rule moves to it")
    elif change.type == "aws_ecr_repository" and change.action in ("destroy", "replace"):
        notes.append("The repository and every image in it are deleted")
    elif change.type == "aws_autoscaling_group" and "launch_template[0].version" in attributes:
        notes.append("New launch template version: container instances are replaced by an instance refresh")
    return notes


def counts(resources: list[dict]) -> dict[str, int]:
    """How many resources each action touches, for a change's overview."""
    totals: dict[str, int] = {}
    for resource in resources:
        totals[resource["action"]] = totals.get(resource["action"], 0) + 1
    return totals
