"""What a team may be called. Imports no model: the settings check the team names single sign-on's
group map gives before any model can be imported."""

from django.core.validators import RegexValidator

TEAM_NAME_MAX_LENGTH = 63
TEAM_NAME_RULE = "Lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
team_name_validators = [RegexValidator(r"^[a-z][a-z0-9-]*[a-z0-9]$", TEAM_NAME_RULE)]
