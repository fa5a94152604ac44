from django.conf import settings
from django.db import models

from portal.workspaces.paths import state_key

# The apply order: lower `apply_order` first (the repository before the service), then the path. Its
# one home: the default ordering, WorkspaceQuerySet.in_apply_order(), Workspace.apply_key and
# portal.runs.models.in_apply_order (runs of a change) all read it.
APPLY_ORDER = ("apply_order", "path")


class WorkspaceQuerySet(models.QuerySet):
    def in_apply_order(self):
        return self.order_by(*APPLY_ORDER)


class Workspace(models.Model):
    """One Terraform root module on disk, one state object in the bucket.

    The state key is derived from the path, never stored or typed twice:
    `ecs/ecr-repositories/art-service-x` keeps its state at `ecs/ecr-repositories/art-service-x/terraform.tfstate`.
    """

    path = models.CharField(max_length=255, unique=True)
    module = models.CharField(max_length=64, help_text="The folder in infra_modules/ it instantiates.")
    variables = models.JSONField(default=dict, help_text="Written to terraform.tfvars.json.")
    service = models.ForeignKey("catalog.Service", null=True, blank=True, on_delete=models.CASCADE, related_name="workspaces")
    # Position in an onboarding: lower orders are applied first (the repository before the service).
    apply_order = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = list(APPLY_ORDER)
        permissions = [
            ("manage_platform", "Can plan and apply platform workspaces"),
            ("force_unlock", "Can remove a Terraform state lock by hand"),
            ("manage_administrators", "Can see and propose changes of the IAM administrators"),
        ]

    def __str__(self) -> str:
        return self.path

    @property
    def state_key(self) -> str:
        return state_key(self.path)

    @property
    def directory(self):
        return settings.WORKSPACES_DIR / self.path

    @property
    def is_platform(self) -> bool:
        return self.service_id is None

    @property
    def apply_key(self) -> tuple:
        """Where the workspace comes in the apply order (APPLY_ORDER), to sort by in Python."""
        return tuple(getattr(self, field) for field in APPLY_ORDER)

    def latest_run(self):
        if hasattr(self, "latest_runs"):  # prefetched with Run.objects.latest_per_workspace()
            return self.latest_runs[0] if self.latest_runs else None
        return self.runs.newest_first().first()
