from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Prefetch, Q, Subquery

from portal.catalog import rules
from portal.core.choices import Colour, ColouredChoices

DECLARATION_FIELDS = ["container_port", "cpu", "memory", "desired_count", "health_check_path", "image_tag", "secrets"]


class Lifecycle(ColouredChoices):
    ACTIVE = "active", Colour.GREY, "Active"
    DECOMMISSIONING = "decommissioning", Colour.ORANGE, "Decommissioning"
    DECOMMISSIONED = "decommissioned", Colour.MUTED, "Decommissioned"
    # Its registration ended without anything applied (discarded, superseded or failed): nothing of
    # it is in AWS, and its name is free again. Its history stays readable.
    WITHDRAWN = "withdrawn", Colour.MUTED, "Withdrawn"


# A service in one of these holds no name and no listener rule priority: it has ended.
ENDED_STATUSES = [Lifecycle.DECOMMISSIONED, Lifecycle.WITHDRAWN]


class ServiceQuerySet(models.QuerySet):
    def live(self):
        """Services that hold their name: everything but the decommissioned and the withdrawn."""
        return self.exclude(status__in=ENDED_STATUSES)

    def named(self, name: str):
        """The service that holds `name` now, else the one that held it last (decommissioned or withdrawn)."""
        return self.filter(name=name).order_by(models.Case(models.When(status__in=ENDED_STATUSES, then=1), default=0), "-created_at")

    def with_declarations(self, *, people: bool = True):
        """Services with their applied revision and, while one is pending, the proposed one
        (`proposed_revisions`, at most one): a fixed number of queries however many services. The
        services list names nobody (`people=False`): a page of a hundred services is then two
        hundred fewer users built."""
        from portal.runs.models import Change

        pending = Change.objects.proposing().filter(service=OuterRef("service"))
        proposed = ServiceRevision.objects.filter(pk=Subquery(pending.values("revision")[:1])).select_related("based_on")
        services = self.select_related("team", "applied_revision")
        if people:
            proposed, services = proposed.select_related("proposed_by"), services.select_related("created_by")
        return services.prefetch_related(Prefetch("revisions", proposed, to_attr="proposed_revisions"))

    def with_runs(self):
        """Declarations as above, the workspaces, each workspace's latest run (`latest_runs`, at most
        one) and `applied_url`, where the load balancer routes to the service once its workspace was
        applied (None before)."""
        from portal.runs.models import Run
        from portal.workspaces.models import Workspace

        # Without the log (it can run to megabytes), the inputs and the outputs: a listing needs none.
        latest_runs = Run.objects.latest_per_workspace().select_related("requested_by", "approved_by").defer("log", "outputs", "variables")
        applied_url = (
            Run.objects.filter(workspace__service=OuterRef("pk"), workspace__module="ecs-service").applied().last_finished_first().values("outputs__url")[:1]
        )
        return (
            self.with_declarations()
            .annotate(applied_url=Subquery(applied_url))
            .prefetch_related(
                Prefetch(
                    "workspaces",
                    queryset=Workspace.objects.defer("variables").prefetch_related(Prefetch("runs", latest_runs, to_attr="latest_runs")),
                )
            )
        )


