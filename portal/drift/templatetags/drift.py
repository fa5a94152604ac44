from django import template

from portal.drift.models import DriftCheck

register = template.Library()


@register.simple_tag
def latest_drift_checks(service=None) -> list[DriftCheck]:
    """The newest check of each of the service's workspaces (None: the platform's), in one query."""
    checks = DriftCheck.objects.latest_per_workspace().select_related("workspace")
    checks = checks.filter(workspace__service=service) if service else checks.filter(workspace__service=None)
    return sorted(checks, key=lambda check: check.workspace.apply_key)
