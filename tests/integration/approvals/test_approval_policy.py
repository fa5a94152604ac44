"""The approval policy in the workflow: the rule decided once a change's plans have all finished,
two approvals from two people, the portal's own approval of an image-only deploy after a healthy one
(and what still holds it), and what the pages, the API and the audit trail say. The plans are the
worker's `plan_read` step on `terraform show -json` excerpts (tests/unit/approvals); the same branches
on plans terraform made are in tests/e2e/approvals/."""

import re

import pytest
from django.urls import reverse

from portal.approvals.models import Approval, ApprovalRule
from portal.approvals.policy import read_plan
from portal.approvals.rules import Policy
from portal.audit.models import AuditEvent
from portal.catalog.onboarding import change_service, decommission_service, register_service
from portal.changes import inbox, workflow
from portal.policy.models import Finding
from portal.runs.models import Change, Run, RunStatus
from tests.conftest import api_for, plan_approve_apply, record_plan
from tests.unit.approvals.test_rules import NEW_IMAGE, definitions, plan, service, task_definition

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("parked_queue")]

GUARDED = Policy(image_deploys=0, two_approvals_for=frozenset({"aws_ecr_repository"}))
IMAGE_ONLY = plan(task_definition(definitions(), NEW_IMAGE), service())


@pytest.fixture(autouse=True)
def policy(settings):
    settings.APPROVAL_POLICY = GUARDED


@pytest.fixture
def applied_service(people, service_form_data):
    """A service registered and applied (healthy) by the worker's steps."""
    service, change = register_service(people["author"], **service_form_data)
    plan_approve_apply(change, people["approver"])
    service.refresh_from_db()
    return service


def planned(change, plans_by_module: dict) -> list[Run]:
    """The worker's plan of each run: plan_read (the policy's facts) for a workspace whose module has a
    plan here, nothing to change for the others."""
    for run in change.runs_in_order():
        shown = plans_by_module.get(run.workspace.module)
        if shown is not None:
            read_plan(sender=None, run=run, plan=shown, log=lambda text: None)
        record_plan(run, to_add=1 if shown is not None else 0)
    return change.runs_in_order()


def test_a_change_that_destroys_a_guarded_resource_needs_two_people(applied_service, people, client):
    change = decommission_service(applied_service, people["admin"])  # a decommission is proposed by an admin
    destroy = plan({"address": "module.this.aws_ecr_repository.this", "type": "aws_ecr_repository", "change": {"actions": ["delete"]}})
    runs = planned(change, {"ecr-repository": destroy, "ecs-service": plan()})
    rule = ApprovalRule.objects.get(change=change)
    assert (rule.approvals, rule.rule) == (2, "two_approvals") and "module.this.aws_ecr_repository.this (destroy)" in rule.reason
    decided = AuditEvent.objects.get(action="change.approvals_decided", object_id=str(change.pk))
    assert decided.actor is None and decided.details["approvals"] == 2

    client.force_login(people["approver"])
    first = client.post(reverse("changes:approve", args=[change.pk]), follow=True)
    assert "Your approval is recorded (1 of 2)" in first.content.decode()
    assert {run.status for run in change.runs_in_order()} <= {RunStatus.AWAITING_APPROVAL, RunStatus.NO_CHANGES}
    page = client.get(reverse("changes:detail", args=[change.pk])).content.decode()
    assert "Approved by approver; waiting for a second approval, from another person" in page and 'id="approvals-given">approver<' in page
    client.force_login(people["other-admin"])  # the list says it too, in the row of the change waiting for them
    listed = client.get(reverse("changes:list")).content.decode()
    row = re.search(rf'<tr data-change="{change.pk}">.*?</tr>', listed, re.S)[0]
    assert "Approved by approver; waiting for a second approval, from another person" in row
    client.force_login(people["approver"])
    assert change not in inbox.waiting_for(people["approver"]) and change in inbox.waiting_for(people["other-admin"])
    again = client.post(reverse("changes:approve", args=[change.pk]))
    assert again.status_code == 409 and b'data-code="approved_by_you"' in again.content
    assert api_for(people["admin"]).post(f"/api/v1/changes/{change.pk}/approve/").json()["code"] == "own_change"

    shown = api_for(people["other-admin"]).get(f"/api/v1/changes/{change.pk}/").json()
    assert shown["approvals"] == {"needed": 2, "rule": "two_approvals", "reason": rule.reason, "given": ["approver"]}
    second = api_for(people["other-admin"]).post(f"/api/v1/changes/{change.pk}/approve/")
    assert second.status_code == 202
    statuses = {run.workspace.module: Run.objects.get(pk=run.pk).status for run in runs}
    assert RunStatus.AWAITING_APPROVAL not in statuses.values()
    assert list(Approval.objects.filter(change=change).values_list("user__username", flat=True)) == ["approver", "other-admin"]
    approvals = AuditEvent.objects.filter(action="change.approve", object_id=str(change.pk)).order_by("pk")
    assert [(event.actor.username, event.details["approvals"]) for event in approvals] == [("approver", "1 of 2"), ("other-admin", "2 of 2")]