class Service(models.Model):
    """A service in the catalog: its name, its lifecycle and which of its revisions is applied.

    What the service should look like lives in its revisions; a revision becomes the applied one only
    when every run of the change that proposed it has applied (portal.catalog.lifecycle).
    """

    name = models.CharField(
        max_length=rules.NAME_MAX_LENGTH,
        validators=rules.name_validators,
        help_text="Lowercase letters, digits and hyphens, e.g. sourcing-data-service.",
    )
    status = models.CharField(max_length=16, choices=Lifecycle.choices, default=Lifecycle.ACTIVE)
    applied_revision = models.ForeignKey(
        "ServiceRevision",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The declaration AWS runs; null until the first change has applied.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="services_created")
    team = models.ForeignKey(
        "access.Team",
        on_delete=models.PROTECT,
        related_name="services",
        help_text="The team that owns it: its members change and deploy it. Moved only by an admin.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    decommissioned_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the portal decommissions an environment that ends (a branch's preview, a load test); null: it stays.",
    )
    end_warned_at = models.DateTimeField(null=True, blank=True, editable=False, help_text="When its owners were told that it ends soon.")
    listener_rule_priority = models.PositiveIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text=f"Its rule's priority on the shared listener, 1-{rules.LOAD_BALANCER_SERVICE_SLOTS}: one slot per live service.",
    )

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = ["name", "-created_at"]
        constraints = [
            # A name is held by one service until it is decommissioned or withdrawn; then it can be registered again.
            models.UniqueConstraint(
                fields=["name"],
                condition=~Q(status__in=ENDED_STATUSES),
                name="one_live_service_per_name",
                violation_error_message=rules.NAME_TAKEN,
            ),
            # A listener's rules need distinct priorities; a decommissioned service's rule is gone.
            models.UniqueConstraint(
                fields=["listener_rule_priority"],
                condition=~Q(status__in=ENDED_STATUSES),
                name="one_live_service_per_listener_rule_priority",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def status_colour(self) -> str:
        return Lifecycle.colour_of(self.status)

    def validate_constraints(self, exclude=None):
        # The name's uniqueness is checked by the forms, so that its message stands next to the field;
        # the constraint stays the last word when two registrations race. The priority is the
        # portal's to choose (onboarding.register_service), under a lock.
        super().validate_constraints(exclude={*(exclude or ()), "name", "listener_rule_priority"})

    @property
    def is_live(self) -> bool:
        return self.status not in ENDED_STATUSES

    @property
    def status_label(self) -> str:
        """What the pages show: an active service nothing has been applied for yet is not running."""
        if self.status == Lifecycle.ACTIVE and self.applied_revision_id is None:
            return "Pending first apply"
        return self.get_status_display()

    @property
    def proposed_revision(self) -> "ServiceRevision | None":
        """The revision a pending change proposes; needs Service.objects.with_declarations()."""
        proposed = getattr(self, "proposed_revisions", None)
        return proposed[0] if proposed else None

    def base_revision(self) -> "ServiceRevision":
        """What a new change starts from: the applied declaration, or the registered one before the
        first apply. Nothing of a discarded, stale or failed proposal."""
        return self.applied_revision or self.revisions.order_by("number").first()

    @property
    def resource_name(self) -> str:
        """The name AWS resources of this service carry: `<prefix>-<name>`."""
        return f"{settings.SERVICE_NAME_PREFIX}-{self.name}"


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: object  # None when the field had no value before (a registration)
    new: object

    def __str__(self) -> str:
        new = self.shown(self.new)
        return f"{self.field} {new}" if self.old is None else f"{self.field} {self.shown(self.old)} -> {new}"

    @staticmethod
    def shown(value) -> str:
        """Secrets read as the form writes them (`NAME=arn, ...`), not as a Python dict."""
        if isinstance(value, dict):
            return ", ".join(f"{name}={arn}" for name, arn in sorted(value.items())) or "none"
        return str(value)


class ServiceRevision(models.Model):
    """One full declaration of a service, as proposed by one change. Never edited once written."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    based_on = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The applied (or registered) revision this one was proposed against.",
    )
    container_port = models.PositiveIntegerField(validators=rules.port_validators, help_text="The port the container listens on (1-65535).")
    cpu = models.PositiveIntegerField(
        validators=rules.cpu_validators,
        help_text=f"CPU units for the task: 1024 = 1 vCPU ({rules.CPU_MIN}-{rules.CPU_MAX}).",
    )
    memory = models.PositiveIntegerField(
        validators=rules.memory_validators,
        help_text=f"Memory for the task in MiB ({rules.MEMORY_MIN}-{rules.MEMORY_MAX}).",
    )
    desired_count = models.PositiveIntegerField(
        default=1,
        validators=rules.desired_count_validators,
        help_text=f"How many tasks run (0-{rules.DESIRED_COUNT_MAX}).",
    )
    health_check_path = models.CharField(
        max_length=rules.HEALTH_CHECK_PATH_MAX_LENGTH,
        default="/health",
        validators=rules.health_check_path_validators,
        help_text="The path the load balancer requests to decide that a task is healthy.",
    )
    image_tag = models.CharField(
        max_length=128,
        validators=rules.image_tag_validators,
        help_text="The tag of the image in the service's ECR repository to run, e.g. 1.4.2.",
    )
    secrets = models.JSONField(
        default=dict,
        blank=True,
        validators=[rules.validate_secrets],
        help_text="Container variables read from Secrets Manager or SSM Parameter Store when a task starts: "
        "variable name => the secret's or parameter's ARN (never its value). The service's execution role is "
        "granted exactly these.",
    )
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="revisions_proposed")
    proposed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["service", "-number"]
        constraints = [models.UniqueConstraint(fields=["service", "number"], name="one_revision_number_per_service")]

    def __str__(self) -> str:
        return f"{self.service} revision {self.number}"

    def declaration(self) -> dict:
        return {field: getattr(self, field) for field in DECLARATION_FIELDS}

    def diff(self) -> list[FieldChange]:
        """What this revision changes against the one it was based on, field by field."""
        before = self.based_on.declaration() if self.based_on_id else {}
        return [
            FieldChange(field, before.get(field), value)
            for field, value in self.declaration().items()
            if before.get(field) != value and not (value == {} and before.get(field) is None)  # no secrets yet
        ]
