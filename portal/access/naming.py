"""What a team may be called. Imports no model: the settings check the team names single sign-on's
group map gives before any model can be imported."""

from django.core.validators import RegexValidator

TEAM_NAME_MAX_LENGTH = 63
TEAM_NAME_RULE = "Lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
TEAM_NAME_PATTERN = r"^[a-z][a-z0-9-]*[a-z0-9]$"
team_name_validators = [RegexValidator(TEAM_NAME_PATTERN, TEAM_NAME_RULE)]


def is_team_name(value) -> bool:
    """Whether `value` could name a team: asked before a query, which a NUL byte would break."""
    import re

    return isinstance(value, str) and len(value) <= TEAM_NAME_MAX_LENGTH and re.fullmatch(TEAM_NAME_PATTERN[1:-1], value) is not None
