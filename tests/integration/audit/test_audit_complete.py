"""Every action is in the audit trail: the test walks every route of the portal (the pages and
/api/...), and each one that takes a writing method (POST, PUT, PATCH, DELETE) is either walked here
(a valid request by someone allowed to make it must record an event) or listed with the reason it
records nothing. A new writing route that is neither fails `test_every_writing_route_is_walked_or_listed`.

To add a route: write a builder that sets up what a valid request needs (rows in the database, no
terraform) and returns the request, and add it to WALKS under the route's name with the action it
must record; or add the route to UNRECORDED with the reason."""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rq import Queue

from portal.audit.models import AuditEvent
from portal.catalog.models import Service
from portal.catalog.onboarding import change_service, register_service
from portal.changes import workflow
from portal.core.aws import client as aws_client
from portal.costs.models import CostEstimate
from portal.drift.models import DriftCheck
from portal.notifications.models import Event, Webhook
from portal.policy.models import Finding
from portal.runner import locks
from portal.runs.models import Run, RunStatus
from portal.workspaces.layout import (
    administrators_variables,
    administrators_workspace,
    cluster_path,
    sync_platform_workspaces,
)
from tests.builders import TEAM
from tests.conftest import api_for, plan_approve_apply, record_plan

pytestmark = pytest.mark.django_db

WRITING = ("POST", "PUT", "PATCH", "DELETE")


# --- the routes and the methods their views take ----------------------------------------------------
@dataclass(frozen=True)
class Route:
    key: str  # "namespace:name"; "namespace:pattern" when the route has no name
    pattern: str
    view: Callable


