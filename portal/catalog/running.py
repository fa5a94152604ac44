"""What a service runs now, as AWS reports it, for its page: the tasks running and desired, the PRIMARY
deployment's rollout state, and the target group's health, judged as a deploy is judged
(portal.runner.deploy_health, the same look and the same rule).

Read with the identity its runs act with (the ecs administrator's role, which may describe its
services and their targets), and kept CACHE_SECONDS per service in the cache, so a page reloaded
by many people asks AWS at most that often. The emulator runs no task: there the figures are shown
as the emulator's, never as a healthy service.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from portal.core.choices import Colour
from portal.runner import deploy_health
from portal.runs.models import Run
from portal.workspaces import identities

CACHE_SECONDS = 15


@dataclass(frozen=True)
class Running:
    """What the page shows; `seen` is None when nothing could be looked at (`reason` says why)."""

    seen: deploy_health.Observation | None = None
    verdict: deploy_health.Verdict | None = None
    reason: str = ""
    read_at: str = ""  # when AWS was asked, HH:MM:SS
    on_emulator: bool = False

    @property
    def colour(self) -> str:
        if self.seen is None:
            return Colour.GREY
        if self.seen.problem:
            return Colour.RED  # what AWS said, or that it could not be asked, holds on the emulator too
        if self.on_emulator:
            return Colour.GREY
        if self.verdict.healthy:
            return Colour.GREEN
        return Colour.RED if self.verdict.final else Colour.ORANGE

    @property
    def headline(self) -> str:
        if self.seen is None:
            return self.reason
        if self.seen.problem:
            return self.seen.problem
        if self.on_emulator:
            return "Not known on the emulator"
        return "Healthy" if self.verdict.healthy else f"Not healthy: {self.verdict.reason}"

    @property
    def leaving_targets(self) -> int:
        return len(self.seen.targets) - self.seen.counted_targets if self.seen else 0


def running_now(service) -> Running:
    """What the service's last applied ECS service runs now."""
    run = Run.objects.filter(workspace__service=service, workspace__module="ecs-service").applied().last_finished_first().select_related("workspace").first()
    if run is None:
        return Running(reason="Nothing runs yet: the service's workspace has not applied.")
    if not (run.outputs or {}).get("service_arn"):
        return Running(reason="Nothing to read: the service workspace's last apply reported no ECS service.")
    key = f"portal:running:{service.pk}:{run.pk}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    identity = identities.identity_for(run.workspace, session_name="portal-service-status")
    if isinstance(identity, identities.Refusal):
        return Running(reason=f"What runs cannot be read: {identity.reason}")
    seen = deploy_health.observe(run.outputs, identity.role_arn)
    verdict = deploy_health.judge(seen, require_targets=settings.DEPLOY_HEALTH_REQUIRE_TARGETS)
    answer = Running(seen=seen, verdict=verdict, read_at=timezone.localtime().strftime("%H:%M:%S"), on_emulator=settings.ON_EMULATOR)
    cache.set(key, answer, CACHE_SECONDS)
    return answer
