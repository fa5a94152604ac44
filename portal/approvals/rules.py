"""How many approvals a change needs, decided from its saved plans (`terraform show -json`) under
the written approval policy (PORTAL_APPROVAL_POLICY). Pure: a plan and the policy in, facts and a
decision out; nothing here reads the database or the form the change came from."""

import json
import re
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from portal.core import setting_readers as read

REPLACE = {("create", "delete"), ("delete", "create")}
RESOURCE_TYPE = re.compile(r"^aws_[a-z0-9_]+$")
# A service's deploy of a new image: its task definition is replaced (a revision is immutable) and
# the service is updated to run it. Nothing else of a plan may change for it to count as one.
TASK_DEFINITION, SERVICE = "aws_ecs_task_definition", "aws_ecs_service"


@dataclass(frozen=True)
class Policy:
    image_deploys: int  # approvals an image-only deploy needs after a healthy deploy: 0 or 1
    two_approvals_for: frozenset[str]  # resource types whose destroy or replacement needs two
    ended_environments: int = 1  # approvals the portal's decommission of a service at its end needs: 0 or 1

    def as_text(self) -> list[str]:
        lines = []
        if self.ended_environments == 0:
            lines.append(
                "No approval for the decommission the portal proposes when a service registered with an end reaches it: "
                "its team chose the end when they registered it, and were told a while before."
            )
        if self.two_approvals_for:
            lines.append(f"Two approvals, from two people, for a change that destroys or replaces any of: {', '.join(sorted(self.two_approvals_for))}.")
        if self.image_deploys == 0:
            lines.append(
                "No approval for an image-only deploy of a service whose last deploy was healthy: a plan that only "
                "replaces the task definition with one that differs in its images, and updates the service to run it. "
                "The portal approves it under its own name; the proposer never does."
            )
        lines.append("One approval, from someone other than the proposer, for anything else.")
        return lines


DEFAULT_POLICY = Policy(image_deploys=1, two_approvals_for=frozenset())


def approval_policy(name: str) -> Policy:
    """PORTAL_APPROVAL_POLICY: {"image_deploys": 0 or 1, "two_approvals_for": ["aws_...", ...]}."""
    given = read.json_mapping(
        name,
        example='{"image_deploys": 0, "two_approvals_for": ["aws_ecr_repository", "aws_lb"]}',
        why="How many approvals a change needs.",
    )
    unknown = set(given) - {"image_deploys", "two_approvals_for", "ended_environments"}
    if unknown:
        named = ", ".join(sorted(map(repr, unknown)))
        raise ImproperlyConfigured(f"{name} has {named}; it takes image_deploys (0 or 1), two_approvals_for (resource types) and ended_environments (0 or 1).")
    counts = {}
    for key in ("image_deploys", "ended_environments"):
        counts[key] = given.get(key, getattr(DEFAULT_POLICY, key))
        if isinstance(counts[key], bool) or counts[key] not in (0, 1):
            raise ImproperlyConfigured(f"{name}'s {key} must be 0 or 1 (got {counts[key]!r}).")
    types = given.get("two_approvals_for", [])
    if not isinstance(types, list) or not all(isinstance(t, str) and RESOURCE_TYPE.match(t) for t in types):
        raise ImproperlyConfigured(f'{name}\'s two_approvals_for must be a list of AWS resource types such as "aws_ecr_repository" (got {types!r}).')
    return Policy(image_deploys=counts["image_deploys"], two_approvals_for=frozenset(types), ended_environments=counts["ended_environments"])


# --- a plan's facts ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanFacts:
    removed: tuple[tuple[str, str, str], ...]  # (address, type, "destroy" or "replace")
    image_only: bool  # the plan deploys new images and changes nothing else

    def as_json(self) -> dict:
        return {"removed": [list(entry) for entry in self.removed], "image_only": self.image_only}

    @classmethod
    def from_json(cls, data: dict) -> "PlanFacts":
        return cls(removed=tuple(tuple(entry) for entry in data.get("removed", [])), image_only=bool(data.get("image_only")))


def facts_of(plan: dict) -> PlanFacts:
    changes = [entry for entry in plan.get("resource_changes") or [] if set(actions_of(entry)) - {"no-op", "read"}]
    removed = []
    for entry in changes:
        actions = actions_of(entry)
        if tuple(actions) in REPLACE:
            removed.append((entry["address"], entry.get("type", ""), "replace"))
        elif "delete" in actions:
            removed.append((entry["address"], entry.get("type", ""), "destroy"))
    return PlanFacts(removed=tuple(removed), image_only=image_only(changes))


def actions_of(entry: dict) -> list[str]:
    return list((entry.get("change") or {}).get("actions") or [])


