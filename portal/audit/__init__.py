"""The audit trail: every action people (and the portal's own workers and commands) take, recorded
append-only with who, when, from where and on what.

Everything records through `record()`, called once where the action happens (the domain function
the page and the API both call), never in a view. This app is a leaf: every other app may import it,
it imports none of them.
"""

from typing import NamedTuple

# Detail names that name a secret value: refused, so a careless call cannot store one.
SECRET_DETAIL_NAMES = ("password", "secret", "token", "key")


def names_a_secret(name: str) -> bool:
    name = name.lower()
    return any(name == word or name.endswith(f"_{word}") for word in SECRET_DETAIL_NAMES)


class ObjectRef(NamedTuple):
    """An object recorded by name when there is no row to pass (it was deleted)."""

    type: str
    id: str
    label: str


# How an object leads to its service, tried in order: a change, a run's change or workspace, a
# webhook, an override each name the service they act on through one of these.
PATHS_TO_SERVICE = ("service", "change", "workspace")


def team_of(obj, depth: int = 3) -> str:
    """The name of the team that owns what `obj` is about: a service's team, or the team of the
    service a change, a run, a workspace or a webhook belongs to; "" for the platform's and people's
    own objects. Read by attribute, so this app imports none of the apps whose objects it records."""
    if obj is None:
        return ""
    team = getattr(obj, "team", None)
    if team is not None and isinstance(getattr(team, "name", None), str):
        return team.name
    if depth == 0:
        return ""
    for name in PATHS_TO_SERVICE:
        related = getattr(obj, name, None)
        if related is not None and not isinstance(related, str | int):
            found = team_of(related, depth - 1)
            if found:
                return found
    return ""


def record(action: str, actor=None, obj=None, *, team=None, **details):
    """Append one event. `actor` is the user acting (None for the portal itself); the source
    address and request id come from the request being served (portal.audit.context), and are
    null when the action came from a worker or a command. `team` (a Team or its name) is the team
    the action concerns; by default the team owning `obj` (team_of). `details` must be
    JSON-serialisable and must never hold a secret's value (names such as `key` or `password` are
    refused)."""
    from portal.audit.context import current_origin
    from portal.audit.models import AuditEvent

    suspicious = [name for name in details if names_a_secret(name)]
    if suspicious:
        raise ValueError(f"Audit details must not hold secrets; refused: {', '.join(sorted(suspicious))}")
    origin = current_origin()
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    event = AuditEvent(
        action=action,
        actor=actor,
        actor_username=actor.get_username() if actor is not None else "",
        address=origin.address if origin else None,
        request_id=origin.request_id if origin else None,
        details=details,
        team=(getattr(team, "name", team) if team is not None else team_of(obj)) or "",
    )
    if isinstance(obj, ObjectRef):
        object_type, object_id, label = obj.type, str(obj.id), obj.label
    elif obj is not None:
        object_type, object_id, label = obj._meta.label_lower, str(obj.pk), str(obj)
    if obj is not None:
        event.object_type = object_type
        event.object_id = object_id[: AuditEvent._meta.get_field("object_id").max_length]
        event.object_label = label[: AuditEvent._meta.get_field("object_label").max_length]
    event.save(force_insert=True)
    return event