def test_an_image_only_deploy_after_a_healthy_one_is_approved_by_the_portal(applied_service, people, client):
    change = change_service(applied_service, people["author"], image_tag="1.1.0")
    runs = planned(change, {"ecs-service": IMAGE_ONLY})
    deploy = next(run for run in runs if run.workspace.module == "ecs-service")
    assert deploy.status == RunStatus.APPROVED and deploy.approved_by is None and deploy.approved_at is not None
    rule = ApprovalRule.objects.get(change=change)
    assert (rule.approvals, rule.rule) == (0, "image_deploy")
    approved = AuditEvent.objects.get(action="change.approve", object_id=str(change.pk))
    assert approved.actor is None and approved.details["rule"] == "image_deploy"

    client.force_login(people["author"])
    page = client.get(reverse("changes:detail", args=[change.pk])).content.decode()
    assert 'data-rule="image_deploy"' in page and "None needed: the portal approves it under its own name." in page
    assert 'approved by <span id="approved-by">the portal</span>' in page
    assert "Approved by the portal, under the approval policy; applying" in page
    run_page = client.get(reverse("runs:run-detail", args=[deploy.pk])).content.decode()
    assert "the portal, under the approval policy" in run_page


def test_what_the_policy_reads_is_the_plan_not_the_form(applied_service, people):
    change = change_service(applied_service, people["author"], image_tag="1.1.0")
    more = plan(task_definition(definitions(), definitions(image="web:1.1.0", memory=1024)), service())  # the plan says more than the form
    planned(change, {"ecs-service": more})
    assert ApprovalRule.objects.get(change=change).approvals == 1
    assert {run.status for run in change.runs_in_order()} <= {RunStatus.AWAITING_APPROVAL, RunStatus.NO_CHANGES}


def test_an_image_deploy_after_an_unhealthy_one_or_a_first_deploy_needs_one_approval(people, service_form_data):
    service, change = register_service(people["author"], **service_form_data)
    planned(change, {"ecs-service": IMAGE_ONLY})  # not possible on a first plan, but the rule must not trust that
    assert ApprovalRule.objects.get(change=change).reason.endswith("but the service has not been deployed before.")
    workflow.approve(change, people["approver"])
    for run in change.runs_in_order():
        if run.status == RunStatus.APPROVED and run.start_applying():
            run.finish_applied_unhealthy({}, "The deployment did not become healthy.")
            workflow.advance(change)
    service.refresh_from_db()
    again = change_service(service, people["author"], image_tag="1.1.0")
    planned(again, {"ecs-service": IMAGE_ONLY})
    rule = ApprovalRule.objects.get(change=again)
    assert rule.approvals == 1 and rule.reason.endswith("but its last deploy did not become healthy (applied, unhealthy).")


def test_a_finding_that_blocks_keeps_one_approval_and_says_why(applied_service, people):
    change = change_service(applied_service, people["author"], image_tag="1.1.0")
    deploy = next(run for run in change.runs_in_order() if run.workspace.module == "ecs-service")
    Finding.objects.create(run=deploy, check_id="CKV_AWS_1", check_name="a check", resource_address="x", severity="HIGH", blocking=True)
    planned(change, {"ecs-service": IMAGE_ONLY})
    rule = ApprovalRule.objects.get(change=change)
    assert rule.approvals == 1 and "It still needs one approval: The policy check blocks this change: CKV_AWS_1" in rule.reason
    assert Run.objects.get(pk=deploy.pk).status == RunStatus.AWAITING_APPROVAL


def test_the_policy_page_says_the_policy_and_the_decisions_each_may_read(applied_service, people, client):
    change = change_service(applied_service, people["author"], image_tag="1.1.0")
    planned(change, {"ecs-service": IMAGE_ONLY})
    platform = Change.objects.create(title="Plan the network", requested_by=people["admin"])  # no service: the admins'
    ApprovalRule.objects.create(change=platform, approvals=1, rule="one_approval", reason="Any change not named by the policy.")
    client.force_login(people["dev"])
    page = client.get(reverse("approvals:policy")).content.decode()
    assert "Two approvals, from two people" in page and "aws_ecr_repository" in page
    assert reverse("changes:detail", args=[change.pk]) in page, "the developer's team's change"
    assert reverse("changes:detail", args=[platform.pk]) not in page, "a change the developer may not read"
    client.force_login(people["admin"])
    assert reverse("changes:detail", args=[platform.pk]) in client.get(reverse("approvals:policy")).content.decode()
