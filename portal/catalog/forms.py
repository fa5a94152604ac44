import datetime

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.access import permissions
from portal.access.models import Team
from portal.access.naming import is_team_name
from portal.capacity import usage as capacity
from portal.catalog import rules
from portal.catalog.models import DECLARATION_FIELDS, Service, ServiceRevision
from portal.core import params
from portal.core.forms import NoSilentTruncation


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


class SecretsField(forms.Field):
    """Container secrets as `NAME=arn` lines in the form, or a JSON object in the API; either way a
    dict of variable name => ARN, checked by rules.validate_secrets."""

    widget = forms.Textarea(attrs={"rows": 3, "placeholder": "DB_PASSWORD=arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"})
    default_error_messages = {
        "invalid": "Write one secret per line as NAME=arn (the ARN of a Secrets Manager secret or SSM parameter).",
        "duplicate": "%(name)s is given twice: each variable comes from one secret.",
    }

    def to_python(self, value):
        if value in (None, "", {}):
            return {}
        if isinstance(value, dict):
            return value
        if not isinstance(value, str):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        secrets = {}
        for line in value.splitlines():
            if not line.strip():
                continue
            name, equals, arn = line.partition("=")
            if not equals:
                raise ValidationError(self.error_messages["invalid"], code="invalid")
            name = name.strip()
            if name in secrets:
                shown = name if rules.SECRET_NAME_PATTERN.match(name) else "A name"
                raise ValidationError(self.error_messages["duplicate"], code="duplicate", params={"name": shown})
            secrets[name] = arn.strip()
        return secrets

    def __init__(self, *, encoder=None, decoder=None, **kwargs):  # passed by the model's JSONField
        super().__init__(**kwargs)

    def prepare_value(self, value):
        """Shown back in the form. What is not an ARN is never shown again: it may be a secret's
        value, pasted by mistake."""
        if isinstance(value, str):
            value = dict(line.partition("=")[::2] for line in value.splitlines() if line.strip())
        if not isinstance(value, dict):
            return ""
        return "\n".join(
            f"{name.strip()}={arn.strip() if rules.SECRET_ARN_PATTERN.match(str(arn).strip()) else ''}"
            for name, arn in sorted(value.items(), key=lambda item: str(item[0]))
        )

    def has_changed(self, initial, data):
        try:
            return self.to_python(data) != (initial or {})
        except ValidationError:
            return True


class DeclarationForm(NoSilentTruncation, forms.ModelForm):
    """The declaration of a service: what a change may propose."""

    class Meta:
        model = ServiceRevision
        fields = DECLARATION_FIELDS
        labels = {"cpu": "CPU units", "memory": "Memory (MiB)"}
        field_classes = {
            **{name: WholeNumberField for name in ["container_port", "cpu", "memory", "desired_count"]},
            "secrets": SecretsField,
        }
        # The form field of a PositiveIntegerField has its own, vaguer, minimum message.
        error_messages = {"desired_count": {"min_value": "The desired count cannot be negative."}}


