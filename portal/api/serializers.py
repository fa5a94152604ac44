from collections.abc import Mapping

from django.db import models
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from portal.audit.models import AuditEvent
from portal.catalog.forms import ServiceChangeForm, ServiceForm
from portal.catalog.models import DECLARATION_FIELDS, Lifecycle, Service, ServiceRevision
from portal.costs.policy import cost_of
from portal.policy.checks import policy_of
from portal.policy.models import REASON_MIN_LENGTH
from portal.runs.models import Run
from portal.workspaces.models import Workspace


def diff_as_json(revision) -> list[dict]:
    """A revision's diff as FieldChangeSerializer documents it, built directly: listings hold many,
    and a serializer per diff costs more than the rest of a service's representation."""
    if revision is None:
        return []
    return [{"field": c.field, "old": c.old, "new": c.new, "text": str(c)} for c in revision.diff()]


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.JSONField(allow_null=True, help_text="Null when the field had no value before (a registration).")
    new = serializers.JSONField()
    text = serializers.CharField(source="__str__", help_text="e.g. `cpu 256 -> 1024`")


class PlanSummarySerializer(serializers.Serializer):
    add = serializers.IntegerField()
    change = serializers.IntegerField()
    destroy = serializers.IntegerField()


class WorkerSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="worker_name", help_text="The RQ worker's name.")
    host = serializers.CharField(source="worker_host")
    pid = serializers.IntegerField(source="worker_pid", allow_null=True, help_text="Its work-horse process.")

    class Meta:
        model = Run
        fields = ["name", "host", "pid", "heartbeat_at"]


class IdentitySerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="identity_type", allow_null=True, help_text="The workspace's AWS service type.")
    role_arn = serializers.CharField(allow_null=True, help_text="The role the AWS provider assumed.")
    session_name = serializers.CharField(allow_null=True, help_text="The session name CloudTrail shows for its calls.")
    description = serializers.CharField(source="acted_as")

    class Meta:
        model = Run
        fields = ["type", "role_arn", "session_name", "description"]

    def to_representation(self, run):
        data = super().to_representation(run)
        return {name: value or None if name != "description" else value for name, value in data.items()}


class PolicyFindingSerializer(serializers.Serializer):
    check_id = serializers.CharField()
    check_name = serializers.CharField()
    resource_address = serializers.CharField()
    severity = serializers.ChoiceField(choices=["LOW", "MEDIUM", "HIGH", "CRITICAL"], help_text="The portal's mapping, not checkov's.")
    blocking = serializers.BooleanField()
    guideline = serializers.CharField(allow_blank=True)


class PolicyOverrideSerializer(serializers.Serializer):
    by = serializers.CharField(source="by_username")
    reason = serializers.CharField()
    at = serializers.DateTimeField()
    check_ids = serializers.ListField(child=serializers.CharField(), help_text="The blocking checks it overrode.")


class PolicySerializer(serializers.Serializer):
    findings = PolicyFindingSerializer(many=True)
    blocking = serializers.IntegerField(help_text="Findings that block approval until overridden.")
    override = PolicyOverrideSerializer(allow_null=True, help_text="The change's override, if an approver wrote one.")


class CostOverrideSerializer(serializers.Serializer):
    by = serializers.CharField(source="by_username")
    reason = serializers.CharField()
    at = serializers.DateTimeField()
    increase = serializers.CharField(help_text="The monthly increase it let through, as shown then ('unknown' when unpriced).")


class CostSerializer(serializers.Serializer):
    """The plan's monthly estimate (USD): null amounts when it could not be priced (`error` says why)."""

    before = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True, source="estimate.before")
    after = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True, source="estimate.after")
    difference = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True, source="estimate.difference")
    error = serializers.CharField(source="estimate.error", help_text="Why the plan could not be priced; empty when it was.")
    detail = serializers.JSONField(
        source="estimate.detail", help_text="Per resource: before, after and how it was priced; the table's region and date; the assumptions."
    )
    override = CostOverrideSerializer(allow_null=True, help_text="An admin's lifting of the cost policy's hold on the change.")


class PolicyOverrideRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(min_length=REASON_MIN_LENGTH, help_text="Why the blocking findings are acceptable; recorded and shown.")


