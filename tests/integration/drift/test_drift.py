"""Drift detection: the sweep picks the due workspaces, the badge shows what drifted, its buttons
need the page's permission. End to end, with terraform, a change made behind the portal's back found
and restored through an ordinary change: tests/e2e/drift/test_drift_restored.py."""

import os
import uuid
from datetime import timedelta
from pathlib import Path

import django_rq
import pytest
from django.urls import reverse
from django.utils import timezone
from rq import Queue
from rq.registry import ScheduledJobRegistry

from portal.drift import checks, scheduling
from portal.drift.models import DriftCheck
from portal.runs.models import Run, RunStatus
from portal.workspaces.models import Workspace
from tests.conftest import plan_approve_apply

FIGURES = Path(os.environ["PORTAL_WORKSPACES_DIR"]) / "drift-figures.txt"


def figure(text: str) -> None:
    print(text)
    with FIGURES.open("a") as handle:
        handle.write(text + "\n")


@pytest.fixture
def drift_queue(monkeypatch, settings):
    """The drift jobs of a fast test go to a queue of their own that no worker takes."""
    queue = Queue(f"{settings.DRIFT_QUEUE}-parked-{uuid.uuid4().hex[:6]}", connection=django_rq.get_connection(settings.RQ_QUEUE))
    monkeypatch.setattr(scheduling, "queue", lambda: queue)
    yield queue
    queue.empty()
    registry = ScheduledJobRegistry(queue=queue)
    for job_id in registry.get_job_ids():
        registry.remove(job_id, delete_job=True)


def applied_workspace(path: str, *, kind=Run.Kind.APPLY, status=RunStatus.APPLIED, service=None) -> Workspace:
    workspace = Workspace.objects.create(path=path, module="ecr-repository", variables={"name": path.rsplit("/", 1)[-1]}, service=service)
    Run.objects.create(workspace=workspace, kind=kind, status=status, variables=workspace.variables, finished_at=timezone.now())
    return workspace


def checked(workspace: Workspace, ago: float, **fields) -> DriftCheck:
    return DriftCheck.objects.create(workspace=workspace, checked_at=timezone.now() - timedelta(seconds=ago), **fields)


DRIFT = [{"address": "module.this.aws_ecr_repository.this", "attribute": "image_tag_mutability", "before": '"IMMUTABLE"', "after": '"MUTABLE"'}]


# --- the sweep -------------------------------------------------------------------------------------
def test_the_sweep_picks_applied_workspaces_that_are_due_and_skips_busy_ones(db, settings, drift_queue):
    settings.DRIFT_INTERVAL = 3600
    never_checked = applied_workspace("ecs/ecr-repositories/never-checked")
    long_ago = applied_workspace("ecs/ecr-repositories/long-ago")
    checked(long_ago, 7200)
    recent = applied_workspace("ecs/ecr-repositories/recent")
    checked(recent, 60)
    busy = applied_workspace("ecs/ecr-repositories/busy")
    Run.objects.create(workspace=busy, status=RunStatus.PLANNING, variables=busy.variables)
    applied_workspace("ecs/ecr-repositories/destroyed", kind=Run.Kind.DESTROY)
    applied_workspace("ecs/ecr-repositories/failed", status=RunStatus.FAILED)
    Workspace.objects.create(path="ecs/ecr-repositories/new", module="ecr-repository")

    assert {w.path for w in scheduling.due_workspaces()} == {never_checked.path, long_ago.path}

    assert scheduling.sweep() == 2
    assert sorted(job.kwargs["workspace_id"] for job in drift_queue.jobs) == sorted([never_checked.pk, long_ago.pk])
    assert scheduling.sweep() == 0, "a check that waits already is not queued twice"
    assert len(drift_queue) == 2
    assert len(ScheduledJobRegistry(queue=drift_queue)) == 1, "one next sweep, however often it is asked for"


