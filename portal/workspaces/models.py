from django.conf import settings
from django.db import models


class Workspace(models.Model):
    """One Terraform root module on disk, one state object in the bucket.

    The state key is derived from the path, never stored or typed twice:
    `ecs/ecr-repositories/art-service-x` keeps its state at `ecs/ecr-repositories/art-service-x/terraform.tfstate`.
    """

    path = models.CharField(max_length=255, unique=True)
    module = models.CharField(max_length=64, help_text="The folder in infra_modules/ it instantiates.")
    variables = models.JSONField(default=dict, help_text="Written to terraform.tfvars.json.")
    service = models.ForeignKey(
        "catalog.Service", null=True, blank=True, on_delete=models.CASCADE, related_name="workspaces"
    )
    # Position in an onboarding: lower orders are applied first (the repository before the service).
    apply_order = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["apply_order", "path"]
        permissions = [
            ("manage_platform", "Can plan and apply platform workspaces"),
            ("force_unlock", "Can remove a Terraform state lock by hand"),
            ("manage_administrators", "Can see and propose changes of the IAM administrators"),
        ]

    def __str__(self) -> str:
        return self.path

    @property
    def state_key(self) -> str:
        return f"{self.path}/terraform.tfstate"

    @property
    def directory(self):
        return settings.WORKSPACES_DIR / self.path

    @property
    def is_platform(self) -> bool:
        return self.service_id is None

    def latest_run(self):
        if hasattr(self, "latest_runs"):  # prefetched by Service.objects.with_runs()
            return self.latest_runs[0] if self.latest_runs else None
        return self.runs.order_by("-created_at").first()
