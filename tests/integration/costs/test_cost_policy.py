"""The cost before the approval: the worker's plan_read receiver prices the plan, the change and run
pages and the API show it, and a change above PORTAL_COST_HOLD_ABOVE (or one that could not be priced)
waits for an admin's written override before anyone may approve it."""

from decimal import Decimal

import pytest
from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.changes import workflow
from portal.costs.estimate import load_table
from portal.costs.models import CostEstimate, CostOverride
from portal.costs.policy import price_plan
from portal.runs.models import RunStatus
from tests.conftest import api_for, record_plan

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("parked_queue")]


def cluster_plan(instance_type: str, count: int) -> dict:
    """`terraform show -json`'s resource_changes for a new group of `count` instances and a load balancer."""

    def created(address, kind, after):
        return {"address": address, "mode": "managed", "type": kind, "name": "this", "change": {"actions": ["create"], "before": None, "after": after}}

    template = {"name": "probe", "instance_type": instance_type, "block_device_mappings": [{"ebs": [{"volume_size": 30}]}]}
    group = {"desired_capacity": count, "min_size": count, "launch_template": [{"name": "probe"}]}
    return {
        "resource_changes": [
            created("module.this.aws_launch_template.this", "aws_launch_template", template),
            created("module.this.aws_autoscaling_group.this", "aws_autoscaling_group", group),
            created("module.this.aws_lb.this", "aws_lb", {"load_balancer_type": "application", "internal": False, "subnets": ["subnet-a", "subnet-b"]}),
        ]
    }


@pytest.fixture
def change(people, service_form_data):
    from portal.catalog.onboarding import register_service

    _, change = register_service(people["author"], **service_form_data)
    return change


def planned(change, plan) -> list[str]:
    """The worker's step for each run: plan_read's receivers (the price among them), then the plan offered."""
    lines = []
    for run in change.runs_in_order():
        price_plan(sender=None, run=run, plan=plan, log=lines.append)
        record_plan(run)
    return lines


