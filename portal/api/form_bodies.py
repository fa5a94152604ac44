"""Request bodies checked by the page's own form: the same rules and the same messages on both
surfaces, and errors of the documented shape (a list of messages per field, never nested per item
as DRF's ListField would write them). The serializer's fields only describe the body in the schema."""

from rest_framework import serializers
from rest_framework.exceptions import ValidationError


def form_checked(form) -> dict:
    if not form.is_valid():
        raise ValidationError({"non_field_errors" if name == "__all__" else name: list(messages) for name, messages in form.errors.items()})
    return form.cleaned_data


class FormBody(serializers.Serializer):
    """A JSON object of the fields declared here, handed to `checked(data)` (which runs the form)."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise ValidationError({"non_field_errors": ["Send a JSON object."]})
        unknown = sorted(str(name)[:50] for name in data if name not in self.fields)
        if unknown:
            takes = ", ".join(self.fields)
            raise ValidationError({name: [f"Not a field this request takes; it takes: {takes}."] for name in unknown[:10]})
        return self.checked(data)

    def checked(self, data) -> dict:
        raise NotImplementedError
