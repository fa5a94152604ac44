from collections.abc import Mapping

from django.forms.models import model_to_dict
from django.urls import reverse
from rest_framework import serializers
from rest_framework.settings import api_settings

from portal.catalog.forms import ServiceChangeForm, ServiceForm
from portal.catalog.models import Service
from portal.runs.models import Run
from portal.workspaces.models import Workspace


class PlanSummarySerializer(serializers.Serializer):
    add = serializers.IntegerField()
    change = serializers.IntegerField()
    destroy = serializers.IntegerField()


class RunSerializer(serializers.ModelSerializer):
    workspace = serializers.CharField(source="workspace.path")
    state_key = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    change_id = serializers.UUIDField(allow_null=True, help_text="Runs approved together; null for the bootstrap.")
    plan = PlanSummarySerializer(
        source="plan_summary", read_only=True, allow_null=True, help_text="What the plan does; null until the plan finished."
    )
    requested_by = serializers.CharField(source="requested_by.username", allow_null=True, read_only=True)
    approved_by = serializers.CharField(source="approved_by.username", allow_null=True, read_only=True)
    log_url = serializers.SerializerMethodField(help_text="Read the log from a character offset.")

    class Meta:
        model = Run
        fields = [
            "id", "kind", "status", "status_display", "workspace", "state_key", "change_id", "plan", "error",
            "requested_by", "approved_by", "created_at", "started_at", "planned_at", "approved_at",
            "finished_at", "log_url",
        ]

    def get_log_url(self, run) -> str:
        return reverse("api:run-log", kwargs={"pk": run.pk}) + "?offset=0"


class RunLogSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Run._meta.get_field("status").choices)
    active = serializers.BooleanField(help_text="True while the run may still write to its log.")
    text = serializers.CharField(help_text="The log from the requested offset on.")
    next_offset = serializers.IntegerField(help_text="Pass as `offset` to read only what follows.")


class WorkspaceSerializer(serializers.ModelSerializer):
    state_key = serializers.CharField()
    latest_run = RunSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Workspace
        fields = ["path", "module", "state_key", "latest_run"]


class FormValidated:
    """Validates the body with the web form, so the API and the pages accept and refuse exactly the
    same input with the same messages. The serializer's fields describe the body in the schema."""

    form_class = None
    required_fields: list[str] = []

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: ["Send a JSON object."]})
        writable = {name for name, field in self.fields.items() if not field.read_only}
        missing = [name for name in self.required_fields if name not in data]
        if missing:
            raise serializers.ValidationError({name: ["This field is required."] for name in missing})
        form = self.make_form({name: value for name, value in data.items() if name in writable})
        if not form.is_valid():
            raise serializers.ValidationError(
                {api_settings.NON_FIELD_ERRORS_KEY if name == "__all__" else name: list(messages) for name, messages in form.errors.items()}
            )
        return {name: value for name, value in form.cleaned_data.items() if name in writable}

    def make_form(self, data):
        if self.instance is None:
            return self.form_class(data)
        # Fields left out keep their current values; the form works on a copy, not the instance.
        current = model_to_dict(self.instance, fields=self.form_class._meta.fields)
        return self.form_class({**current, **data}, instance=Service.objects.get(pk=self.instance.pk))


class ServiceSerializer(FormValidated, serializers.ModelSerializer):
    """The declaration (validated by the registration form) and what the portal made of it."""

    form_class = ServiceForm
    url = serializers.CharField(source="applied_url", read_only=True, allow_null=True, help_text="Where the load balancer routes to the service; null until applied.")
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    workspaces = WorkspaceSerializer(many=True, read_only=True)

    class Meta:
        model = Service
        fields = [
            "name", "container_port", "cpu", "memory", "desired_count", "health_check_path", "image_tag",
            "url", "created_by", "created_at", "updated_at", "workspaces",
        ]


class ServiceChangeSerializer(FormValidated, serializers.ModelSerializer):
    """What PATCH may change; the image tag changes through a deployment, the name never."""

    form_class = ServiceChangeForm
    refused = {
        "name": "The name is fixed once registered: it names the service's AWS resources.",
        "image_tag": "Deploy a tag with POST /api/v1/services/{name}/deployments/.",
    }

    class Meta:
        model = Service
        fields = ["container_port", "cpu", "memory", "desired_count", "health_check_path"]
        extra_kwargs = {name: {"required": False} for name in fields}

    def to_internal_value(self, data):
        if isinstance(data, Mapping) and self.refused.keys() & data.keys():
            raise serializers.ValidationError({name: [self.refused[name]] for name in self.refused.keys() & data.keys()})
        return super().to_internal_value(data)


class DeploymentSerializer(FormValidated, serializers.ModelSerializer):
    """A deployment is a change of the image tag, checked by the same form as any change."""

    form_class = ServiceChangeForm
    required_fields = ["image_tag"]

    class Meta:
        model = Service
        fields = ["image_tag"]


class QueuedSerializer(serializers.Serializer):
    """The answer to a request that queued plans: the service and the runs queued (none when
    nothing changed)."""

    service = ServiceSerializer()
    runs = RunSerializer(many=True)