def routes(resolver=None, prefix: str = "", namespace: str = "") -> list[Route]:
    """Every route of the project, included ones too, as Django resolves them."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = namespace + (f"{entry.namespace}:" if entry.namespace else "")
            found += routes(entry, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            pattern = prefix + str(entry.pattern)
            key = namespace + (entry.name or pattern)
            found.append(Route(key, pattern, entry.callback))
    return found


def allowed_methods(view) -> set[str]:
    """The HTTP methods a view takes: a class-based view's handlers, or the list a function view's
    `require_http_methods` (require_POST, require_GET) keeps; any method when it has none."""
    view_class = getattr(view, "cls", None) or getattr(view, "view_class", None)
    if view_class is not None:
        names = [name for name in view_class.http_method_names if hasattr(view_class, name)]
        return {name.upper() for name in names}
    layer = view
    while layer is not None:
        for cell in getattr(layer, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if isinstance(value, list | tuple) and value and all(isinstance(v, str) and v.isupper() for v in value):
                return set(value)
        layer = getattr(layer, "__wrapped__", None)
    return {"GET", "HEAD", "OPTIONS", *WRITING}


def writing_routes() -> dict[str, Route]:
    return {route.key: route for route in routes() if allowed_methods(route.view) & set(WRITING)}


# --- what a valid request needs ----------------------------------------------------------------------
@dataclass
class Request:
    user: object
    method: str
    url: str
    data: dict = field(default_factory=dict)
    api: bool = False  # with a token, as JSON (a pipeline); else the pages' session and form
    headers: dict = field(default_factory=dict)


class World:
    """The cast and the states the builders start from, made only when a builder asks."""

    def __init__(self, people, make_user, service_form_data):
        self.people, self.make_user, self.data = people, make_user, service_form_data

    def registered(self, name: str = "audited"):
        service, change = register_service(self.people["dev"], **{**self.data, "name": name})
        return service, change

    def onboarded(self, name: str = "audited") -> Service:
        service, change = self.registered(name)
        plan_approve_apply(change, self.people["approver"])
        return Service.objects.get(pk=service.pk)

    def awaiting_approval(self):
        """A change whose plans wait for an approver."""
        _, change = self.registered()
        for run in change.runs_in_order():
            record_plan(run)
        return change

    def blocked_by_policy(self):
        change = self.awaiting_approval()
        run = change.runs_in_order()[0]
        Finding.objects.create(
            run=run,
            check_id="CKV_AWS_51",
            check_name="ECR tags are immutable",
            resource_address="module.this.x",
            severity="HIGH",
            blocking=True,
        )
        return change

    def held_by_cost(self):
        change = self.awaiting_approval()
        CostEstimate.objects.create(run=change.runs_in_order()[0], before=0, after=900, difference=900)
        return change

    def declaration(self, **edits) -> dict:
        return {**{k: v for k, v in self.data.items() if k != "name"}, **edits}

    def platform_workspace(self, path: str):
        return next(workspace for workspace in sync_platform_workspaces() if workspace.path == path)

    def applied_administrators(self, administrators: dict) -> None:
        change = workflow.propose("administrators", [(administrators_workspace(), administrators_variables(administrators))], self.people["admin"])
        run = change.runs.get()
        record_plan(run)
        Run.objects.filter(pk=run.pk).update(status=RunStatus.APPLIED, finished_at=run.created_at)


def first_run(change) -> Run:
    return change.runs_in_order()[0]


def login(world):
    return Request(None, "POST", reverse("login"), {"username": "dev", "password": "pw-dev"})


def register_page(world):
    return Request(world.people["dev"], "POST", reverse("catalog:service-register"), world.data)


def register_api(world):
    return Request(world.people["dev"], "POST", "/api/v1/services/", world.data, api=True)


def change_page(world):
    service = world.onboarded()
    return Request(world.people["dev"], "POST", reverse("catalog:service-change", args=[service.name]), world.declaration(cpu=512, memory=1024))


def change_api(world):
    service = world.onboarded()
    return Request(world.people["dev"], "PATCH", f"/api/v1/services/{service.name}/", {"cpu": 512, "memory": 1024}, api=True)


def deploy_api(world):
    service = world.onboarded()
    return Request(world.people["dev"], "POST", f"/api/v1/services/{service.name}/deployments/", {"image_tag": "2.0.0"}, api=True)


def decommission_page(world):
    service = world.onboarded()
    return Request(world.people["admin"], "POST", reverse("catalog:service-decommission", args=[service.name]), {"confirm_name": service.name})


def decommission_api(world):
    service = world.onboarded()
    return Request(world.people["admin"], "DELETE", f"/api/v1/services/{service.name}/", api=True)


def rollback_page(world):
    """A service whose latest applied revision deployed unhealthy, after a healthy first one."""
    service = world.onboarded()
    change = change_service(service, world.people["dev"], cpu=512, memory=1024)
    plan_approve_apply(change, world.people["approver"])
    change.runs.filter(workspace__module="ecs-service").update(status=RunStatus.APPLIED_UNHEALTHY)
    return Request(world.people["dev"], "POST", reverse("catalog:service-rollback", args=[service.name]), {"revision": "1"})


def team_create_page(world):
    return Request(world.people["admin"], "POST", reverse("access:teams"), {"name": "pay-ops"})


def member_add_page(world):
    from portal.access.models import Team

    newcomer, team = world.make_user("newcomer", "developers", team=None), Team.objects.get(name=TEAM)
    return Request(world.people["admin"], "POST", reverse("access:member-add", args=[TEAM]), {f"team-{team.pk}-username": newcomer.username})


def member_remove_page(world):
    return Request(world.people["admin"], "POST", reverse("access:member-remove", args=[TEAM, "dev"]))


def service_move_page(world):
    from tests.builders import a_team

    service = world.onboarded()
    a_team("blue")
    return Request(world.people["admin"], "POST", reverse("catalog:service-move", args=[service.name]), {"team": "blue"})


def approve_run_page(world):
    return Request(world.people["approver"], "POST", reverse("runs:run-approve", args=[first_run(world.awaiting_approval()).pk]))


def approve_change_page(world):
    return Request(world.people["approver"], "POST", reverse("changes:approve", args=[world.awaiting_approval().pk]))


def approve_api(world):
    return Request(world.people["approver"], "POST", f"/api/v1/runs/{first_run(world.awaiting_approval()).pk}/approve/", api=True)


def discard_run_page(world):
    return Request(world.people["approver"], "POST", reverse("runs:run-discard", args=[first_run(world.awaiting_approval()).pk]))


def discard_change_page(world):
    return Request(world.people["approver"], "POST", reverse("changes:discard", args=[world.awaiting_approval().pk]))


def discard_api(world):
    return Request(world.people["approver"], "POST", f"/api/v1/runs/{first_run(world.awaiting_approval()).pk}/discard/", api=True)


def cancel_page(world):
    _, change = world.registered()
    return Request(world.people["dev"], "POST", reverse("runs:run-cancel", args=[first_run(change).pk]))


def cancel_api(world):
    _, change = world.registered()
    return Request(world.people["dev"], "POST", f"/api/v1/runs/{first_run(change).pk}/cancel/", api=True)


OVERRIDE_REASON = {"reason": "The repository is a throwaway for the load test; tags may move."}


def override_page(world):
    change = world.blocked_by_policy()
    return Request(world.people["approver"], "POST", reverse("policy:override", args=[change.pk]), OVERRIDE_REASON)


def override_api(world):
    change = world.blocked_by_policy()
    return Request(world.people["approver"], "POST", f"/api/v1/runs/{first_run(change).pk}/policy-override/", OVERRIDE_REASON, api=True)


COST_REASON = {"reason": "The load test needs the larger cluster for one week."}


def cost_override_page(world):
    change = world.held_by_cost()
    return Request(world.people["admin"], "POST", reverse("costs:override", args=[change.pk]), COST_REASON)


def cost_override_api(world):
    change = world.held_by_cost()
    return Request(world.people["admin"], "POST", f"/api/v1/runs/{first_run(change).pk}/cost-override/", COST_REASON, api=True)


def platform_plan(world):
    workspace = world.platform_workspace(cluster_path())
    return Request(world.people["admin"], "POST", reverse("platform:plan", args=[workspace.pk]))


def cluster_change(world):
    wanted = {"instance_type": "c6i.xlarge", "min_size": 1, "max_size": 4, "desired_capacity": 1}
    return Request(world.people["admin"], "POST", reverse("capacity:change-cluster"), wanted)


def force_unlock(world):
    workspace = world.onboarded().workspaces.order_by("apply_order").first()
    lock_id = str(uuid.uuid4())
    body = {"ID": lock_id, "Operation": "OperationTypeApply", "Who": "root@worker-1", "Version": "1.11.4", "Created": "2026-11-25T10:00:00Z"}
    aws_client("s3").put_object(Bucket=locks.settings.STATE_BUCKET, Key=locks.lockfile_key(workspace), Body=json.dumps(body))
    return Request(world.people["admin"], "POST", reverse("workspace:unlock", args=[workspace.pk]), {"lock_id": lock_id, "confirm": "on"})


def administrators_add(world):
    world.applied_administrators({"iam": {"name_patterns": ["art-service-*"]}, "ecs": {"name_patterns": ["art-service-*"]}})
    return Request(world.people["admin"], "POST", reverse("administrators:add"), {"service_type": "logs", "name_patterns": "art-service-*"})


def administrators_scope(world):
    return Request(world.people["admin"], "POST", reverse("administrators:scope", args=["ecr"]), {"name_patterns": "art-service-*, legacy-billing"})


def administrators_retire(world):
    world.applied_administrators({"iam": {"name_patterns": ["art-service-*"]}, "ecs": {"name_patterns": ["art-service-*"]}})
    return Request(world.people["admin"], "POST", reverse("administrators:retire", args=["ecs"]), {"confirm": "1"})


HOOK = {"url": "https://hooks.example.com/portal", "events": [Event.APPLIED, Event.FAILED]}


def webhook_add_platform(world):
    return Request(world.people["admin"], "POST", reverse("notifications:platform"), HOOK)


def webhook_add_service(world):
    service = world.onboarded()
    return Request(world.people["dev"], "POST", reverse("notifications:service", args=[service.name]), HOOK)


def webhook_remove(world):
    service = world.onboarded()
    hook = Webhook.objects.create(service=service, url=HOOK["url"], events=HOOK["events"], created_by=world.people["dev"])
    return Request(world.people["dev"], "POST", reverse("notifications:remove", args=[hook.pk]))


def drift_check(world):
    workspace = world.onboarded().workspaces.order_by("apply_order").first()
    return Request(world.people["dev"], "POST", reverse("drift:check", args=[workspace.pk]))


def drift_restore(world):
    workspace = world.onboarded().workspaces.order_by("apply_order").first()
    DriftCheck.objects.create(
        workspace=workspace,
        drifted=True,
        drift=[{"address": "module.this.aws_ecr_repository.this", "attribute": "image_tag_mutability", "before": '"IMMUTABLE"', "after": '"MUTABLE"'}],
    )
    return Request(world.people["dev"], "POST", reverse("drift:restore", args=[workspace.pk]))


def token_issue(world):
    return Request(world.people["dev"], "POST", reverse("tokens"), {"label": "ci", "scope": "deploy", "days": "30", "password": "pw-dev"})


def token_revoke(world):
    from portal.api.models import ApiToken

    token, _ = ApiToken.objects.issue(world.people["dev"], label="ci")
    return Request(world.people["dev"], "POST", reverse("token-revoke", args=[token.pk]))


# The API's own routes for the same actions: the same setup, the pipeline's request.
def approve_change_api(world):
    return Request(world.people["approver"], "POST", f"/api/v1/changes/{world.awaiting_approval().pk}/approve/", api=True)


def discard_change_api(world):
    return Request(world.people["approver"], "POST", f"/api/v1/changes/{world.awaiting_approval().pk}/discard/", api=True)


def platform_plan_api(world):
    workspace = world.platform_workspace(cluster_path())
    return Request(world.people["admin"], "POST", f"/api/v1/platform/workspaces/{workspace.pk}/plan/", api=True)


def force_unlock_api(world):
    page = force_unlock(world)
    workspace_id = page.url.rstrip("/").split("/")[-2]
    body = {"lock_id": page.data["lock_id"], "confirm": True}
    return Request(world.people["admin"], "POST", f"/api/v1/workspaces/{workspace_id}/unlock/", body, api=True)


def administrators_add_api(world):
    world.applied_administrators({"iam": {"name_patterns": ["art-service-*"]}, "ecs": {"name_patterns": ["art-service-*"]}})
    body = {"service_type": "logs", "name_patterns": ["art-service-*"]}
    return Request(world.people["admin"], "POST", "/api/v1/administrators/", body, api=True)


def administrators_scope_api(world):
    body = {"name_patterns": ["art-service-*", "legacy-billing"]}
    return Request(world.people["admin"], "PATCH", "/api/v1/administrators/ecr/", body, api=True)


def administrators_retire_api(world):
    world.applied_administrators({"iam": {"name_patterns": ["art-service-*"]}, "ecs": {"name_patterns": ["art-service-*"]}})
    return Request(world.people["admin"], "DELETE", "/api/v1/administrators/ecs/", api=True)


def webhook_add_platform_api(world):
    return Request(world.people["admin"], "POST", "/api/v1/webhooks/", HOOK, api=True)


def webhook_add_service_api(world):
    service = world.onboarded()
    return Request(world.people["dev"], "POST", f"/api/v1/services/{service.name}/webhooks/", HOOK, api=True)


def webhook_remove_api(world):
    service = world.onboarded()
    hook = Webhook.objects.create(service=service, url=HOOK["url"], events=HOOK["events"], created_by=world.people["dev"])
    return Request(world.people["dev"], "DELETE", f"/api/v1/webhooks/{hook.pk}/", api=True)


def drift_check_api(world):
    workspace = world.onboarded().workspaces.order_by("apply_order").first()
    return Request(world.people["dev"], "POST", f"/api/v1/workspaces/{workspace.pk}/drift/check/", api=True)


def drift_restore_api(world):
    page = drift_restore(world)
    workspace_id = page.url.rstrip("/").split("/")[-2]
    return Request(world.people["dev"], "POST", f"/api/v1/workspaces/{workspace_id}/drift/restore/", api=True)


def rollout_propose(world):
    world.onboarded()  # applied before module versions were recorded: behind ecs-service's version
    return Request(world.people["admin"], "POST", reverse("rollouts:propose"), {"module": "ecs-service"})


def rollout_propose_api(world):
    world.onboarded()
    return Request(world.people["admin"], "POST", "/api/v1/rollouts/", {"module": "ecs-service"}, api=True)


def halted_rollout(world):
    """A rollout of one wave, halted: its wave did not apply."""
    from portal.rollouts import rollout as rollouts

    world.onboarded()
    proposed = rollouts.propose_rollout("ecs-service", world.people["admin"])
    rollouts.halt(proposed, proposed.waves.get(), "Wave 1 did not apply.")
    return proposed


def rollout_resume(world):
    return Request(world.people["admin"], "POST", reverse("rollouts:resume", args=[halted_rollout(world).pk]))


def rollout_resume_api(world):
    return Request(world.people["admin"], "POST", f"/api/v1/rollouts/{halted_rollout(world).pk}/resume/", api=True)


def queue_job_delete(world, route: str = "django_rq:delete_job"):
    """A job waiting in the first queue, deleted by a superuser on django-rq's dashboard."""
    from django.contrib.auth import get_user_model
    from django_rq.queues import get_queue_by_index

    root = get_user_model().objects.create_superuser("root", password="pw-root")
    first = get_queue_by_index(0)
    # A plain RQ queue of the same name: django-rq's own would enqueue only when the test's transaction commits.
    job = Queue(first.name, connection=first.connection).enqueue("builtins.len", "nothing to do", result_ttl=0)
    return Request(root, "POST", reverse(route, args=[0, job.id]))


