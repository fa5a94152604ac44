"""The cost settings, checked when the settings load (portal/settings.py): an assumption misspelt
would otherwise be ignored and the estimate silently priced at the default."""

from django.core.exceptions import ImproperlyConfigured

from portal.core import setting_readers as read
from portal.costs.estimate import ASSUMPTION_LABELS, DEFAULT_ASSUMPTIONS


def cost_assumptions(name: str) -> dict:
    """PORTAL_COST_ASSUMPTIONS: a JSON object overriding some of DEFAULT_ASSUMPTIONS, each a number >= 0."""
    given = read.json_mapping(name, example='{"nat_gb_per_month": 500, "alb_lcus": 2}', why="What the estimate assumes of traffic and data.")
    known = ", ".join(f"{key} ({label})" for key, label in ASSUMPTION_LABELS.items())
    for key, value in given.items():
        if key not in DEFAULT_ASSUMPTIONS:
            raise ImproperlyConfigured(f"{name} has {key!r}, which is not an assumption of the estimate; it takes {known}.")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ImproperlyConfigured(f"{name}'s {key} must be a number, at least 0 (got {value!r}).")
    return {**DEFAULT_ASSUMPTIONS, **given}
