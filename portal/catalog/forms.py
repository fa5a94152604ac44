from django import forms

from portal.catalog.models import Service


class ServiceForm(forms.ModelForm):
    class Meta:
        model = Service
        fields = ["name", "container_port", "cpu", "memory", "desired_count", "health_check_path", "image_tag"]
        labels = {"cpu": "CPU units", "memory": "Memory (MiB)"}
        # The form field of a PositiveIntegerField has its own, vaguer, minimum message.
        error_messages = {"desired_count": {"min_value": "The desired count cannot be negative."}}


class ServiceChangeForm(ServiceForm):
    """The same fields and rules; the name is fixed once registered (it names AWS resources)."""

    class Meta(ServiceForm.Meta):
        fields = [f for f in ServiceForm.Meta.fields if f != "name"]