def queue_job_delete_in_admin(world):
    return queue_job_delete(world, "admin:django_rq_delete_job")


@dataclass(frozen=True)
class Walk:
    action: str
    build: Callable[[World], Request]
    team: str = ""  # the team the event must name: the owning team of the service acted on


# Route -> the valid requests that write there, and what each must record.
WALKS: dict[str, list[Walk]] = {
    "login": [Walk("user.login", login)],
    "catalog:service-register": [Walk("service.register", register_page, TEAM)],
    "catalog:service-change": [Walk("service.change", change_page, TEAM)],
    "catalog:service-decommission": [Walk("service.decommission", decommission_page, TEAM)],
    "catalog:service-rollback": [Walk("service.rollback", rollback_page, TEAM)],
    "catalog:service-move": [Walk("service.move", service_move_page, "blue")],
    "access:teams": [Walk("team.create", team_create_page, "pay-ops")],
    "access:member-add": [Walk("team.member_add", member_add_page, TEAM)],
    "access:member-remove": [Walk("team.member_remove", member_remove_page, TEAM)],
    "runs:run-approve": [Walk("change.approve", approve_run_page, TEAM)],
    "runs:run-discard": [Walk("change.discard", discard_run_page, TEAM)],
    "runs:run-cancel": [Walk("run.cancel", cancel_page, TEAM)],
    "changes:approve": [Walk("change.approve", approve_change_page, TEAM)],
    "changes:discard": [Walk("change.discard", discard_change_page, TEAM)],
    "policy:override": [Walk("policy.override", override_page, TEAM)],
    "costs:override": [Walk("cost.override", cost_override_page, TEAM)],
    "platform:plan": [Walk("platform.plan", platform_plan)],
    "capacity:change-cluster": [Walk("cluster.change", cluster_change)],
    "workspace:unlock": [Walk("lock.force_unlock", force_unlock, TEAM)],
    "administrators:add": [Walk("administrators.change", administrators_add)],
    "administrators:scope": [Walk("administrators.change", administrators_scope)],
    "administrators:retire": [Walk("administrators.change", administrators_retire)],
    "notifications:platform": [Walk("webhook.add", webhook_add_platform)],
    "notifications:service": [Walk("webhook.add", webhook_add_service, TEAM)],
    "notifications:remove": [Walk("webhook.remove", webhook_remove, TEAM)],
    "drift:check": [Walk("drift.check", drift_check, TEAM)],
    "drift:restore": [Walk("drift.restore", drift_restore, TEAM)],
    "rollouts:propose": [Walk("rollout.propose", rollout_propose)],
    "rollouts:resume": [Walk("rollout.resume", rollout_resume)],
    "tokens": [Walk("token.issue", token_issue)],
    "token-revoke": [Walk("token.revoke", token_revoke)],
    "django_rq:delete_job": [Walk("queue.change", queue_job_delete)],
    "admin:django_rq_delete_job": [Walk("queue.change", queue_job_delete_in_admin)],
    "api:service-list": [Walk("service.register", register_api, TEAM)],
    "api:service-detail": [Walk("service.change", change_api, TEAM), Walk("service.decommission", decommission_api, TEAM)],
    "api:service-deployments": [Walk("service.deploy", deploy_api, TEAM)],
    "api:run-approve": [Walk("change.approve", approve_api, TEAM)],
    "api:run-discard": [Walk("change.discard", discard_api, TEAM)],
    "api:run-cancel": [Walk("run.cancel", cancel_api, TEAM)],
    "api:run-policy-override": [Walk("policy.override", override_api, TEAM)],
    "api:run-cost-override": [Walk("cost.override", cost_override_api, TEAM)],
    "api:change-approve": [Walk("change.approve", approve_change_api, TEAM)],
    "api:change-discard": [Walk("change.discard", discard_change_api, TEAM)],
    "api:platform-plan": [Walk("platform.plan", platform_plan_api)],
    "api:workspace-unlock": [Walk("lock.force_unlock", force_unlock_api, TEAM)],
    "api:administrator-list": [Walk("administrators.change", administrators_add_api)],
    "api:administrator-detail": [Walk("administrators.change", administrators_scope_api), Walk("administrators.change", administrators_retire_api)],
    "api:rollouts": [Walk("rollout.propose", rollout_propose_api)],
    "api:rollout-resume": [Walk("rollout.resume", rollout_resume_api)],
    "api:platform-webhooks": [Walk("webhook.add", webhook_add_platform_api)],
    "api:service-webhooks": [Walk("webhook.add", webhook_add_service_api, TEAM)],
    "api:webhook-detail": [Walk("webhook.remove", webhook_remove_api, TEAM)],
    "api:workspace-drift-check": [Walk("drift.check", drift_check_api, TEAM)],
    "api:workspace-drift-restore": [Walk("drift.restore", drift_restore_api, TEAM)],
}

