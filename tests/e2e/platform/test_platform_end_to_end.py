"""The whole platform and one service on the emulator, through the portal's own runs:
provision, plan a change of the cluster's instance type and discard it, a service's whole life in
Chromium (tests/browser_journey.py), onboard with its image copied into its repository, check the
wiring in AWS, plan again (no changes), change without approval, change each declared field of the
applied service (each applied, each planned again with no changes), decommission and destroy, and
check that nothing is left.

The service's journey is portal/journey/steps.py, the same steps bin/aws-acceptance takes on AWS;
what the emulator cannot do (a task answering behind the load balancer) is skipped, saying so."""

import json
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from rest_framework.test import APIClient

from portal.capacity import usage
from portal.catalog.models import Service
from portal.changes.workflow import approval_refusal, discard
from portal.core.aws import client as aws_client
from portal.costs.estimate import load_table
from portal.costs.models import CostEstimate
from portal.journey.leftovers import BOOTSTRAP, what_is_left
from portal.journey.steps import Journey
from portal.platform.provisioning import wait_for
from portal.runs.models import ACTIVE_STATUSES, Run, RunStatus, SavedPlan
from portal.workspaces.layout import flow_logs_role_arn
from portal.workspaces.paths import workload_roles_path
from tests.browser_journey import browser_journey
from tests.conftest import api_for, wait_until
from tests.fake_registry import FakeRegistry
from tests.images import image_manifest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SERVICE = "art-service-sourcing-data-service"
IMAGE_MANIFEST = image_manifest("a")


@pytest.fixture(autouse=True)
def failed_runs_are_told():
    """After the test, the error and the end of the log of every run that failed: a page waiting for
    an outcome that never comes says nothing of why."""
    yield
    for run in Run.objects.filter(status=RunStatus.FAILED).select_related("workspace"):
        print(f"\n--- failed: {run.workspace.path} ({run.kind}, run {run.pk}): {run.error}\n{run.log[-4000:]}")


def refreshed(runs):
    return [Run.objects.get(pk=run.pk) for run in runs]


def token_client(user) -> APIClient:
    return api_for(user, label="CI")


def wait_for_runs(client, runs, statuses, timeout):
    def settled():
        current = {client.get(f"/api/v1/runs/{run['id']}/").json()["status"] for run in runs}
        assert not current & {"failed", "stale", "discarded", "abandoned"}, current
        return current <= statuses

    wait_until(settled, timeout, interval=1, message=f"runs to be {statuses}")


def plan_files_of_ended_runs():
    """Saved plans whose run has ended, in the database or left on disk (a plan is on disk only while
    a terraform command reads or writes it)."""
    on_disk = [str(path) for path in settings.WORKSPACES_DIR.rglob("*.tfplan")]
    kept = list(SavedPlan.objects.exclude(run__status__in=ACTIVE_STATUSES).values_list("run_id", flat=True))
    return on_disk + kept


