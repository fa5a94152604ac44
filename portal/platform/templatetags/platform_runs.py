from django import template

from portal.platform.provisioning import terraform_errors
from portal.runs.models import Run, RunStatus

register = template.Library()

# A run that ended so left its workspace short of its declaration: the Platform page offers to plan
# it again. Discarded, stale and cancelled runs were someone's decision, not a failure.
FAILED = {RunStatus.FAILED, RunStatus.ABANDONED}


@register.simple_tag
def failed_platform_runs(workspaces) -> list[Run]:
    """The latest run of each platform workspace, where it failed; from the runs the page prefetched."""
    latest = [workspace.latest_run() for workspace in workspaces]
    return [run for run in latest if run is not None and run.status in FAILED]


register.filter("terraform_errors", terraform_errors)
