"""One service's journey through the portal, step by step, each timed: the platform provisioned, a
service onboarded with an image copied into its repository, served by the load balancer, each of its
declared fields changed (each change planned again afterwards: "No changes"), decommissioned, the
platform destroyed.

Every step goes through the portal's own code and approvals (register_service, change_service,
decommission_service, propose, approve; the workers plan and apply), as a person and a pipeline do.
The same steps run on the emulator, in tests/e2e/platform/test_platform_end_to_end.py, and on AWS, in
bin/aws-acceptance (portal/journey/acceptance.py). What the emulator cannot do is skipped there, each
skip saying why; nothing else differs.
"""

import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import requests
from django.conf import settings

from portal.catalog import layout
from portal.catalog.models import ENDED_STATUSES, Service
from portal.catalog.onboarding import change_service, decommission_service, register_service
from portal.changes.workflow import approve, propose
from portal.core.aws import client
from portal.drift import checks as drift_checks
from portal.journey import images
from portal.platform import provisioning as platform
from portal.runs.models import ACTIVE_STATUSES, Change, Run, RunStatus
from portal.workspaces.layout import state_bucket_workspace, sync_platform_workspaces
from portal.workspaces.models import Workspace

EMULATOR_RUNS_NO_TASK = (
    "The emulator runs no task: no target ever answers behind its load balancer, so the HTTP 200 is checked on AWS only (bin/aws-acceptance)."
)
# What is checked after a step applied: the same inputs planned again change nothing.
NO_CHANGES = {RunStatus.NO_CHANGES}


class JourneyFailed(Exception):
    pass


@dataclass
class Step:
    name: str
    seconds: float
    outcome: str  # done, skipped, failed
    note: str = ""


