from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Prefetch, Subquery

from portal.catalog import rules


class ServiceQuerySet(models.QuerySet):
    def with_runs(self):
        """Services with their workspaces, each workspace's latest run (`latest_runs`, at most one)
        and `applied_url`, where the load balancer routes to the service once its workspace was
        applied (None before): a fixed number of queries however many services."""
        from portal.runs.models import Run, RunStatus
        from portal.workspaces.models import Workspace

        latest = Run.objects.filter(workspace=OuterRef("workspace")).order_by("-created_at").values("pk")[:1]
        # Without the log (it can run to megabytes) and the outputs: a listing needs neither.
        latest_runs = (
            Run.objects.filter(pk=Subquery(latest))
            .select_related("requested_by", "approved_by")
            .defer("log", "outputs")
        )
        applied_url = (
            Run.objects.filter(workspace__service=OuterRef("pk"), workspace__module="ecs-service", status=RunStatus.APPLIED)
            .order_by("-finished_at")
            .values("outputs__url")[:1]
        )
        return (
            self.select_related("created_by")
            .annotate(applied_url=Subquery(applied_url))
            .prefetch_related(
                Prefetch(
                    "workspaces",
                    queryset=Workspace.objects.defer("variables").prefetch_related(
                        Prefetch("runs", latest_runs, to_attr="latest_runs")
                    ),
                )
            )
        )


class Service(models.Model):
    """A service's declaration: what the developer asked for. Workspaces are rendered from it."""

    name = models.CharField(
        max_length=rules.NAME_MAX_LENGTH,
        unique=True,
        validators=rules.name_validators,
        help_text="Lowercase letters, digits and hyphens, e.g. sourcing-data-service.",
        error_messages={"unique": "A service with this name is already registered."},
    )
    container_port = models.PositiveIntegerField(
        validators=rules.port_validators, help_text="The port the container listens on (1-65535)."
    )
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
        max_length=1024,
        default="/health",
        validators=rules.health_check_path_validators,
        help_text="The path the load balancer requests to decide that a task is healthy.",
    )
    image_tag = models.CharField(
        max_length=128,
        validators=rules.image_tag_validators,
        help_text="The tag of the image in the service's ECR repository to run, e.g. 1.4.2.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="services_created"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def listener_rule_priority(self) -> int:
        """Unique per service on the shared listener (ALB priorities are 1-50000)."""
        return self.pk

    @property
    def resource_name(self) -> str:
        """The name AWS resources of this service carry: `<prefix>-<name>`."""
        return f"{settings.SERVICE_NAME_PREFIX}-{self.name}"