def test_an_interval_of_0_turns_drift_detection_off(db, settings, drift_queue):
    settings.DRIFT_INTERVAL = 0
    applied_workspace("ecs/ecr-repositories/never-checked")
    assert not scheduling.due_workspaces().exists()
    assert scheduling.sweep() == 0
    assert scheduling.schedule_next_sweep() is None
    assert len(ScheduledJobRegistry(queue=drift_queue)) == 0


@pytest.mark.parametrize("value", ["-1", "soon", "1.5"])
def test_a_bad_interval_is_refused_at_start(value):
    import subprocess
    import sys

    env = {**os.environ, "PORTAL_DRIFT_INTERVAL": value}
    result = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'portal.settings'); django.setup()"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "PORTAL_DRIFT_INTERVAL must be a whole number of seconds" in result.stderr


def update(address: str, type_: str, before: dict, after: dict, **change) -> dict:
    return {"address": address, "type": type_, "change": {"actions": ["update"], "before": before, "after": after, **change}}


REPOSITORY = "module.this.aws_ecr_repository.this"


def test_drift_is_what_the_plan_sets_back_with_sensitive_values_masked():
    sensitive = {"before_sensitive": {"secret": True}, "after_sensitive": {"secret": True}}
    plan = {
        "resource_drift": [
            update(
                REPOSITORY,
                "aws_ecr_repository",
                {"image_tag_mutability": "IMMUTABLE", "tags": {"Team": "a"}, "secret": "s1", "registry_id": "1"},
                {"image_tag_mutability": "MUTABLE", "tags": {"Team": "b"}, "secret": "s2", "registry_id": "2"},
                **sensitive,
            ),
            {
                "address": "module.this.aws_ecr_lifecycle_policy.this[0]",
                "type": "aws_ecr_lifecycle_policy",
                "change": {"actions": ["delete"], "before": {}, "after": None},
            },
        ],
        # The plan sets the mutability, the tag and the secret back; registry_id is the provider's.
        "resource_changes": [
            update(
                REPOSITORY,
                "aws_ecr_repository",
                {"image_tag_mutability": "MUTABLE", "tags": {"Team": "b"}, "secret": "s2", "registry_id": "2"},
                {"image_tag_mutability": "IMMUTABLE", "tags": {"Team": "a"}, "secret": "s1", "registry_id": "2"},
                **sensitive,
            )
        ],
    }
    assert checks.drifted_attributes(plan) == [
        {"address": REPOSITORY, "attribute": "image_tag_mutability", "before": '"IMMUTABLE"', "after": '"MUTABLE"'},
        {"address": REPOSITORY, "attribute": "secret", "before": "(sensitive value)", "after": "(sensitive value)"},
        {"address": REPOSITORY, "attribute": "tags.Team", "before": '"a"', "after": '"b"'},
        {"address": "module.this.aws_ecr_lifecycle_policy.this[0]", "attribute": "(the resource)", "before": "exists", "after": "deleted"},
    ]


# A policy attached by an attachment resource, a role given managed policies by attachments, a group
# whose rules are resources of their own: AWS's answers move after the apply, the plan leaves them.
SIDE_EFFECTS = [
    update("aws_iam_policy.runner", "aws_iam_policy", {"attachment_count": 0}, {"attachment_count": 2}),
    update("aws_iam_role.task", "aws_iam_role", {"managed_policy_arns": []}, {"managed_policy_arns": ["arn:aws:iam::aws:policy/x"]}),
    update("aws_security_group.tasks", "aws_security_group", {"ingress": None}, {"ingress": [{"from_port": 8082, "to_port": 8082}]}),
]


def test_what_the_provider_computes_or_another_resource_manages_is_not_drift():
    assert checks.drifted_attributes({"resource_drift": SIDE_EFFECTS, "resource_changes": []}) == []