def a_discarded_edit_never_reaches_aws(service, author, other_developer, approver, ecs, cluster_arn):
    """The trust promise: A's CPU edit is discarded; B's later change carries only B's edit."""
    a, b, reviewer = token_client(author), token_client(other_developer), token_client(approver)
    url = f"/api/v1/services/{service.name}/"
    task_definition = ecs.describe_services(cluster=cluster_arn, services=[SERVICE])["services"][0]["taskDefinition"]

    # 1. A changes the CPU to 1024; an approver discards it.
    proposed = a.patch(url, {"cpu": 1024}, format="json")
    assert proposed.status_code == 200, proposed.content
    a_runs = proposed.json()["runs"]
    wait_for_runs(a, a_runs, {"awaiting_approval", "no_changes"}, timeout=300)
    assert reviewer.post(f"/api/v1/runs/{a_runs[-1]['id']}/discard/").status_code == 202
    # 2. The service still declares what is applied: CPU 256, nothing pending.
    declared = b.get(url).json()
    assert (declared["cpu"], declared["proposed"]) == (256, None)
    # 3. B changes only the desired count: the plan holds B's edit and nothing of A's.
    proposed = b.patch(url, {"desired_count": 2}, format="json")
    b_runs = proposed.json()["runs"]
    assert [d["text"] for d in b_runs[-1]["declaration_diff"]] == ["desired_count 1 -> 2"]
    wait_for_runs(b, b_runs, {"awaiting_approval", "no_changes"}, timeout=300)
    b_service_run = Run.objects.get(pk=b_runs[-1]["id"])
    assert (b_service_run.to_add, b_service_run.to_change, b_service_run.to_destroy) == (0, 1, 0), (
        "only the ECS service's count changes; a CPU edit would replace the task definition"
    )
    assert (b_service_run.variables["cpu"], b_service_run.variables["desired_count"]) == (256, 2)
    rendered = json.loads((b_service_run.workspace.directory / "terraform.tfvars.json").read_text())
    assert (rendered["cpu"], rendered["desired_count"]) == (256, 2)
    saved = SavedPlan.objects.get(run=b_service_run)  # in the database, for whichever worker applies
    assert saved.sha256 == b_service_run.plan_sha256
    assert not (b_service_run.workspace.directory / ".plans" / f"{b_service_run.pk}.tfplan").exists()
    assert reviewer.post(f"/api/v1/runs/{b_runs[-1]['id']}/approve/").status_code == 202
    wait_for_runs(b, b_runs, {"applied", "no_changes"}, timeout=600)

    # A's value never reached AWS; B's did.
    ecs_service = ecs.describe_services(cluster=cluster_arn, services=[SERVICE])["services"][0]
    assert ecs_service["desiredCount"] == 2 and ecs_service["taskDefinition"] == task_definition
    cpu = ecs.describe_task_definition(taskDefinition=ecs_service["taskDefinition"])["taskDefinition"]["cpu"]
    assert cpu == "256"
    applied = b.get(url).json()
    assert (applied["cpu"], applied["desired_count"], applied["applied_revision"], applied["proposed"]) == (256, 2, 3, None)
    assert plan_files_of_ended_runs() == [], "no plan file outlives its run"


def resource_actions(change) -> dict[str, str]:
    """{address: action} of what the change's plans did, every workspace together."""
    return {resource["address"]: resource["action"] for run in change.runs.all() for resource in run.plan_changes or []}


