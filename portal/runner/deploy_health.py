"""Whether a service's deploy ended healthy: after its workspace applied, wait (bounded) until the
ECS service's deployment has settled and its target group reports healthy targets.

Read with the run's own identity (the ecs administrator's role, which may describe its services
and, like every principal, describe target health): the portal's own credentials only assume roles.

One look (`observe`) reads what AWS reports; `judge` decides from it alone, so the decision is
tested on the emulator's real answers. The emulator runs no tasks: see the README, "Healthy deploys",
for what it can and cannot show.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from portal.core import aws
from portal.workspaces.identities import RunIdentity

# Targets on their way out of the group: a deploy's old tasks. They count neither way.
LEAVING = {"draining"}


@dataclass(frozen=True)
class Observation:
    """One look at the service and its target group."""

    desired: int = 0
    running: int = 0
    deployments: int = 0
    rollout_state: str | None = None  # the PRIMARY deployment's; None where AWS gives none
    rollout_reason: str = ""
    targets: dict[str, str] = field(default_factory=dict)  # target id:port -> state
    target_reasons: tuple[str, ...] = ()
    problem: str = ""  # why AWS could not be read, when it could not

    @property
    def healthy_targets(self) -> int:
        return sum(1 for state in self.targets.values() if state == "healthy")

    @property
    def counted_targets(self) -> int:
        return sum(1 for state in self.targets.values() if state not in LEAVING)

    def summary(self) -> str:
        if self.problem:
            return self.problem
        wanted = max(self.counted_targets, min(self.desired, 1))
        return f"{self.running}/{self.desired} tasks running, {self.healthy_targets}/{wanted} targets healthy"


@dataclass(frozen=True)
class Verdict:
    healthy: bool
    reason: str  # why not, in words; empty when healthy
    final: bool = False  # nothing more will come of waiting (the deployment failed)


@dataclass(frozen=True)
class Health:
    healthy: bool
    reason: str
    seconds: float
    last: Observation


def judge(seen: Observation, *, require_targets: bool) -> Verdict:
    """Healthy when the PRIMARY deployment has completed (or, where AWS reports no rollout state, one
    deployment runs every task wanted) and every registered target is healthy, with at least one
    when tasks are wanted and `require_targets`."""
    if seen.problem:
        return Verdict(False, seen.problem)
    if seen.rollout_state == "FAILED":
        return Verdict(False, f"the deployment failed: {seen.rollout_reason or 'no reason given'}", final=True)
    if seen.rollout_state is not None and seen.rollout_state != "COMPLETED":
        return Verdict(
            False,
            f"the deployment is still {seen.rollout_state.lower().replace('_', ' ')} ({seen.running}/{seen.desired} tasks running)",
        )
    if seen.rollout_state is None and (seen.deployments != 1 or seen.running != seen.desired):
        return Verdict(
            False,
            f"the service has not reached a steady state ({seen.deployments} deployments, {seen.running}/{seen.desired} tasks running)",
        )
    unhealthy = {target: state for target, state in seen.targets.items() if state not in LEAVING | {"healthy"}}
    if unhealthy:
        listed = ", ".join(f"{target} {state}" for target, state in sorted(unhealthy.items()))
        why = f" ({'; '.join(seen.target_reasons)})" if seen.target_reasons else ""
        return Verdict(False, f"targets not healthy: {listed}{why}")
    if require_targets and seen.desired > 0 and seen.healthy_targets < 1:
        return Verdict(False, "no healthy target is registered in the target group")
    return Verdict(True, "")


def observe(outputs: dict, role_arn: str | None) -> Observation:
    """What AWS reports now about the service and target group in the workspace's outputs."""
    service_arn = outputs.get("service_arn") or ""
    target_group_arn = outputs.get("target_group_arn") or ""
    cluster = cluster_of(service_arn)
    if not cluster or not target_group_arn:
        return Observation(problem="the workspace's outputs name no ECS service (service_arn) or target group")
    try:
        ecs = aws.client("ecs", role_arn=role_arn)
        elbv2 = aws.client("elbv2", role_arn=role_arn)
        services = ecs.describe_services(cluster=cluster, services=[service_arn])["services"]
        if not services:
            return Observation(problem=f"ECS does not know the service {service_arn}")
        service = services[0]
        # ACTIVE, DRAINING or INACTIVE (ECS API Reference, Service): a deleted service is described a
        # while after, and runs nothing.
        if service.get("status", "ACTIVE") != "ACTIVE":
            return Observation(problem=f"the ECS service {service_arn} is {service['status'].lower()}: it runs nothing")
        descriptions = elbv2.describe_target_health(TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]
    except (ClientError, BotoCoreError) as exc:
        return Observation(problem=f"AWS could not be read: {exc}")
    deployments = service.get("deployments") or []
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), {})
    targets, reasons = {}, []
    for description in descriptions:
        target = description.get("Target") or {}
        health = description.get("TargetHealth") or {}
        targets[f"{target.get('Id')}:{target.get('Port')}"] = health.get("State", "unknown")
        if health.get("State") not in LEAVING | {"healthy"} and health.get("Description"):
            reasons.append(health["Description"])
    return Observation(
        desired=service.get("desiredCount", 0),
        running=service.get("runningCount", 0),
        deployments=len(deployments),
        rollout_state=primary.get("rolloutState"),
        rollout_reason=primary.get("rolloutStateReason", ""),
        targets=targets,
        target_reasons=tuple(dict.fromkeys(reasons)),
    )


def cluster_of(service_arn: str) -> str:
    """The cluster in a service ARN of the long form `...:service/<cluster>/<service>`."""
    resource = service_arn.split(":", 5)[-1] if service_arn.count(":") >= 5 else ""
    parts = resource.split("/")
    return parts[1] if len(parts) == 3 and parts[0] == "service" else ""


def wait_until_healthy(
    outputs: dict,
    identity: RunIdentity | None,
    deadline: float,
    *,
    log: Callable[[str], None] = lambda line: None,
    stop: threading.Event | None = None,
    require_targets: bool | None = None,
    poll_interval: float | None = None,
) -> Health:
    """Look until the service is healthy, its deployment has failed, `stop` is set, or the
    `deadline` (time.monotonic()) has passed. Logs a progress line whenever what it sees changes."""
    require_targets = settings.DEPLOY_HEALTH_REQUIRE_TARGETS if require_targets is None else require_targets
    poll_interval = settings.DEPLOY_HEALTH_POLL_INTERVAL if poll_interval is None else poll_interval
    stop = stop or threading.Event()
    role_arn = identity.role_arn if identity is not None else None
    started = time.monotonic()
    said = ""
    while True:
        seen = observe(outputs, role_arn)
        verdict = judge(seen, require_targets=require_targets)
        line = f"[portal] Waiting for a healthy deployment: {seen.summary()}\n"
        if line != said and not verdict.healthy:
            log(line)
            said = line
        took = time.monotonic() - started
        if verdict.healthy:
            log(f"[portal] Healthy deployment after {took:.0f} s: {seen.summary()}\n")
            return Health(True, "", took, seen)
        if verdict.final:
            return Health(False, verdict.reason, took, seen)
        left = deadline - time.monotonic()
        if left <= 0:
            return Health(False, f"not healthy after {took:.0f} s: {verdict.reason}", took, seen)
        if stop.wait(min(poll_interval, left)):
            return Health(False, f"the wait was stopped after {took:.0f} s: {verdict.reason}", took, seen)