# Routes whose views take a writing method and record nothing, each with why.
PAGE_READS = "a page that reads: its view takes any method and answers it as a GET, changing nothing"
UNRECORDED: dict[str, str] = {
    "home": "the home page redirects to the service list",
    "healthz": "the health check reads",
    "logout": "ends the session; the portal's state does not change",
    "oidc_authentication_init": "single sign-on's start only redirects to the identity provider",
    "oidc_authentication_callback": "single sign-on's return records the login (user.login), what the provider's "
    "groups changed (user.sso_sync) or the refusal (user.login_failed); walked against a real provider in "
    "tests/integration/accounts/test_sso.py",
    "catalog:service-list": PAGE_READS,
    "catalog:service-detail": PAGE_READS,
    "catalog:service-history": PAGE_READS,
    "runs:run-list": PAGE_READS,
    "runs:run-detail": PAGE_READS,
    "runs:run-log": PAGE_READS,
    "changes:detail": PAGE_READS,
    "changes:status": PAGE_READS,
    "platform:page": PAGE_READS,
    "workspace:detail": PAGE_READS,
    "administrators:list": PAGE_READS,
    "audit:list": PAGE_READS,
    "audit:export": PAGE_READS,
}

# Whole namespaces of libraries' views, each with why they are not walked route by route.
UNRECORDED_NAMESPACES: dict[str, str] = {
    "admin:": "the admin site: every add, change and delete it makes is recorded from its log entry, whatever the "
    "model (portal.audit.admin_site; test_the_admin_sites_writes_are_recorded); users and groups from their signals; "
    "the copy of django-rq's dashboard under it as django-rq's own (below)",
    "django_rq:": "django-rq's dashboard, for superusers, a library's views: its POSTs that delete, requeue, enqueue or "
    "stop jobs or empty a queue are recorded by portal.audit.queues.QueueDashboardMiddleware (`queue.change`), walked "
    "here for delete_job; the rest read",
}