def test_a_change_above_the_limit_waits_for_an_admins_written_override(change, people, client, settings):
    settings.COST_HOLD_ABOVE = 100
    lines = planned(change, cluster_plan("m5.xlarge", 1))
    table = load_table(settings.AWS_REGION)
    one = Decimal(str(table.prices["ec2_instance_hour"]["m5.xlarge"])) * 730 + 30 * Decimal(str(table.prices["ebs_gp3_gb_month"]))
    one += 730 * (Decimal(str(table.prices["alb_hour"])) + Decimal(str(table.prices["alb_lcu_hour"])))
    one += 2 * 730 * Decimal(str(table.prices["public_ipv4_hour"]))  # the load balancer's address in each of its 2 zones
    runs = change.runs_in_order()
    assert [CostEstimate.objects.get(run=run).difference for run in runs] == [one.quantize(Decimal("0.01"))] * len(runs)
    assert lines[0].startswith("[portal] Cost: $0.00 -> $") and f"the {settings.AWS_REGION} table" in lines[0]

    # The approver is held, on the page and through the API, with the sum and the limit.
    client.force_login(people["approver"])
    page = client.post(reverse("changes:approve", args=[change.pk]))
    assert page.status_code == 409 and b'data-code="cost_held"' in page.content
    assert b"above the cost policy&#x27;s $100.00" in page.content and b"cost-override-form" not in page.content
    answer = api_for(people["approver"]).post(f"/api/v1/runs/{runs[0].pk}/approve/")
    assert answer.status_code == 409 and answer.json()["code"] == "cost_held"
    assert not api_for(people["approver"]).post(f"/api/v1/runs/{runs[0].pk}/cost-override/", {"reason": "x" * 30}, format="json").status_code == 201

    # The page shows the estimate per resource; an admin who did not propose it sees the form.
    client.force_login(people["admin"])
    shown = client.get(reverse("changes:detail", args=[change.pk])).content.decode()
    assert 'data-address="module.this.aws_autoscaling_group.this"' in shown and "1 × m5.xlarge at $0.214/h" in shown.replace("0.2140", "0.214")
    assert "cost-override-form" in shown
    short = api_for(people["admin"]).post(f"/api/v1/runs/{runs[0].pk}/cost-override/", {"reason": "cheap"}, format="json")
    assert short.status_code == 400 and not CostOverride.objects.exists()
    reason = "Load test for the launch; torn down on Friday."
    done = api_for(people["admin"]).post(f"/api/v1/runs/{runs[0].pk}/cost-override/", {"reason": reason}, format="json")
    assert done.status_code == 201, done.json()
    assert done.json()["cost"]["override"]["by"] == people["admin"].username
    assert done.json()["cost"]["difference"] == str(one.quantize(Decimal("0.01")))
    event = AuditEvent.objects.get(action="cost.override")
    assert event.details["reason"] == reason and event.details["increase"] == f"${2 * one.quantize(Decimal('0.01')):,}"
    again = api_for(people["other-admin"]).post(f"/api/v1/runs/{runs[0].pk}/cost-override/", {"reason": reason}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_overridden"

    client.force_login(people["approver"])
    assert client.post(reverse("changes:approve", args=[change.pk])).status_code == 302
    assert {run.status for run in change.runs.all()} <= {RunStatus.APPROVED, RunStatus.AWAITING_APPROVAL, RunStatus.QUEUED}
    assert reason in client.get(reverse("runs:run-detail", args=[runs[0].pk])).content.decode()


def test_a_change_within_the_limit_is_approved_as_ever_and_has_nothing_to_override(change, people, client, settings):
    settings.COST_HOLD_ABOVE = 500
    planned(change, cluster_plan("t3.small", 1))
    assert workflow.approval_refusal(change, people["approver"]) is None
    run = change.runs_in_order()[0]
    nothing = api_for(people["admin"]).post(f"/api/v1/runs/{run.pk}/cost-override/", {"reason": "x" * 30}, format="json")
    assert nothing.status_code == 409 and nothing.json()["code"] == "nothing_to_override"
    assert api_for(people["approver"]).get(f"/api/v1/runs/{run.pk}/").json()["cost"]["override"] is None


def test_a_plan_that_cannot_be_priced_holds_its_change_and_says_why(change, people, settings):
    settings.COST_HOLD_ABOVE = 100000
    lines = planned(change, cluster_plan("x9.mega", 1))
    assert lines[0].startswith("[portal] Cost: not estimated: The ") and "x9.mega" in lines[0]
    refusal = workflow.approval_refusal(change, people["approver"])
    assert refusal.code == "cost_held" and "could not be priced" in refusal.message
    run = change.runs_in_order()[0]
    assert api_for(people["approver"]).get(f"/api/v1/runs/{run.pk}/").json()["cost"]["before"] is None


def test_a_flaw_in_the_estimate_holds_the_change_without_failing_the_plan_or_telling_the_plans_values(change, people, settings):
    settings.COST_HOLD_ABOVE = 100000
    plan = cluster_plan("t3.small", 1)
    # A shape the rules do not expect, holding a value that must not reach the log or the page.
    plan["resource_changes"][1]["change"]["after"]["desired_capacity"] = {"secret": "hunter2-value"}
    lines = planned(change, plan)
    assert lines[0] == "[portal] Cost: not estimated: the estimate failed (TypeError); the worker's log has the traceback\n"
    assert "hunter2" not in "".join(lines) and "hunter2" not in CostEstimate.objects.first().error
    assert {run.status for run in change.runs.all()} == {RunStatus.AWAITING_APPROVAL}
    assert workflow.approval_refusal(change, people["approver"]).code == "cost_held"


def test_the_proposer_may_not_lift_the_hold_on_their_own_change_even_as_an_admin(people, service_form_data, settings):
    from portal.catalog.onboarding import register_service

    settings.COST_HOLD_ABOVE = 0
    _, change = register_service(people["admin"], **service_form_data)
    planned(change, cluster_plan("t3.small", 1))
    run = change.runs_in_order()[0]
    answer = api_for(people["admin"]).post(f"/api/v1/runs/{run.pk}/cost-override/", {"reason": "x" * 30}, format="json")
    assert answer.status_code == 403 and answer.json()["code"] == "own_change"
    assert api_for(people["other-admin"]).post(f"/api/v1/runs/{run.pk}/cost-override/", {"reason": "x" * 30}, format="json").status_code == 201


def test_a_destroy_is_never_held(change, people, settings):
    settings.COST_HOLD_ABOVE = 0
    plan = cluster_plan("m5.4xlarge", 6)
    for entry in plan["resource_changes"]:
        entry["change"] = {"actions": ["delete"], "before": entry["change"]["after"], "after": None}
    planned(change, plan)
    assert all(found.difference < 0 for found in CostEstimate.objects.all())
    assert workflow.approval_refusal(change, people["approver"]) is None