def test_an_attribute_another_change_depends_on_is_drift():
    # relevant_attributes: terraform names what the plan's changes read, here the group's ingress.
    plan = {
        "resource_drift": SIDE_EFFECTS,
        "resource_changes": [],
        "relevant_attributes": [{"resource": "aws_security_group.tasks", "attribute": ["ingress"]}],
    }
    found = checks.drifted_attributes(plan)
    assert found and {item["address"] for item in found} == {"aws_security_group.tasks"}
    assert all(item["attribute"].startswith("ingress") for item in found)


def test_a_check_records_the_drift_and_tells_the_webhooks_only_when_it_is_new(db, monkeypatch, django_capture_on_commit_callbacks):
    from portal.notifications.models import Delivery, Webhook

    Webhook.objects.create(url="https://hooks.example.com/drift", events=["drift_found"])
    workspace = applied_workspace("ecs/ecr-repositories/watched")
    found = {"drift": DRIFT}
    monkeypatch.setattr(checks, "drift_plan", lambda workspace, variables, on_output: found["drift"])
    monkeypatch.setattr("portal.notifications.events.queue_delivery", lambda pk: None)

    first = checks.run_check(workspace.pk)
    again = checks.run_check(workspace.pk)
    assert first.drifted and first.drift == DRIFT and again.drifted
    [delivery] = Delivery.objects.all()
    assert delivery.payload["drift"]["workspace"] == workspace.path and delivery.payload["drift"]["attributes"] == DRIFT

    found["drift"] = []
    assert not checks.run_check(workspace.pk).drifted
    Run.objects.create(workspace=workspace, status=RunStatus.QUEUED, variables=workspace.variables)
    assert checks.run_check(workspace.pk) is None, "not while a run is going on"
    assert workspace.drift_checks.count() == 3


# --- the badge and its buttons ---------------------------------------------------------------------
@pytest.fixture
def onboarded(db, make_user, service_form_data, parked_queue):
    from portal.catalog.onboarding import register_service

    dev, approver = make_user("dev", "developers"), make_user("approver", "approvers")
    service, change = register_service(dev, **service_form_data)
    plan_approve_apply(change, approver)
    return service


def test_the_service_page_shows_the_drift_and_the_buttons_to_those_who_may_change_it(client, make_user, onboarded):
    workspace = onboarded.workspaces.order_by("apply_order").first()
    checked(workspace, 10, drifted=True, drift=DRIFT)
    client.force_login(onboarded.created_by)
    page = client.get(reverse("catalog:service-detail", args=[onboarded.name])).content.decode()
    assert "Drifted" in page and "image_tag_mutability" in page and "&quot;IMMUTABLE&quot;" in page and "&quot;MUTABLE&quot;" in page
    assert "Plan to restore" in page and "Check now" in page

    viewer = make_user("viewer2", "approvers")
    client.force_login(viewer)
    page = client.get(reverse("catalog:service-detail", args=[onboarded.name])).content.decode()
    assert "Drifted" in page and "Plan to restore" not in page


def test_a_workspace_never_checked_offers_a_check_at_once_and_a_decommissioned_service_shows_no_drift_nor_webhooks(client, make_user, onboarded):
    from portal.catalog.onboarding import decommission_service

    client.force_login(onboarded.created_by)
    page = client.get(reverse("catalog:service-detail", args=[onboarded.name])).content.decode()
    drift = page.split('id="drift"')[1].split("</div>\n<h2")[0]
    assert drift.count("Not checked yet") == 2 and drift.count("Check now") == 2, "both workspaces, before the first scheduled check"
    assert "<h2>Webhooks" in page

    for workspace in onboarded.workspaces.all():
        checked(workspace, 10)  # in sync, then decommissioned
    plan_approve_apply(decommission_service(onboarded, make_user("admin", "admins")), make_user("approver3", "approvers"))
    page = client.get(reverse("catalog:service-detail", args=[onboarded.name])).content.decode()
    assert "Decommissioned" in page
    assert 'id="drift"' not in page and "In sync" not in page, "nothing of it is in AWS to be in sync"
    assert "<h2>Webhooks" not in page