def unrecorded_reason(key: str) -> str | None:
    if key in UNRECORDED:
        return UNRECORDED[key]
    return next((reason for prefix, reason in UNRECORDED_NAMESPACES.items() if key.startswith(prefix)), None)


# --- the tests --------------------------------------------------------------------------------------
def test_every_writing_route_is_walked_or_listed():
    writing = writing_routes()
    neither = sorted(
        f"{key} ({route.pattern}: {', '.join(sorted(allowed_methods(route.view) & set(WRITING)))})"
        for key, route in writing.items()
        if key not in WALKS and unrecorded_reason(key) is None
    )
    assert not neither, "Writing routes neither walked (WALKS) nor listed with a reason (UNRECORDED): " + "; ".join(neither)
    both = sorted(key for key in WALKS if key in UNRECORDED)
    assert not both, f"Walked and listed as unrecorded at once: {both}"
    stale = sorted(key for key in [*WALKS, *UNRECORDED] if key not in writing)
    assert not stale, f"Listed here, but no such writing route any more: {stale}"


def test_the_routes_found_include_the_api_and_the_views_methods_are_read_right():
    keys = writing_routes()
    assert {"api:service-list", "api:run-cancel", "catalog:service-register", "admin:index"} <= set(keys)
    assert allowed_methods(keys["drift:check"].view) == {"POST"}
    assert allowed_methods(keys["api:service-detail"].view) >= {"GET", "PATCH", "DELETE"}
    reads_only = {route.key for route in routes()} - set(keys)
    assert {"catalog:service-register-preview", "api:audit-list", "api:run-detail"} <= reads_only