def every_declared_field_changes_cleanly(journey, ecs, cluster_arn):
    """Port, health check path, size, count, image and secrets, one change each, on the applied
    service. The ECS service is updated by every one of them, never replaced (a service created under
    the name of one draining is refused); resources AWS cannot change are replaced beside the old ones."""
    elbv2, ec2 = aws_client("elbv2"), aws_client("ec2")

    def ecs_service():
        return ecs.describe_services(cluster=cluster_arn, services=[SERVICE])["services"][0]

    def task_definition():
        return ecs.describe_task_definition(taskDefinition=ecs_service()["taskDefinition"])["taskDefinition"]

    service_arn = ecs_service()["serviceArn"]
    old_group = ecs_service()["loadBalancers"][0]["targetGroupArn"]
    old_revision = task_definition()["taskDefinitionArn"]

    # The port: AWS cannot change a target group's port, so a new group is made under a new name
    # beside the old one; the listener rule and the service move to it; the old one goes.
    change = journey.change(container_port=8084)
    actions = resource_actions(change)
    assert actions["module.this.aws_lb_target_group.this"] == "replace"
    assert actions["module.this.aws_ecs_service.this[0]"] == "update", actions
    assert actions["module.this.aws_lb_listener_rule.this"] == "update", actions
    (load_balancer,) = ecs_service()["loadBalancers"]
    assert (load_balancer["containerPort"], ecs_service()["serviceArn"]) == (8084, service_arn)
    (group,) = elbv2.describe_target_groups(TargetGroupArns=[load_balancer["targetGroupArn"]])["TargetGroups"]
    assert group["Port"] == 8084 and group["TargetGroupArn"] != old_group
    assert old_group not in [g["TargetGroupArn"] for g in elbv2.describe_target_groups()["TargetGroups"]]
    (rule,) = [r for r in elbv2.describe_rules(ListenerArn=group_listener(elbv2))["Rules"] if not r["IsDefault"] and SERVICE in str(r["Conditions"])]
    assert rule["Actions"][0]["TargetGroupArn"] == group["TargetGroupArn"]
    tasks_group = [g for g in ecs_service()["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"]]
    ingress = [p for g in ec2.describe_security_groups(GroupIds=tasks_group)["SecurityGroups"] for p in g["IpPermissions"]]
    assert [(p["FromPort"], p["ToPort"]) for p in ingress] == [(8084, 8084)], "the tasks admit the new port only"
    assert task_definition()["containerDefinitions"][0]["portMappings"][0]["containerPort"] == 8084

    # The health check path: the same group, changed in place.
    change = journey.change(health_check_path="/ready")
    assert set(resource_actions(change).values()) == {"update"}
    (same,) = elbv2.describe_target_groups(TargetGroupArns=[group["TargetGroupArn"]])["TargetGroups"]
    assert same["HealthCheckPath"] == "/ready"

    # The size: a new task definition revision, registered before the old one is deregistered.
    change = journey.change(cpu=512, memory=1024)
    assert resource_actions(change)["module.this.aws_ecs_task_definition.this"] == "replace"
    assert (task_definition()["cpu"], task_definition()["memory"]) == ("512", "1024")
    assert ecs.describe_task_definition(taskDefinition=old_revision)["taskDefinition"]["status"] == "INACTIVE"

    # The count.
    change = journey.change(desired_count=3)
    assert resource_actions(change) == {"module.this.aws_ecs_service.this[0]": "update"}
    assert ecs_service()["desiredCount"] == 3

    # The image: the new tag was copied into the repository before its first proposal (a pipeline
    # pushes before it deploys; a tag that is not there is held before planning).
    journey.change(image_tag="1.1.0")
    assert task_definition()["containerDefinitions"][0]["image"].endswith(f"/{SERVICE}:1.1.0")
    journey.wait_until_served("1.1.0")

    # A secret: the workload roles workspace grants the service's own execution role exactly it,
    # applied first, then the service runs with that role.
    secret = aws_client("secretsmanager").create_secret(Name=f"{SERVICE}/db-password", SecretString="not-a-real-password")
    change = journey.change(secrets={"DB_PASSWORD": secret["ARN"]})
    assert [run.workspace.path for run in change.runs_in_order()][0].startswith("iam/workload-roles/")
    definition = task_definition()
    assert definition["containerDefinitions"][0]["secrets"] == [{"name": "DB_PASSWORD", "valueFrom": secret["ARN"]}]
    assert definition["executionRoleArn"].endswith(f"/{SERVICE}-execution")
    assert ecs_service()["serviceArn"] == service_arn, "the ECS service was updated by every change, never replaced"


def group_listener(elbv2) -> str:
    (load_balancer,) = elbv2.describe_load_balancers()["LoadBalancers"]
    (listener,) = elbv2.describe_listeners(LoadBalancerArn=load_balancer["LoadBalancerArn"])["Listeners"]
    return listener["ListenerArn"]