def test_plan_to_restore_proposes_the_last_applied_inputs_as_an_ordinary_change(client, onboarded, parked_queue):
    workspace = onboarded.workspaces.order_by("apply_order").first()
    checked(workspace, 10, drifted=True, drift=DRIFT)
    client.force_login(onboarded.created_by)
    response = client.post(reverse("drift:restore", args=[workspace.pk]))
    run = workspace.runs.order_by("-created_at").first()
    assert response.status_code == 302 and response.url == reverse("changes:detail", args=[run.change_id])
    assert run.status == RunStatus.QUEUED and run.variables == checks.applied_variables(workspace)
    assert run.change.service_id == onboarded.pk and run.change.requested_by == onboarded.created_by


def test_plan_to_restore_is_refused_while_a_decommission_waits_and_leaves_it_pending(client, make_user, onboarded, parked_queue):
    from portal.catalog.models import Lifecycle
    from portal.catalog.onboarding import decommission_service

    workspace = onboarded.workspaces.order_by("apply_order").first()
    decommission = decommission_service(onboarded, make_user("admin", "admins"))  # admins decommission
    checked(workspace, 10, drifted=True, drift=DRIFT)
    client.force_login(onboarded.created_by)
    runs_before = set(workspace.runs.values_list("pk", flat=True))

    response = client.post(reverse("drift:restore", args=[workspace.pk]), follow=True)
    assert response.redirect_chain == [(reverse("catalog:service-detail", args=[onboarded.name]), 302)]
    assert "is being decommissioned; discard that change first" in response.content.decode()
    response = client.post(reverse("drift:restore", args=[workspace.pk]), headers={"Accept": "application/json"})
    assert response.status_code == 409 and "being decommissioned" in response.content.decode()

    onboarded.refresh_from_db()
    assert onboarded.status == Lifecycle.DECOMMISSIONING
    assert set(workspace.runs.values_list("pk", flat=True)) == runs_before, "nothing proposed"
    assert all(run.status == RunStatus.QUEUED for run in decommission.runs.all()), "the decommission still waits"


def test_the_buttons_need_the_permission_functions_and_refuse_bad_requests(client, make_user, onboarded, drift_queue, parked_queue):
    workspace = onboarded.workspaces.order_by("apply_order").first()
    platform = applied_workspace("ecs/ecr-repositories/platform-repo")
    checked(platform, 10, drifted=True, drift=DRIFT)
    client.force_login(make_user("approver2", "approvers"))
    assert client.post(reverse("drift:restore", args=[workspace.pk])).status_code == 403, "restoring is a change"
    assert client.post(reverse("drift:check", args=[workspace.pk])).status_code == 302, "the team's approvers may check"
    client.force_login(make_user("outsider", "developers", team="other"))
    assert client.post(reverse("drift:check", args=[workspace.pk])).status_code == 403
    client.force_login(onboarded.created_by)  # a developer: may change services, not the platform
    assert client.post(reverse("drift:restore", args=[platform.pk])).status_code == 403
    assert client.get(reverse("drift:restore", args=[workspace.pk])).status_code == 405
    assert client.post(reverse("drift:restore", args=[987654])).status_code == 404
    assert client.post("/drift/workspaces/not-a-number/restore/").status_code == 404
    assert client.post(reverse("drift:restore", args=[workspace.pk])).status_code == 409, "no drift found"
    never = Workspace.objects.create(path="ecs/services/never-applied", module="ecs-service", service=onboarded)
    assert client.post(reverse("drift:check", args=[never.pk])).status_code == 409

    assert client.post(reverse("drift:check", args=[workspace.pk])).status_code == 302
    assert [job.kwargs for job in drift_queue.jobs] == [{"workspace_id": workspace.pk}]
    admin = make_user("admin", "admins")
    client.force_login(admin)
    assert client.post(reverse("drift:restore", args=[platform.pk])).status_code == 302
    assert Run.objects.filter(workspace=platform, status=RunStatus.QUEUED, requested_by=admin).exists()


# --- end to end ------------------------------------------------------------------------------------