class Journey:
    """The people are the portal's: a developer proposes, an approver (not the proposer) approves
    the service's changes, an admin and a second admin propose and approve the platform's."""

    def __init__(self, *, developer, approver, admin, platform_approver, out: Callable[[str], None] = print, timeout: float = 900):
        self.developer, self.approver = developer, approver
        self.admin, self.platform_approver = admin, platform_approver
        self.out, self.timeout = out, timeout
        self.steps: list[Step] = []
        self.service: Service | None = None

    # --- keeping time -----------------------------------------------------------------------------
    @contextmanager
    def step(self, name: str):
        self.out(f"-> {name}")
        started = time.monotonic()
        try:
            yield
        except BaseException as exc:
            seconds = time.monotonic() - started
            self.steps.append(Step(name, seconds, "failed", str(exc)))
            self.out(f"   failed after {seconds:.0f} s: {exc}")
            raise
        seconds = time.monotonic() - started
        self.steps.append(Step(name, seconds, "done"))
        self.out(f"   done in {seconds:.0f} s")

    def skip(self, name: str, reason: str) -> None:
        self.steps.append(Step(name, 0.0, "skipped", reason))
        self.out(f"-> {name}: skipped. {reason}")

    def report(self) -> str:
        width = max((len(step.name) for step in self.steps), default=10)
        lines = [
            f"{step.name:<{width}}  {step.outcome:<7}  {step.seconds:7.0f} s" + (f"  {step.note}" if step.outcome != "done" else "") for step in self.steps
        ]
        total = sum(step.seconds for step in self.steps)
        return "\n".join([*lines, f"{'total':<{width}}  {'':<7}  {total:7.0f} s ({total / 60:.1f} min)"])

    # --- the platform -----------------------------------------------------------------------------
    def provision_platform(self) -> list[Change]:
        with self.step("Provision the platform (state bucket, administrators, workload roles, network, cluster)"):
            return platform.provision_platform(requester=self.admin, approver=self.platform_approver, timeout=self.timeout)

    def destroy_platform(self) -> None:
        with self.step("Destroy the platform (cluster, network, workload roles)"):
            platform.destroy_platform(requester=self.admin, approver=self.platform_approver, timeout=self.timeout)

    def every_workspace(self) -> list[Workspace]:
        """The state bucket's, every platform workspace in apply order, and the service's."""
        service = list(self.service.workspaces.in_apply_order()) if self.service else []
        return [state_bucket_workspace(), *sync_platform_workspaces(), *service]

    # --- the service ------------------------------------------------------------------------------
    def onboard(self, name: str, declaration: dict, *, image_source: str | None = None, while_planning: Callable[[Change], None] | None = None) -> Service:
        """Register the service and apply its change; with `image_source`, its image is copied into the
        repository as soon as the repository has applied, before the service's tasks want it."""
        with self.step(f"Onboard {name} ({declaration['cpu']} CPU, {declaration['memory']} MiB, port {declaration['container_port']})"):
            self.service, change = register_service(self.developer, name=name, **declaration)
            if while_planning:
                while_planning(change)
            push = (lambda: self.push_image(image_source, declaration["image_tag"])) if image_source else None
            self.apply(change, once_repository_applied=push)
            self.service.refresh_from_db()
            return self.service

    def push_image(self, source: str, tag: str) -> str:
        """Copy `source` into the service's repository under `tag`, with a page at the service's routed
        path that names the service and the tag (what wait_until_served looks for)."""
        name = self.service.resource_name
        with self.step(f"Copy {source} into {name}:{tag}"):
            return images.copy_image(source, client("ecr", timeout=120), name, tag, page=self.page(tag))

    def page(self, tag: str) -> tuple[str, str]:
        name = self.service.resource_name
        return f"usr/share/nginx/html/{name}/index.html", f"<!doctype html><title>{name}</title><p>{self.page_text(tag)}</p>\n"

    def page_text(self, tag: str) -> str:
        return f"{self.service.resource_name} {tag}"

    def change(self, **edits) -> Change:
        """One change of the declaration, applied, then every workspace it touched planned again."""
        described = ", ".join(f"{field} -> {value}" for field, value in edits.items())
        with self.step(f"Change {described}"):
            change = change_service(self.service, self.developer, **edits)
            if change is None:
                raise JourneyFailed(f"{described} is what {self.service.name} declares already: nothing to change.")
            self.apply(change)
            self.service.refresh_from_db()
            # The workspaces it applied: one whose plan found nothing to change is at rest already.
            self.plan_again([run.workspace for run in change.runs_in_order() if run.status == RunStatus.APPLIED])
            return change

    def url(self) -> str:
        run = Run.objects.filter(workspace__service=self.service, workspace__module="ecs-service").applied().last_finished_first().first()
        return run.outputs["url"]

    def wait_until_served(self, tag: str, timeout: float = 600) -> None:
        """Until the load balancer answers 200 from the service with the page of `tag`."""
        name = f"The load balancer answers 200 with the page of {tag}"
        if settings.ON_EMULATOR:
            return self.skip(name, EMULATOR_RUNS_NO_TASK)
        url, wanted = self.url(), self.page_text(tag)
        with self.step(f"{name} ({url})"):
            deadline, seen = time.monotonic() + timeout, "nothing yet"
            while time.monotonic() < deadline:
                try:
                    answer = requests.get(url, timeout=10)
                    seen = f"{answer.status_code}" + (" without the page" if answer.status_code == 200 else "")
                    if answer.status_code == 200 and wanted in answer.text:
                        return
                except requests.RequestException as exc:
                    seen = type(exc).__name__
                time.sleep(5)
            raise JourneyFailed(f"{url} did not answer 200 with {wanted!r} within {timeout:.0f} s (last: {seen}).")

    def decommission(self) -> None:
        with self.step(f"Decommission {self.service.name} (its repository and images with it)"):
            change = decommission_service(self.service, self.admin)
            self.apply(change)
            self.service.refresh_from_db()
            if self.service.status not in ENDED_STATUSES:
                raise JourneyFailed(f"{self.service.name} is {self.service.status} after its decommission applied.")

    # --- plans, approvals, applies ----------------------------------------------------------------
    def approver_for(self, change: Change):
        platform_runs = change.runs.filter(workspace__service__isnull=True).exists()
        return self.platform_approver if platform_runs else self.approver

    def apply(self, change: Change, *, once_repository_applied: Callable[[], object] | None = None) -> None:
        """Wait for the plans, approve as someone else, and wait until every run has applied (or
        found nothing to do). `once_repository_applied` runs as soon as a repository's run applied,
        while the next run applies."""
        self.settle(change, {RunStatus.AWAITING_APPROVAL, RunStatus.NO_CHANGES})
        if change.runs.filter(status=RunStatus.AWAITING_APPROVAL).exists():
            approve(change, self.approver_for(change))
        wanted = {RunStatus.APPLIED, RunStatus.NO_CHANGES}
        if once_repository_applied:
            self.settle(change, wanted, until=lambda runs: any(r.workspace.module == "ecr-repository" and r.status == RunStatus.APPLIED for r in runs))
            once_repository_applied()
        self.settle(change, wanted)

    def settle(self, change: Change, statuses: set[str], until: Callable[[list[Run]], bool] | None = None) -> None:
        """Until every run of the change is in `statuses` (or `until` says so); a run that ends
        elsewhere fails the step with its workspace, status and error."""
        deadline = time.monotonic() + self.timeout
        while True:
            runs = list(change.runs.select_related("workspace"))
            if (until and until(runs)) or (not until and all(run.status in statuses for run in runs)):
                return
            ended = [run for run in runs if run.status not in ACTIVE_STATUSES and run.status not in statuses]
            if ended:
                run = ended[0]
                raise JourneyFailed(f"{run.workspace.path}: {run.get_status_display().lower()}: {run.error or 'see its log'} (run {run.pk})")
            if time.monotonic() > deadline:
                raise JourneyFailed(f"{change} did not reach {sorted(statuses)} within {self.timeout:.0f} s")
            time.sleep(0.5)

    def plan_again(self, workspaces: list[Workspace]) -> None:
        """Plan each workspace again from what is applied now: each must say "No changes"."""
        if not workspaces:
            return
        self.service.refresh_from_db()
        platform_inputs = {workspace.pk: workspace.variables for workspace in [state_bucket_workspace(), *sync_platform_workspaces()]}
        wanted = [
            (
                workspace,
                platform_inputs[workspace.pk] if workspace.pk in platform_inputs else layout.inputs(workspace, self.service, self.service.applied_revision),
            )
            for workspace in workspaces
        ]
        requester = self.admin if any(workspace.pk in platform_inputs for workspace in workspaces) else self.developer
        change = propose(f"Plan again: {', '.join(w.path for w in workspaces)}", wanted, requester, service=self.service)
        try:
            self.settle(change, {RunStatus.NO_CHANGES, RunStatus.AWAITING_APPROVAL})
        except JourneyFailed:
            pass  # said below, with every workspace's plan
        planned = {run.workspace.path: run for run in change.runs.select_related("workspace")}
        changing = {path: what_it_plans(run) for path, run in planned.items() if run.status != RunStatus.NO_CHANGES}
        if changing:
            raise JourneyFailed(f"Planned again, these workspaces are not at rest: {changing}")

    def plan_every_workspace_again(self) -> None:
        with self.step("Plan every workspace again: no changes"):
            self.plan_again(self.every_workspace())

    def check_drift_everywhere(self) -> int:
        """A drift check of every applied workspace, right after applying: none may be drifted, or
        the drift alarm would be wrong on day one. Returns how many workspaces were checked."""
        with self.step("Check every workspace for drift: none drifted"):
            checked, drifted = 0, {}
            for workspace in self.every_workspace():
                check = drift_checks.run_check(workspace.pk)
                if check is None:  # nothing applied to compare (the bootstrapped state bucket)
                    continue
                checked += 1
                if check.error:
                    raise JourneyFailed(f"The drift check of {workspace.path} failed: {check.error[-1000:]}")
                if check.drifted:
                    drifted[workspace.path] = [f"{item['address']} {item['attribute']}" for item in check.drift][:10]
            if drifted:
                raise JourneyFailed(f"Freshly applied, these workspaces show drift: {drifted}")
            return checked


def what_it_plans(run: Run) -> str:
    if run.status != RunStatus.AWAITING_APPROVAL:
        return f"{run.status}: {run.error}"
    actions = [f"{c['action']} {c['address']}" for c in run.plan_changes or []]
    return f"+{run.to_add} ~{run.to_change} -{run.to_destroy} {actions}"
