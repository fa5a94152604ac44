from django import forms
from django.core.exceptions import ValidationError

from portal import params
from portal.catalog import rules
from portal.catalog.models import DECLARATION_FIELDS, Service, ServiceRevision

class WholeNumberField(forms.IntegerField):
    """An integer written with the digits 0-9. Django's own field takes whatever int() takes
    (Arabic-Indic digits, '1_000', '  7 '), and int() raises on a 5000-digit string."""

    default_error_messages = {"invalid": "Enter a whole number, written with the digits 0-9."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, bool):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            if value.is_integer() and abs(value) < 10**12:
                return int(value)
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        number = params.ascii_int(value.strip(), signed=True) if isinstance(value, str) else None
        if number is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return number


class DeclarationForm(forms.ModelForm):
    """The declaration of a service: what a change may propose."""

    class Meta:
        model = ServiceRevision
        fields = DECLARATION_FIELDS
        labels = {"cpu": "CPU units", "memory": "Memory (MiB)"}
        field_classes = {name: WholeNumberField for name in ["container_port", "cpu", "memory", "desired_count"]}
        # The form field of a PositiveIntegerField has its own, vaguer, minimum message.
        error_messages = {"desired_count": {"min_value": "The desired count cannot be negative."}}


class ServiceForm(DeclarationForm):
    """Registration: a name, then the first declaration."""

    name = forms.CharField(
        max_length=rules.NAME_MAX_LENGTH,
        validators=rules.name_validators,
        help_text=Service._meta.get_field("name").help_text,
    )

    field_order = ["name", *DECLARATION_FIELDS]

    def clean_name(self):
        name = self.cleaned_data["name"]
        if Service.objects.live().filter(name=name).exists():
            raise ValidationError(rules.NAME_TAKEN, code="unique")
        return name


# A change proposes the same fields under the same rules; the name is fixed once registered.
ServiceChangeForm = DeclarationForm


class DecommissionForm(forms.Form):
    """Decommissioning is confirmed by typing the service's name."""

    confirm_name = forms.CharField(label="Type the service's name to confirm", max_length=200)

    def __init__(self, *args, service: Service, **kwargs):
        super().__init__(*args, **kwargs)
        self.service = service

    def clean_confirm_name(self):
        typed = self.cleaned_data["confirm_name"]
        if typed != self.service.name:
            raise ValidationError(f"Type {self.service.name} exactly to confirm.", code="mismatch")
        return typed