class TeamChoiceField(forms.ModelChoiceField):
    """A team by its name; what could not be a team's name is refused before any query (PostgreSQL
    refuses a NUL byte outright)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if not is_team_name(value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class MomentField(forms.DateTimeField):
    """A date and time as one string (ISO 8601, as the page's datetime-local input sends it): Django's
    field also takes a [date, time] list from a split widget, and fails on one it cannot combine."""

    def to_python(self, value):
        if value not in self.empty_values and not isinstance(value, str | datetime.datetime):
            raise ValidationError("Enter a date and time as one text, e.g. 2026-12-24T18:00:00Z.", code="invalid")
        return super().to_python(value)


class ServiceForm(DeclarationForm):
    """Registration: a name, then the first declaration."""

    name = forms.CharField(
        max_length=rules.NAME_MAX_LENGTH,
        validators=rules.name_validators,
        help_text=Service._meta.get_field("name").help_text,
    )

    team = TeamChoiceField(
        queryset=Team.objects.all(),
        to_field_name="name",
        required=False,
        empty_label=None,
        help_text="The team that will own it; you may leave it out when you are in one team.",
        error_messages={"invalid_choice": "No team has this name."},
    )

    ends_at = MomentField(
        required=False,
        label="Ends at, UTC (optional)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="For an environment that ends, such as a branch's preview or a load test: the team's webhooks are told "
        "{warn} before, and at this time the portal proposes its decommission. Leave empty for a service that stays.",
    )

    field_order = ["name", "team", *DECLARATION_FIELDS, "ends_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        hours = int(settings.ENVIRONMENT_WARN_BEFORE.total_seconds() // 3600)
        warn = "a day" if hours == 24 else f"{hours} hour{'s' if hours != 1 else ''}"
        self.fields["ends_at"].help_text = self.fields["ends_at"].help_text.format(warn=warn)

    def clean_ends_at(self):
        ends_at = self.cleaned_data.get("ends_at")
        if ends_at is not None and (refusal := rules.end_refusal(ends_at, timezone.now())):
            raise ValidationError(refusal, code="ends_at")
        return ends_at

    def clean_name(self):
        name = self.cleaned_data["name"]
        if Service.objects.live().filter(name=name).exists():
            raise ValidationError(rules.NAME_TAKEN, code="unique")
        return name


# A change proposes the same fields under the same rules; the name is fixed once registered.
ServiceChangeForm = DeclarationForm


def name_errors(name: str) -> list[str]:
    """What the registration form says of `name` (its field's validators and the taken-name check),
    without the rest of a declaration: no messages when the name can be registered."""
    form = ServiceForm({"name": name})
    return list(form.errors.get("name", []))


class TaskSizeSelects:
    """The pages' CPU and memory: selects of the task sizes ECS accepts (rules.TASK_SIZES) that one
    instance of the cluster can run (portal.capacity), memory grouped by CPU (the page's script then
    offers only the chosen CPU's group), and a pair outside them refused with a message on the field
    to change. The API validates with the plain forms and keeps taking any cpu and memory within the
    rules; a size the cluster cannot run it refuses with the same message (portal.capacity.usage).

    `current`, a (cpu, memory) pair, stays on offer beside them: a change starts from the service's
    size as it is, even one registered through the API outside the table, and editing another field
    must not resize the service."""

    def __init__(self, *args, current: tuple[int, int] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # Only what one instance of the cluster can run: a larger task would wait for ever.
        self.placement = capacity.placement()
        self.task_sizes = self.placement.offered(rules.TASK_SIZES)
        if current is not None:
            cpu, memory = current
            self.task_sizes[cpu] = tuple(sorted({*self.task_sizes.get(cpu, ()), memory}))
        self.current = current
        self.fields["cpu"].widget = forms.Select(choices=[(cpu, self.cpu_label(cpu)) for cpu in sorted(self.task_sizes)])
        self.fields["memory"].widget = forms.Select(
            choices=[(self.memory_group(cpu), [(m, self.memory_label(cpu, m)) for m in self.task_sizes[cpu]]) for cpu in sorted(self.task_sizes)]
        )
        placeable = self.placement.limit()
        self.fields[
            "cpu"
        ].help_text = f"1024 CPU units are 1 vCPU. The memory offered follows the CPU: the task sizes ECS accepts that the cluster can place ({placeable})."
        self.fields["memory"].help_text = "Memory for the task, from the sizes ECS accepts with the CPU chosen."

    def cpu_label(self, cpu: int) -> str:
        return f"{cpu} ({rules.vcpus(cpu)})"

    def memory_group(self, cpu: int) -> str:
        return f"With {self.cpu_label(cpu)}"

    def memory_label(self, cpu: int, memory: int) -> str:
        current = " (current)" if self.current == (cpu, memory) and memory not in rules.TASK_SIZES.get(cpu, ()) else ""
        return f"{memory} MiB ({memory / 1024:g} GiB){current}"

    def task_size_options(self) -> list[dict]:
        """For the page's script: each CPU's memory options, as the memory select labels them."""
        return [{"cpu": cpu, "memory": [[m, self.memory_label(cpu, m)] for m in self.task_sizes[cpu]]} for cpu in sorted(self.task_sizes)]

    def clean(self):
        cleaned = super().clean()
        cpu, memory = cleaned.get("cpu"), cleaned.get("memory")
        # A value outside the rules gets the rules' message (from the model's validators) alone.
        if cpu is not None and memory is not None and within_rules("cpu", cpu) and within_rules("memory", memory):
            too_large = self.placement.refusal(cpu, memory)  # the API's refusal, word for word
            if too_large:
                self.add_error(too_large.field, ValidationError(too_large.message, code=too_large.code))
                return cleaned
            try:
                rules.validate_task_size(cpu, memory, self.task_sizes)
            except ValidationError as exc:
                self.add_error(None, exc)
        return cleaned


def within_rules(field: str, value) -> bool:
    try:
        ServiceRevision._meta.get_field(field).run_validators(value)
    except ValidationError:
        return False
    return True


class ServicePageForm(TaskSizeSelects, ServiceForm):
    """Registration on the page: the user's teams to choose from, the smallest task size to start from."""

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        teams = list(Team.objects.all() if permissions.is_admin(user) else Team.objects.of(user))
        # The select offers the user's teams; another team's name is left to the registration's
        # permission (portal.access.permissions.register_service), the one answer for page and API.
        self.fields["team"].choices = [(team.name, team.name) for team in teams]
        self.only_team = teams[0] if len(teams) == 1 else None
        if self.only_team is not None:
            self.initial.setdefault("team", self.only_team.name)
        if self.task_sizes:
            smallest = min(self.task_sizes)
            self.initial.setdefault("cpu", smallest)
            self.initial.setdefault("memory", self.task_sizes[smallest][0])

    def clean_team(self):
        team = self.cleaned_data.get("team") or self.only_team
        if team is None:
            raise ValidationError(
                "Choose the team that will own it." if self.fields["team"].choices else "You are in no team yet: ask an admin to add you to one.",
                code="required",
            )
        return team


class ServiceChangePageForm(TaskSizeSelects, ServiceChangeForm):
    """A change on the page; `current` is the size of the declaration it starts from."""


class DecommissionForm(NoSilentTruncation, forms.Form):
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


class MoveForm(NoSilentTruncation, forms.Form):
    team = TeamChoiceField(queryset=Team.objects.all(), to_field_name="name", empty_label=None, help_text="The team that will own it.")