class RunSerializer(serializers.ModelSerializer):
    workspace = serializers.CharField(source="workspace.path")
    state_key = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    change_id = serializers.UUIDField(allow_null=True, help_text="Runs approved together; null for the bootstrap.")
    plan = PlanSummarySerializer(source="plan_summary", read_only=True, allow_null=True, help_text="What the plan does; null until the plan finished.")
    requested_by = serializers.CharField(source="requested_by.username", allow_null=True, read_only=True)
    approved_by = serializers.CharField(source="approved_by.username", allow_null=True, read_only=True)
    log_url = serializers.SerializerMethodField(help_text="Read the log from a character offset.")
    cancelled_by = serializers.CharField(source="cancelled_by.username", allow_null=True, read_only=True)
    worker = serializers.SerializerMethodField(help_text="The worker running or last running a step of this run, and its heartbeat; null before any.")
    identity = serializers.SerializerMethodField(
        help_text="Who the run acted as in AWS: its type's administrator role, or the portal's own "
        "credentials in the one-time bootstrap; null before its first step."
    )
    declaration_diff = serializers.SerializerMethodField(
        help_text="What the run's change proposes against the declaration it started from; empty for platform changes and decommissions."
    )
    policy = serializers.SerializerMethodField(help_text="What the policy check (checkov) found in the run's plan, and its change's override.")
    cost = serializers.SerializerMethodField(help_text="The plan's monthly cost estimate and its change's cost override; null before the plan is read.")

    class Meta:
        model = Run
        fields = [
            "id",
            "kind",
            "status",
            "status_display",
            "workspace",
            "state_key",
            "change_id",
            "declaration_diff",
            "plan",
            "error",
            "requested_by",
            "approved_by",
            "created_at",
            "started_at",
            "planned_at",
            "approved_at",
            "finished_at",
            "cancel_requested_at",
            "cancelled_by",
            "worker",
            "identity",
            "log_url",
            "policy",
            "cost",
        ]

    @extend_schema_field(PolicySerializer)
    def get_policy(self, run) -> dict:
        return PolicySerializer(policy_of(run)).data

    @extend_schema_field(CostSerializer(allow_null=True))
    def get_cost(self, run) -> dict | None:
        cost = cost_of(run)
        return None if cost["estimate"] is None else CostSerializer(cost).data

    @extend_schema_field(WorkerSerializer(allow_null=True))
    def get_worker(self, run) -> dict | None:
        if not run.worker_host:
            return None
        return WorkerSerializer(run).data

    @extend_schema_field(IdentitySerializer(allow_null=True))
    def get_identity(self, run) -> dict | None:
        if not run.acted_as:
            return None
        return IdentitySerializer(run).data

    def get_log_url(self, run) -> str:
        return reverse("api:run-log", kwargs={"pk": run.pk}) + "?offset=0"

    @extend_schema_field(FieldChangeSerializer(many=True))
    def get_declaration_diff(self, run) -> list:
        revision = run.change.revision if run.change_id else None
        return diff_as_json(revision)


class RunSummarySerializer(RunSerializer):
    """A run inside a service's listing: the service's `proposed` already shows the diff; the policy
    findings and the cost are on the run's own representation (a listing would read them run by run)."""

    class Meta(RunSerializer.Meta):
        fields = [name for name in RunSerializer.Meta.fields if name not in ("declaration_diff", "policy", "cost")]


class RunLogSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Run._meta.get_field("status").choices)
    active = serializers.BooleanField(help_text="True while the run may still write to its log.")
    text = serializers.CharField(help_text="The log from the requested offset on.")
    next_offset = serializers.IntegerField(help_text="Pass as `offset` to read only what follows.")


class WorkspaceSerializer(serializers.ModelSerializer):
    state_key = serializers.CharField()
    latest_run = RunSummarySerializer(read_only=True, allow_null=True)

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
        unknown = sorted(str(name) for name in data if name not in writable)
        if unknown:
            # A misspelt field (`desired_cout`) would otherwise be dropped, and its default applied.
            takes = ", ".join(sorted(writable))
            raise serializers.ValidationError({name[:50]: [f"Not a field this request takes; it takes: {takes}."] for name in unknown[:10]})
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
        # Fields left out keep the values of the declaration a change starts from (the applied one).
        return self.form_class({**self.instance.base_revision().declaration(), **data})


class RevisionSerializer(serializers.ModelSerializer):
    proposed_by = serializers.CharField(source="proposed_by.username", read_only=True, allow_null=True)
    diff = serializers.SerializerMethodField(help_text="Against the revision it was based on.")
    secrets = serializers.DictField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = ServiceRevision
        fields = ["number", *DECLARATION_FIELDS, "proposed_by", "proposed_at", "diff"]

    @extend_schema_field(FieldChangeSerializer(many=True))
    def get_diff(self, revision) -> list:
        return diff_as_json(revision)


