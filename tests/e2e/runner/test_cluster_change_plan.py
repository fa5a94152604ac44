"""A change of the cluster's instance type and size, planned for real: the platform provisioned on the
emulator at the default settings, an admin's form on the Platform page, terraform's plan of the
cluster workspace, the approval rule of any platform change, and the Platform page while it waits.

The emulator cannot apply it: a new launch template version makes the provider start an instance
refresh, and moto has no StartInstanceRefresh (README, "Against the local AWS emulator"). The
refresh itself is covered by the ecs-cluster module's tests."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from portal.capacity import usage
from portal.changes.workflow import approval_refusal, discard
from portal.core.aws import client as aws_client
from portal.costs.estimate import load_table
from portal.costs.models import CostEstimate
from portal.platform.provisioning import destroy_platform, provision_platform, wait_for
from portal.runs.models import Run, RunStatus
from portal.workspaces.layout import cluster_path

pytestmark = [pytest.mark.e2e, pytest.mark.long, pytest.mark.django_db(transaction=True)]


def changed(run: Run, address: str) -> dict[str, tuple[str, str]]:
    """The attributes the plan changes on `address`: path -> (before, after)."""
    (resource,) = [r for r in run.plan_changes if r["address"] == address]
    return {a["path"]: (a["before"], a["after"]) for a in resource["attributes"]}


def test_a_new_instance_type_is_planned_on_the_emulator_and_approved_like_any_platform_change(client, make_user, rq_worker, state_bucket):
    admin, other_admin = make_user("admin", "admins"), make_user("other-admin", "admins")
    approver = make_user("approver", "approvers")
    defaults = settings.CLUSTER_DEFAULTS

    try:
        for change in provision_platform(requester=admin, approver=other_admin):
            (run,) = change.runs.all()
            assert run.status in (RunStatus.APPLIED, RunStatus.NO_CHANGES), (run.workspace.path, run.status, run.error)

        # The defaults are what the cluster was made with, and what is in effect.
        (template,) = aws_client("ec2").describe_launch_templates(Filters=[{"Name": "launch-template-name", "Values": [f"{settings.SERVICE_NAME_PREFIX}-*"]}])[
            "LaunchTemplates"
        ]
        version = aws_client("ec2").describe_launch_template_versions(LaunchTemplateId=template["LaunchTemplateId"], Versions=["$Latest"])[
            "LaunchTemplateVersions"
        ][0]
        assert version["LaunchTemplateData"]["InstanceType"] == defaults["instance_type"]
        (group,) = aws_client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
        assert (group["MinSize"], group["MaxSize"]) == (defaults["min_size"], defaults["max_size"])
        assert usage.cluster_in_effect().instance_type == defaults["instance_type"]

        # An admin proposes another type and a smaller group on the Platform page.
        client.force_login(admin)
        wanted = {"instance_type": "c6i.xlarge", "min_size": 1, "max_size": 4, "desired_capacity": 1}
        response = client.post(reverse("capacity:change-cluster"), wanted)
        run = usage.pending_cluster_run()
        assert response.status_code == 302 and response["Location"] == reverse("runs:run-detail", kwargs={"run_id": run.pk})
        assert {name: run.variables[name] for name in wanted} == wanted

        wait_for(run.change, {RunStatus.AWAITING_APPROVAL}, timeout=300)
        run.refresh_from_db()
        assert changed(run, "module.this.aws_launch_template.this")["instance_type"] == (f'"{defaults["instance_type"]}"', '"c6i.xlarge"')
        assert changed(run, "module.this.aws_autoscaling_group.this")["max_size"] == (str(defaults["max_size"]), "4")
        assert (run.to_add, run.to_destroy) == (0, 0), "the cluster is updated in place, nothing replaced"

        # The cost of the real plan, by hand from the region's table: the group's instances at the
        # new type's hourly price instead of the old one's (the volumes stay; the desired count is
        # the group's own, which terraform leaves to the autoscaler).
        table = load_table(settings.AWS_REGION)
        hourly = {name: Decimal(str(table.prices["ec2_instance_hour"][name])) for name in (defaults["instance_type"], "c6i.xlarge")}
        expected = group["DesiredCapacity"] * (hourly["c6i.xlarge"] - hourly[defaults["instance_type"]]) * 730
        found = CostEstimate.objects.get(run=run)
        assert found.difference == expected.quantize(Decimal("0.01")), found.detail
        (line,) = [line for line in found.detail["lines"] if line["address"] == "module.this.aws_autoscaling_group.this"]
        assert f"{group['DesiredCapacity']} × c6i.xlarge at" in line["basis"]
        assert {line["address"] for line in found.detail["lines"]} >= {"module.this.aws_lb.this", "module.this.aws_autoscaling_group.this"}
        assert found.detail["not_priced"] == [], "every resource the cluster module makes has a price rule or is free"

        # Approved like any platform change: by another admin, not by its proposer, not by an approver.
        assert approval_refusal(run.change, admin).code == "own_change"
        assert approval_refusal(run.change, approver).code == "platform_permission"
        assert approval_refusal(run.change, other_admin) is None

        # While it waits, the page says so, and keeps what is applied as in effect.
        page = client.get(reverse("platform:page")).content.decode()
        assert "A change of the cluster is under way" in page
        assert usage.cluster_in_effect().instance_type == defaults["instance_type"]
        assert [cluster.instance_type for cluster, _ in usage.clusters_to_fit()] == [defaults["instance_type"], "c6i.xlarge"]

        discard(run.change, other_admin)
        assert usage.pending_cluster_run() is None
    finally:
        destroy_platform(requester=admin, approver=other_admin)
    assert Run.objects.filter(workspace__path=cluster_path(), kind=Run.Kind.DESTROY, status=RunStatus.APPLIED).exists()