@pytest.fixture
def world(people, make_user, service_form_data, parked_queue, settings, dns):
    # A bucket of the emulator's for the state locks a force-unlock removes.
    bucket = f"portal-test-{uuid.uuid4().hex[:10]}"
    aws_client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": settings.AWS_REGION})
    settings.STATE_BUCKET = bucket
    return World(people, make_user, service_form_data)


def perform(client, request: Request):
    if request.api:
        api = api_for(request.user)
        return getattr(api, request.method.lower())(request.url, request.data or None, format="json", headers=request.headers)
    if request.user is not None:
        client.force_login(request.user)
    if request.method == "POST":
        return client.post(request.url, request.data, headers=request.headers)
    return getattr(client, request.method.lower())(request.url, json.dumps(request.data), content_type="application/json")


WALKED = [(key, walk) for key, walks in WALKS.items() for walk in walks]


@pytest.mark.parametrize("key, walk", WALKED, ids=[f"{key}-{walk.action}" for key, walk in WALKED])
def test_a_valid_write_records_its_action(client, world, key, walk):
    request = walk.build(world)
    assert reverse_key(request.url) == key, f"{request.url} is not the route {key}"
    since = (AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    response = perform(client, request)

    assert response.status_code < 400, (response.status_code, getattr(response, "content", b"")[-500:])
    events = list(AuditEvent.objects.filter(id__gte=since).exclude(action="token.issue" if request.api else ""))
    assert [event.action for event in events if event.action == walk.action] == [walk.action], [e.action for e in events]
    [event] = [event for event in events if event.action == walk.action]
    assert event.actor_username == (request.user.username if request.user else "dev")
    assert event.team == walk.team, (event.team, event.object_type, event.object_label)


def reverse_key(url: str) -> str:
    from django.urls import resolve

    match = resolve(url.split("?")[0])
    return f"{match.namespace}:{match.url_name}" if match.namespace else (match.url_name or match.route)


def test_the_admin_sites_writes_are_recorded(client, people, django_user_model, service_form_data, dns):
    """Through the admin's own pages: a webhook changed (the team of its service), a token deleted."""
    root = django_user_model.objects.create_superuser("root", password="pw-root")
    service, _ = register_service(people["dev"], **service_form_data)
    hook = Webhook.objects.create(service=service, url=HOOK["url"], events=HOOK["events"], created_by=people["dev"])
    from portal.api.models import ApiToken

    token, _ = ApiToken.objects.issue(people["dev"], label="old")
    client.force_login(root)
    since = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() + 1

    changed = client.post(
        reverse("admin:notifications_webhook_change", args=[hook.pk]),
        {
            "service": service.pk,
            "url": HOOK["url"],
            "events": json.dumps(["applied"]),
            "active": "",
            "created_by": people["dev"].pk,
            "created_at_0": "2026-12-01",
            "created_at_1": "10:00:00",
        },
    )
    deleted = client.post(reverse("admin:api_apitoken_delete", args=[token.pk]), {"post": "yes"})

    errors = changed.context["adminform"].form.errors if changed.status_code == 200 else None
    assert changed.status_code == 302 and deleted.status_code == 302, (errors, deleted.status_code)
    assert LogEntry.objects.filter(action_flag=CHANGE, content_type=ContentType.objects.get_for_model(Webhook)).exists()
    events = list(AuditEvent.objects.filter(id__gte=since).order_by("id"))
    assert [(e.action, e.object_type, e.actor_username) for e in events] == [
        ("admin.change", "notifications.webhook", "root"),
        ("admin.delete", "api.apitoken", "root"),
    ]
    assert events[0].team == TEAM and events[0].object_id == str(hook.pk) and "Active" in json.dumps(events[0].details)
    assert events[1].object_id == str(token.pk) and events[1].object_label == str(token) and events[1].team == ""
    # Deliveries are read only there: an add would save an empty row (it was a 500).
    assert client.post(reverse("admin:notifications_delivery_add"), {}).status_code == 403


def test_the_team_is_the_owning_services_or_the_one_named(people, service_form_data):
    from portal import audit

    service, change = register_service(people["dev"], **service_form_data)
    run = first_run(change)
    assert [audit.record("run.cancel", people["dev"], obj).team for obj in (service, change, run, run.workspace)] == [TEAM] * 4
    platform = audit.record("platform.plan", people["admin"], sync_platform_workspaces()[0])
    named = audit.record("token.issue", people["admin"], None, team="pay")
    assert (platform.team, named.team, audit.record("token.issue", people["dev"], people["dev"]).team) == ("", "pay", "")