def applied_field(name: str) -> serializers.Field:
    """A declaration field: written in a registration's body, read back from the applied revision."""
    model_field = ServiceRevision._meta.get_field(name)
    kind = serializers.IntegerField if isinstance(model_field, models.IntegerField) else serializers.CharField
    return kind(
        source=f"applied_revision.{name}",
        allow_null=True,
        help_text=f"{model_field.help_text} Reads the applied value: null until the first change has applied.",
    )


class ServiceSerializer(FormValidated, serializers.ModelSerializer):
    """The declaration (validated by the registration form) and what the portal made of it.

    The declaration fields read back the *applied* declaration (null until the first change has
    applied); a change waiting for approval is under `proposed`."""

    form_class = ServiceForm
    team = serializers.CharField(
        source="team.name",
        required=False,
        help_text="The team that owns it. On registration: one of your teams; left out, your only team.",
    )
    container_port = applied_field("container_port")
    cpu = applied_field("cpu")
    memory = applied_field("memory")
    desired_count = applied_field("desired_count")
    health_check_path = applied_field("health_check_path")
    image_tag = applied_field("image_tag")
    secrets = serializers.DictField(
        child=serializers.CharField(),
        source="applied_revision.secrets",
        allow_null=True,
        required=False,
        help_text=f"{ServiceRevision._meta.get_field('secrets').help_text} Reads the applied value: null until the first change has applied.",
    )
    status = serializers.ChoiceField(choices=Lifecycle.choices, read_only=True)
    url = serializers.CharField(
        source="applied_url", read_only=True, allow_null=True, help_text="Where the load balancer routes to the service; null until applied."
    )
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    applied_revision = serializers.IntegerField(source="applied_revision.number", read_only=True, allow_null=True)
    proposed = RevisionSerializer(
        source="proposed_revision", read_only=True, allow_null=True, help_text="The declaration a pending change proposes; null when none is pending."
    )
    workspaces = WorkspaceSerializer(many=True, read_only=True)

    class Meta:
        model = Service
        fields = [
            "name",
            "team",
            "status",
            *DECLARATION_FIELDS,
            "applied_revision",
            "proposed",
            "url",
            "created_by",
            "created_at",
            "updated_at",
            "decommissioned_at",
            "ends_at",
            "workspaces",
        ]
        read_only_fields = ["decommissioned_at"]


class ServiceChangeSerializer(FormValidated, serializers.ModelSerializer):
    """What PATCH may change; the image tag changes through a deployment, the name never."""

    form_class = ServiceChangeForm
    refused = {
        "name": "The name is fixed once registered: it names the service's AWS resources.",
        "image_tag": "Deploy a tag with POST /api/v1/services/{name}/deployments/.",
    }

    class Meta:
        model = ServiceRevision
        fields = ["container_port", "cpu", "memory", "desired_count", "health_check_path", "secrets"]
        extra_kwargs = {name: {"required": False} for name in fields}

    secrets = serializers.DictField(child=serializers.CharField(), required=False, help_text=ServiceRevision._meta.get_field("secrets").help_text)

    def to_internal_value(self, data):
        if isinstance(data, Mapping) and self.refused.keys() & data.keys():
            raise serializers.ValidationError({name: [self.refused[name]] for name in self.refused.keys() & data.keys()})
        return super().to_internal_value(data)


class DeploymentSerializer(FormValidated, serializers.ModelSerializer):
    """A deployment is a change of the image tag, checked by the same form as any change."""

    form_class = ServiceChangeForm
    required_fields = ["image_tag"]

    class Meta:
        model = ServiceRevision
        fields = ["image_tag"]


class QueuedSerializer(serializers.Serializer):
    """The answer to a request that queued plans: the service and the runs queued (none when
    nothing changed)."""

    service = ServiceSerializer()
    runs = RunSerializer(many=True)


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_username", allow_null=True, help_text="The username; null when the portal acted.")
    address = serializers.IPAddressField(allow_null=True, help_text="The client's address; null when a worker or a command acted.")
    details = serializers.DictField(help_text="What the action was about; never a secret's value.")
    team = serializers.CharField(allow_null=True, help_text="The team owning the service acted on; null for the platform's and people's own.")

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "time",
            "action",
            "actor",
            "actor_id",
            "address",
            "team",
            "object_type",
            "object_id",
            "object_label",
            "details",
            "request_id",
        ]

    def to_representation(self, event):
        data = super().to_representation(event)
        data["actor"] = data["actor"] or None
        data["team"] = data["team"] or None
        return data