def image_only(changes: list[dict]) -> bool:
    """Every change is a task definition replaced by one that differs only in its containers' images
    (at least one of them), or a service updated only to run it."""
    if not changes:
        return False
    definitions = [entry for entry in changes if entry.get("type") == TASK_DEFINITION and tuple(actions_of(entry)) in REPLACE]
    services = [entry for entry in changes if entry.get("type") == SERVICE and actions_of(entry) == ["update"]]
    if len(definitions) + len(services) != len(changes) or not definitions:
        return False
    return all(only_images_differ(entry["change"]) for entry in definitions) and all(changed_keys(entry["change"]) <= {"task_definition"} for entry in services)


def changed_keys(change: dict, *, unknown_is_change: bool = True) -> set[str]:
    """The top-level attributes a change sets to another value, or (`unknown_is_change`) to one known
    only after apply. Empty and null are the same value: the provider reads back "" or [] for what the
    configuration leaves unset, and plans null for it."""
    before, after = change.get("before") or {}, change.get("after") or {}
    unknown = change.get("after_unknown") or {}
    changed = set()
    for key in set(before) | set(after) | set(unknown):
        if holds_true(unknown.get(key)):
            if unknown_is_change:
                changed.add(key)
        elif normal(before.get(key)) != normal(after.get(key)):
            changed.add(key)
    return changed


def holds_true(marks) -> bool:
    """Whether an after_unknown entry marks anything unknown: True, or True somewhere inside the
    lists and objects it mirrors (`[{}]`, `[False]` mark nothing)."""
    if isinstance(marks, dict):
        return any(holds_true(value) for value in marks.values())
    if isinstance(marks, list):
        return any(holds_true(value) for value in marks)
    return marks is True


def normal(value):
    """The value with empty strings, lists and objects (and null) dropped, recursively."""
    if isinstance(value, dict):
        kept = {key: normal(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item is not None} or None
    if isinstance(value, list):
        return [normal(item) for item in value] or None
    return None if value == "" else value


def only_images_differ(change: dict) -> bool:
    # A replaced task definition's attributes known only after apply are the ones AWS assigns (arn,
    # revision) or computes for what the configuration leaves unset: the configuration has not
    # changed them, and anything that feeds them from another resource changes that resource too.
    if changed_keys(change, unknown_is_change=False) != {"container_definitions"}:
        return False
    before, after = containers(change.get("before")), containers(change.get("after"))
    if before is None or after is None or len(before) != len(after):
        return False
    images_changed = [b.get("image") != a.get("image") for b, a in zip(before, after, strict=True)]
    without_images = all(normal(strip_image(b)) == normal(strip_image(a)) for b, a in zip(before, after, strict=True))
    return without_images and any(images_changed)


def containers(values: dict | None) -> list[dict] | None:
    text = (values or {}).get("container_definitions")
    if not isinstance(text, str):  # unknown until apply: not provably an image deploy
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    if not isinstance(parsed, list) or not all(isinstance(item, dict) for item in parsed):
        return None
    return sorted(parsed, key=lambda item: str(item.get("name")))


def strip_image(container: dict) -> dict:
    return {key: value for key, value in container.items() if key != "image"}


# --- the decision -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    approvals: int
    rule: str  # "environment_ended", "two_approvals", "image_deploy" or "one_approval"
    reason: str


def decide(policy: Policy, plans: list[PlanFacts], *, image_deploy_allowed: str | None, environment_ended: str | None = None) -> Decision:
    """`plans`: the facts of the change's plans that change something. `image_deploy_allowed`: None
    when the change may go without approval if its plans are image-only (a service's deploy whose last
    deploy was healthy); otherwise why not. `environment_ended`: for the portal's decommission of a
    service at its end, that end; None for any other change."""
    if environment_ended is not None and policy.ended_environments == 0:
        return Decision(0, "environment_ended", f"The portal's decommission of a service registered to end {environment_ended}.")
    flagged = [(address, action) for facts in plans for address, type_, action in facts.removed if type_ in policy.two_approvals_for]
    if flagged:
        shown = ", ".join(f"{address} ({action})" for address, action in flagged[:5])
        more = f" and {len(flagged) - 5} more" if len(flagged) > 5 else ""
        return Decision(2, "two_approvals", f"It destroys or replaces what the policy guards: {shown}{more}.")
    if policy.image_deploys == 0 and plans and all(facts.image_only for facts in plans):
        if image_deploy_allowed is None:
            return Decision(0, "image_deploy", "An image-only deploy (the task definition replaced, the service updated) after a healthy deploy.")
        return Decision(1, "one_approval", f"An image-only deploy, but {image_deploy_allowed}.")
    return Decision(1, "one_approval", "Any change not named by the policy.")