def onboard_and_decommission_through_the_api(author, approver, admin, declaration):
    """What a CI pipeline does: register, wait for the plans, approved by someone else, wait for the
    applies, read the log; then decommission the same way."""
    ci, reviewer = token_client(author), token_client(approver)
    name = declaration["name"]

    registered = ci.post("/api/v1/services/", declaration, format="json")
    assert registered.status_code == 201, registered.content
    runs = registered.json()["runs"]
    wait_for_runs(ci, runs, {"awaiting_approval"}, timeout=300)
    assert reviewer.post(f"/api/v1/runs/{runs[-1]['id']}/approve/").status_code == 202
    wait_for_runs(ci, runs, {"applied"}, timeout=600)

    log = ci.get(ci.get(f"/api/v1/runs/{runs[-1]['id']}/").json()["log_url"]).json()
    assert "Apply complete!" in log["text"] and log["active"] is False
    service = ci.get(f"/api/v1/services/{name}/").json()
    assert service["url"].endswith(f"/{settings.SERVICE_NAME_PREFIX}-{name}/")
    assert {w["latest_run"]["status"] for w in service["workspaces"]} == {"applied"}

    # The repository holds an image: the decommission deletes it with the repository.
    aws_client("ecr").put_image(repositoryName=f"{settings.SERVICE_NAME_PREFIX}-{name}", imageManifest=IMAGE_MANIFEST, imageTag="1.0.0")
    decommissioned = token_client(admin).delete(f"/api/v1/services/{name}/")
    assert decommissioned.status_code == 202, decommissioned.content
    assert decommissioned.json()["service"]["status"] == "decommissioning"
    runs = decommissioned.json()["runs"]
    wait_for_runs(ci, runs, {"awaiting_approval"}, timeout=300)
    assert reviewer.post(f"/api/v1/runs/{runs[0]['id']}/approve/").status_code == 202
    wait_for_runs(ci, runs, {"applied"}, timeout=600)
    assert ci.get(f"/api/v1/services/{name}/").json()["status"] == "decommissioned"

    # The name can be registered again: its workspaces plan against the same (emptied) state keys.
    again = ci.post("/api/v1/services/", declaration, format="json")
    assert again.status_code == 201, again.content
    runs = again.json()["runs"]
    wait_for_runs(ci, runs, {"awaiting_approval"}, timeout=300)
    assert all(Run.objects.get(pk=run["id"]).to_add > 0 for run in runs)
    assert ci.post(f"/api/v1/runs/{runs[0]['id']}/discard/").status_code == 202
    # Discarded before anything of it applied: withdrawn, its name free again, nothing to decommission.
    assert ci.get(f"/api/v1/services/{name}/").json()["status"] == "withdrawn"
    refused = token_client(admin).delete(f"/api/v1/services/{name}/")
    assert (refused.status_code, refused.json()["code"]) == (409, "withdrawn")


def changed(run: Run, address: str) -> dict[str, tuple[str, str]]:
    """The attributes the plan changes on `address`: path -> (before, after)."""
    (resource,) = [r for r in run.plan_changes if r["address"] == address]
    return {a["path"]: (a["before"], a["after"]) for a in resource["attributes"]}


def a_new_instance_type_is_planned_and_approved_like_any_platform_change(client, admin, other_admin, approver):
    """A change of the cluster's instance type and size, planned for real on the platform just
    provisioned at the default settings: an admin's form on the Platform page, terraform's plan of the
    cluster workspace and its cost, the approval rule of any platform change, and the Platform page
    while it waits. It is discarded, and the platform stays as it was for the rest of the test (here
    rather than in a test of its own, which provisioned and destroyed a whole platform for it).

    The emulator cannot apply it: a new launch template version makes the provider start an instance
    refresh, and moto has no StartInstanceRefresh (README, "Against the local AWS emulator"). The
    refresh itself is covered by the ecs-cluster module's tests."""
    defaults = settings.CLUSTER_DEFAULTS

    # The defaults are what the cluster was made with, and what is in effect.
    (template,) = aws_client("ec2").describe_launch_templates(Filters=[{"Name": "launch-template-name", "Values": [f"{settings.SERVICE_NAME_PREFIX}-*"]}])[
        "LaunchTemplates"
    ]
    versions = aws_client("ec2").describe_launch_template_versions(LaunchTemplateId=template["LaunchTemplateId"], Versions=["$Latest"])
    version = versions["LaunchTemplateVersions"][0]
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

    # The cost of the real plan, by hand from the region's table: the group's instances at the new
    # type's hourly price instead of the old one's (the volumes stay; the desired count is the group's
    # own, which terraform leaves to the autoscaler).
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
    assert usage.cluster_in_effect().instance_type == defaults["instance_type"]


