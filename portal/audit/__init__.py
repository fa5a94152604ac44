"""The audit trail: every action people (and the portal's own workers and commands) take, recorded
append-only with who, when, from where and on what.

Everything records through `record()`, called once where the action happens (the domain function
the page and the API both call), never in a view. This app is a leaf: every other app may import it,
it imports none of them.
"""

# Detail names that name a secret value: refused, so a careless call cannot store one.
SECRET_DETAIL_NAMES = ("password", "secret", "token", "key")


def names_a_secret(name: str) -> bool:
    name = name.lower()
    return any(name == word or name.endswith(f"_{word}") for word in SECRET_DETAIL_NAMES)


def record(action: str, actor=None, obj=None, **details):
    """Append one event. `actor` is the user acting (None for the portal itself); the source
    address and request id come from the request being served (portal.audit.context), and are
    null when the action came from a worker or a command. `details` must be JSON-serialisable and
    must never hold a secret's value (names such as `key` or `password` are refused)."""
    from portal.audit.models import AuditEvent
    from portal.audit.context import current_origin

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
    )
    if obj is not None:
        event.object_type = obj._meta.label_lower
        event.object_id = str(obj.pk)[: AuditEvent._meta.get_field("object_id").max_length]
        event.object_label = str(obj)[: AuditEvent._meta.get_field("object_label").max_length]
    event.save(force_insert=True)
    return event
