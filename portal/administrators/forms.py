import re

from django import forms

from portal.core.forms import NoSilentTruncation
from portal.workspaces import identities

PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\*?$")
MAX_PATTERNS = 10


class ScopeField(forms.CharField):
    """Resource name patterns, separated by commas or spaces: `art-service-*`, `legacy-billing`."""

    def clean(self, value):
        value = super().clean(value)
        patterns = [p for p in re.split(r"[\s,]+", value.strip()) if p]
        if not patterns:
            raise forms.ValidationError("Give at least one name pattern, such as art-service-*.")
        if len(patterns) > MAX_PATTERNS:
            raise forms.ValidationError(f"At most {MAX_PATTERNS} name patterns.")
        bad = [p for p in patterns if not PATTERN.match(p)]
        if bad:
            raise forms.ValidationError(
                f"Not a name pattern: {', '.join(bad[:3])}. A pattern is lowercase letters, digits and hyphens "
                "(at most 63), starting with a letter or digit, optionally ending with a single *."
            )
        if len(set(patterns)) != len(patterns):
            raise forms.ValidationError("A name pattern is given twice.")
        return patterns


class ScopeForm(NoSilentTruncation, forms.Form):
    name_patterns = ScopeField(max_length=800, help_text="Names of the resources it may manage, separated by commas, e.g. art-service-*.")


class AddTypeForm(ScopeForm):
    service_type = forms.ChoiceField(label="Service type")

    def __init__(self, *args, declared=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service_type"].choices = [(key, f"{key}: {description}") for key, description in identities.TYPES.items() if key not in declared]


class RetireForm(NoSilentTruncation, forms.Form):
    confirm = forms.BooleanField(required=True, error_messages={"required": "Tick the box to confirm that this administrator goes."})