def test_platform_and_service_lifecycle(client, make_user, service_form_data, rq_worker, runner_credentials, screen):
    # Not the session's `state_bucket`: the journey bootstraps the account itself, as bin/portal and
    # bin/aws-acceptance do (the administrators trusting the session's runner), and the bucket's
    # lifecycle rule (a minute of the provider waiting for S3 to settle) is applied beside the
    # administrators and the platform, not before them.
    admin = make_user("platform-admin", "admins")
    platform_approver = make_user("platform-approver", "admins")
    approver = make_user("approver", "approvers")
    author = make_user("author", "developers")
    other_developer = make_user("other-developer", "developers")

    journey = Journey(developer=author, approver=approver, admin=admin, platform_approver=platform_approver)

    # The platform, each workspace planned after the one it reads from, approved by another admin.
    # The administrators were made by the bootstrap before it: planned again, they have no changes.
    for change in journey.provision_platform():
        (run,) = change.runs.all()
        expected = RunStatus.NO_CHANGES if run.workspace.path.startswith("iam/service-admins/") else RunStatus.APPLIED
        assert run.status == expected, (run.workspace.path, run.status, run.error)
        if run.workspace.path == workload_roles_path():
            # The network names the flow logs' role rather than reading it from the roles' state.
            assert run.outputs["flow_logs_role_arn"] == flow_logs_role_arn()

    # The platform at its default settings: a change of the cluster is planned, priced and discarded.
    with journey.step("A change of the cluster's instance type, planned and discarded"):
        a_new_instance_type_is_planned_and_approved_like_any_platform_change(client, admin, platform_approver, approver)

    # A service's whole life in Chromium, as its developer, its approver and an admin see it.
    with journey.step("A service's life in Chromium (tests/browser_journey.py)"):
        browser_journey(screen)

    # Onboarding: one change, two workspaces, approved by someone else; the image is copied into the
    # repository as soon as it exists. This machine reaches no public registry: the image comes from
    # one on loopback that answers as public.ecr.aws does (bin/aws-acceptance copies nginx from there).
    registry = FakeRegistry()

    def while_planning(change):
        repository_run, service_run = change.runs_in_order()
        assert repository_run.workspace.path == f"ecs/ecr-repositories/{SERVICE}"
        assert service_run.workspace.path == f"ecs/services/{SERVICE}"

        def log_while_active():
            service_run.refresh_from_db()
            return service_run.status in ACTIVE_STATUSES and service_run.status != RunStatus.QUEUED and service_run.log

        wait_until(log_while_active, 120, interval=0.05, message="log lines while planning")
        wait_for(change, {RunStatus.AWAITING_APPROVAL}, timeout=300)
        repository_run, service_run = refreshed([repository_run, service_run])
        assert repository_run.to_add == 2 and repository_run.to_destroy == 0
        assert service_run.to_add >= 5 and service_run.to_destroy == 0
        client.force_login(author)
        page = client.get(reverse("runs:run-detail", kwargs={"run_id": service_run.pk})).content.decode()
        assert f"ecs/services/{SERVICE}/terraform.tfstate" in page
        assert f"{service_run.to_add} to add" in page

    declaration = {k: v for k, v in service_form_data.items() if k != "name"}
    service = journey.onboard("sourcing-data-service", declaration, image_source=registry.reference, while_planning=while_planning)
    change = service.changes.get()
    repository_run, service_run = change.runs_in_order()
    assert repository_run.finished_at <= service_run.started_at or repository_run.finished_at <= service_run.finished_at
    assert Run.objects.filter(change=change, approved_by=approver).count() == 2
    image = aws_client("ecr").describe_images(repositoryName=SERVICE, imageIds=[{"imageTag": "1.0.0"}])["imageDetails"]
    assert len(image) == 1, "the image was copied into the repository the onboarding made"
    journey.wait_until_served("1.0.0")

    # The wiring in AWS: the ECS service is attached to its target group, the listener routes to it.
    ecs = aws_client("ecs")
    cluster_arn = next(arn for arn in ecs.list_clusters()["clusterArns"] if ecs.describe_services(cluster=arn, services=[SERVICE])["services"])
    (ecs_service,) = ecs.describe_services(cluster=cluster_arn, services=[SERVICE])["services"]
    target_group_arn = service_run.outputs["target_group_arn"]
    assert ecs_service["loadBalancers"][0]["targetGroupArn"] == target_group_arn
    assert ecs_service["loadBalancers"][0]["containerPort"] == 8082
    elbv2 = aws_client("elbv2")
    (load_balancer,) = elbv2.describe_load_balancers()["LoadBalancers"]
    listeners = elbv2.describe_listeners(LoadBalancerArn=load_balancer["LoadBalancerArn"])["Listeners"]
    rules = [rule for listener in listeners for rule in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]]
    forwarding = [r for r in rules if any(a.get("TargetGroupArn") == target_group_arn for a in r["Actions"])]
    assert forwarding, "a listener rule forwards to the service's target group"
    detail = client.get(reverse("catalog:service-detail", kwargs={"name": service.name})).content.decode()
    assert f"http://{load_balancer['DNSName']}/{SERVICE}/" in detail

    # Planning every workspace again changes nothing: the state bucket, the administrators, the
    # workload roles, the access log bucket, the network, the cluster, and the service's two.
    service = Service.objects.get(pk=service.pk)
    assert service.applied_revision.number == 1
    assert len(journey.every_workspace()) == 8
    journey.plan_every_workspace_again()
    # And no drift: what the provider computes or another resource manages is not drift.
    assert journey.check_drift_everywhere() >= 7, "the platform's workspaces and the service's two were checked"

    a_discarded_edit_never_reaches_aws(service, author, other_developer, approver, ecs, cluster_arn)

    # A tag that is not in the repository is held before anything is planned.
    client.force_login(author)
    held = client.post(reverse("catalog:service-change", kwargs={"name": service.name}), {**service_form_data, "image_tag": "1.1.0"})
    assert held.status_code == 400 and "1.1.0 is not in the repository" in held.content.decode()
    assert not service.changes.pending().exists()

    # Pushed, a change is planned, but nothing is applied without approval.
    journey.push_image(registry.reference, "1.1.0")
    task_definition = ecs_service["taskDefinition"]
    client.post(reverse("catalog:service-change", kwargs={"name": service.name}), {**service_form_data, "image_tag": "1.1.0"})
    change_run = Run.objects.filter(workspace__path=f"ecs/services/{SERVICE}").order_by("-created_at").first()
    wait_for(change_run.change, {RunStatus.AWAITING_APPROVAL, RunStatus.NO_CHANGES}, timeout=300)
    change_run.refresh_from_db()
    assert change_run.status == RunStatus.AWAITING_APPROVAL
    assert ecs.describe_services(cluster=cluster_arn, services=[SERVICE])["services"][0]["taskDefinition"] == task_definition

    # Day 2: each declared field of the applied service changed, one change each (the pending change
    # above is superseded by the first), each applied and planned again with no changes.
    every_declared_field_changes_cleanly(journey, ecs, cluster_arn)
    journey.plan_every_workspace_again()

    # The same through the API only, as CI does it, for a second service.
    onboard_and_decommission_through_the_api(author, approver, admin, {**service_form_data, "name": "api-onboarded", "container_port": 8083})

    # Decommission, then destroy the platform.
    journey.decommission()
    journey.destroy_platform()
    registry.close()
    print("\n" + journey.report())
    assert plan_files_of_ended_runs() == []
    # What the acceptance run lists at its end: only the bootstrap's administrators and bucket remain.
    left = what_is_left()
    assert set(left) == set(BOOTSTRAP), left

    assert not [c for c in ecs.list_clusters()["clusterArns"] if ecs.describe_clusters(clusters=[c])["clusters"][0]["status"] == "ACTIVE"]
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert elbv2.describe_target_groups()["TargetGroups"] == []
    assert aws_client("ecr").describe_repositories()["repositories"] == []
    assert [v for v in aws_client("ec2").describe_vpcs()["Vpcs"] if not v["IsDefault"]] == []
    assert aws_client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"] == []
    # The administrators stay (every run needs them); the workloads' roles went with the platform.
    iam = aws_client("iam")
    admins = {u["UserName"] for u in iam.list_users(PathPrefix=f"/{settings.SERVICE_NAME_PREFIX}/admins/")["Users"]}
    assert admins == {f"{settings.SERVICE_NAME_PREFIX}-{t}-admin" for t in settings.IAM_ADMIN_SERVICE_TYPES}
    assert iam.list_roles(PathPrefix=f"/{settings.SERVICE_NAME_PREFIX}/workloads/")["Roles"] == []
