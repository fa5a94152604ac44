"""A deploy ends healthy, or says it did not: after a service workspace applies, its run waits (bounded)
for the ECS deployment to settle and the target group to report healthy targets; otherwise it ends
"applied, unhealthy" with the reason, and the pages offer a change back to the last healthy revision.

The decision is tested on the emulator's own answers (moto, started by tests/environment.py). The
emulator runs no tasks: a new service's deployment stays IN_PROGRESS with 0 tasks running, and no
target ever registers by itself (README, "Healthy deploys")."""

import re
import threading
import time
import uuid

import boto3
import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from portal.catalog.models import Service
from portal.catalog.onboarding import change_service, register_service
from portal.changes.workflow import advance, approve
from portal.runner import deploy_health, execution
from portal.runner.attendance import Attendance
from portal.runner.deploy_health import Observation, judge, observe, wait_until_healthy
from portal.runs.models import Change, RunStatus
from tests.conftest import api_for, plan_approve_apply, record_plan


# --- the emulator's answers ------------------------------------------------------------------------
def aws(service):
    return boto3.client(service, endpoint_url=django_settings.AWS_ENDPOINT_URL, region_name=django_settings.AWS_REGION)


@pytest.fixture(scope="module")
def network():
    """A VPC of the module's own; it and every service made in it are deleted after the module: the
    emulator is the session's, and the end-to-end test expects to find only what it made."""
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24", AvailabilityZone="eu-west-1a")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"health-{uuid.uuid4().hex[:8]}", Description="tasks", VpcId=vpc)["GroupId"]
    made = {"vpc": vpc, "subnet": subnet, "group": group, "services": []}
    yield made
    ecs, elbv2 = aws("ecs"), aws("elbv2")
    for outputs in made["services"]:
        name = outputs["service_name"]
        ecs.delete_service(cluster=name, service=name, force=True)
        ecs.delete_cluster(cluster=name)
        for target_group in elbv2.describe_target_groups(Names=[name])["TargetGroups"]:
            elbv2.delete_target_group(TargetGroupArn=target_group["TargetGroupArn"])
    for target_group in elbv2.describe_target_groups()["TargetGroups"]:
        if target_group.get("VpcId") == vpc:
            elbv2.delete_target_group(TargetGroupArn=target_group["TargetGroupArn"])
    ec2.delete_security_group(GroupId=group)
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


def deployed_service(network, *, desired=1):
    """A cluster, a target group and a service with EC2 capacity, as the ecs-service module makes
    them; returns the outputs the workspace would report."""
    name = f"health-{uuid.uuid4().hex[:8]}"
    ecs, elbv2 = aws("ecs"), aws("elbv2")
    ecs.create_cluster(clusterName=name)
    target_group = elbv2.create_target_group(Name=name, Protocol="HTTP", Port=8082, VpcId=network["vpc"], TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    task = ecs.register_task_definition(
        family=name,
        networkMode="awsvpc",
        containerDefinitions=[{"name": "app", "image": "app:1", "memory": 128, "portMappings": [{"containerPort": 8082}]}],
    )["taskDefinition"]["taskDefinitionArn"]
    service = ecs.create_service(
        cluster=name,
        serviceName=name,
        taskDefinition=task,
        desiredCount=desired,
        launchType="EC2",
        loadBalancers=[{"targetGroupArn": target_group, "containerName": "app", "containerPort": 8082}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": [network["subnet"]], "securityGroups": [network["group"]]}},
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
    )["service"]
    outputs = {"service_arn": service["serviceArn"], "service_name": name, "target_group_arn": target_group}
    network["services"].append(outputs)
    return outputs


def test_a_new_service_on_the_emulator_is_still_deploying(network):
    outputs = deployed_service(network)

    seen = observe(outputs, None)

    assert (seen.rollout_state, seen.running, seen.desired, seen.targets) == ("IN_PROGRESS", 0, 1, {})
    verdict = judge(seen, require_targets=False)
    assert not verdict.healthy and not verdict.final
    assert verdict.reason == "the deployment is still in progress (0/1 tasks running)"
    assert seen.summary() == "0/1 tasks running, 0/1 targets healthy"


def test_a_completed_deployment_needs_a_healthy_target_when_targets_are_required(network, monkeypatch):
    # moto reports a deployment COMPLETED only when told how many tasks "run" (its server reads
    # MOTO_ECS_SERVICE_RUNNING as it creates a service): a scripted answer, used only to test the
    # decision on the shape AWS gives, never as the emulator's own result.
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
    outputs = deployed_service(network)

    seen = observe(outputs, None)

    assert (seen.rollout_state, seen.running, seen.targets) == ("COMPLETED", 1, {})
    assert judge(seen, require_targets=True).reason == "no healthy target is registered in the target group"
    assert judge(seen, require_targets=False).healthy
    # moto reports a registered address target healthy at once (it runs no health check).
    aws("elbv2").register_targets(TargetGroupArn=outputs["target_group_arn"], Targets=[{"Id": "10.42.1.10", "Port": 8082}])
    seen = observe(outputs, None)
    assert seen.targets == {"10.42.1.10:8082": "healthy"}
    assert judge(seen, require_targets=True).healthy


def test_a_registered_target_that_is_not_healthy_keeps_the_deploy_unhealthy(network, monkeypatch):
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
    outputs = deployed_service(network)
    ec2, elbv2 = aws("ec2"), aws("elbv2")
    # An instance target of a stopped instance: the one unhealthy state moto reports.
    instances = elbv2.create_target_group(Name=f"inst-{uuid.uuid4().hex[:8]}", Protocol="HTTP", Port=8082, VpcId=network["vpc"], TargetType="instance")[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=network["subnet"])["Instances"][0]["InstanceId"]
    elbv2.register_targets(TargetGroupArn=instances, Targets=[{"Id": instance}])
    ec2.stop_instances(InstanceIds=[instance])

    seen = observe({**outputs, "target_group_arn": instances}, None)

    assert seen.targets == {f"{instance}:8082": "unused"}
    verdict = judge(seen, require_targets=False)
    assert not verdict.healthy
    assert verdict.reason == f"targets not healthy: {instance}:8082 unused (Target is in the stopped state)"


def test_a_failed_deployment_ends_the_wait_at_once():
    seen = Observation(desired=2, running=0, deployments=1, rollout_state="FAILED", rollout_reason="circuit breaker tripped")
    verdict = judge(seen, require_targets=True)
    assert (verdict.healthy, verdict.final) == (False, True)
    assert verdict.reason == "the deployment failed: circuit breaker tripped"


def test_without_a_rollout_state_one_deployment_running_every_task_is_steady():
    steady = Observation(desired=2, running=2, deployments=1, targets={"a:1": "healthy", "b:1": "healthy", "c:1": "draining"})
    assert judge(steady, require_targets=True).healthy
    assert not judge(Observation(desired=2, running=2, deployments=2), require_targets=False).healthy
    assert not judge(Observation(desired=2, running=1, deployments=1), require_targets=False).healthy


def test_the_wait_ends_at_its_deadline_with_the_reason_and_progress_lines(network):
    outputs = deployed_service(network)
    lines = []
    started = time.monotonic()

    health = wait_until_healthy(outputs, None, started + 1.0, log=lines.append, require_targets=True, poll_interval=0.2)

    assert 1.0 <= time.monotonic() - started < 3
    assert not health.healthy
    # The wait ends at the first poll past the deadline; on a busy machine a poll can take a second.
    assert 1.0 <= health.seconds < 3
    assert health.reason.startswith(f"not healthy after {health.seconds:.0f} s: the deployment is still in progress (0/1 tasks running)")
    # Said once: the line is logged again only when what is seen changes.
    assert lines == ["[portal] Waiting for a healthy deployment: 0/1 tasks running, 0/1 targets healthy\n"]


def test_a_cancel_stops_the_wait(network):
    outputs = deployed_service(network)
    stop = threading.Event()
    stop.set()
    health = wait_until_healthy(outputs, None, time.monotonic() + 60, stop=stop, poll_interval=5)
    assert not health.healthy and health.reason.startswith("the wait was stopped after 0 s")


def test_outputs_without_a_service_say_so():
    seen = observe({"service_arn": "arn:aws:ecs:eu-west-1:123456789012:service/legacy-name"}, None)
    assert seen.problem == "the workspace's outputs name no ECS service (service_arn) or target group"
    assert deploy_health.cluster_of("arn:aws:ecs:eu-west-1:1:service/cluster-a/svc") == "cluster-a"


# --- the run and its change ------------------------------------------------------------------------
@pytest.fixture
def onboarded(db, people, service_form_data):
    service, change = register_service(people["dev"], **service_form_data)
    plan_approve_apply(change, people["approver"])
    return Service.objects.get(pk=service.pk)


def applying_service_run(service, people, **edits):
    """A change of the service planned, approved, its repository applied and its service run
    applying, as the worker leaves it just after terraform's apply."""
    change = change_service(service, people["dev"], **edits)
    for run in change.runs_in_order():
        record_plan(run)
    approve(change, people["approver"])
    for run in change.runs_in_order():
        run.refresh_from_db()
        if run.workspace.module == "ecr-repository":
            run.start_applying()
            run.finish_applied({})
            advance(change)
    run = change.runs.get(workspace__module="ecs-service")
    assert run.start_applying()
    return change, run


@pytest.mark.django_db
def test_a_deploy_not_healthy_in_time_ends_applied_unhealthy_and_still_moves_the_declaration(onboarded, people, network, settings):
    settings.DEPLOY_HEALTH_TIMEOUT = 1
    settings.DEPLOY_HEALTH_POLL_INTERVAL = 1
    settings.DEPLOY_HEALTH_REQUIRE_TARGETS = True
    change, run = applying_service_run(onboarded, people, image_tag="2.0.0")
    outputs = deployed_service(network)

    with Attendance(run) as attendance:
        health = execution.wait_for_health(run, outputs, execution.acting_as(run), attendance)
    execution.finish_apply(run, outputs, health)

    run.refresh_from_db()
    assert run.status == RunStatus.APPLIED_UNHEALTHY and run.get_status_display() == "Applied, unhealthy"
    # How long it waited: the timeout at least, more on a busy machine (one poll may take a while).
    said = re.match(
        r"Applied, but the deployment did not report healthy: not healthy after (\d+) s: the deployment is still in progress \(0/1 tasks running\)\.",
        run.error,
    )
    assert said and int(said[1]) >= 1, run.error
    assert "propose going back to the last healthy revision" in run.error
    assert "[portal] Waiting for a healthy deployment: 0/1 tasks running, 0/1 targets healthy" in run.log
    assert run.outputs == outputs
    # The declaration reached AWS: the change applied, and it is the applied declaration.
    change.refresh_from_db()
    assert change.outcome == Change.Outcome.APPLIED
    assert Service.objects.get(pk=onboarded.pk).applied_revision_id == change.revision_id
    api = api_for(people["dev"]).get(f"/api/v1/runs/{run.pk}/")
    assert api.status_code == 200 and api.json()["status"] == "applied_unhealthy"


@pytest.mark.django_db
def test_the_wait_is_off_at_zero(onboarded, people, settings):
    settings.DEPLOY_HEALTH_TIMEOUT = 0
    change, run = applying_service_run(onboarded, people, image_tag="2.0.0")

    with Attendance(run) as attendance:
        health = execution.wait_for_health(run, {}, None, attendance)
    execution.finish_apply(run, {}, health)

    run.refresh_from_db()
    assert health is None and run.status == RunStatus.APPLIED
    assert "[portal] The deploy's health was not checked: PORTAL_DEPLOY_HEALTH_TIMEOUT is 0." in run.log


@pytest.mark.django_db
def test_the_pages_offer_going_back_to_the_last_healthy_revision(onboarded, people, client):
    change, run = applying_service_run(onboarded, people, image_tag="2.0.0")
    run.finish_applied_unhealthy({}, "Applied, but the deployment did not report healthy: reasons.")
    advance(change)
    healthy = onboarded.revisions.get(number=1)
    client.force_login(people["dev"])

    button = "Propose going back to revision 1 (the last healthy)"
    assert button in client.get(reverse("changes:detail", args=[change.pk])).content.decode()
    assert button in client.get(reverse("runs:run-detail", args=[run.pk])).content.decode()

    answer = client.post(reverse("catalog:service-rollback", args=[onboarded.name]), {"revision": "1"})

    back = Change.objects.filter(service=onboarded).order_by("-created_at").first()
    assert answer.status_code == 302 and answer["Location"] == reverse("changes:detail", args=[back.pk])
    assert back.revision.number == 3 and back.revision.declaration() == healthy.declaration()
    assert back.revision.based_on_id == change.revision_id
    # Proposed already: a second press queues nothing more.
    client.post(reverse("catalog:service-rollback", args=[onboarded.name]), {"revision": "1"})
    assert Change.objects.filter(service=onboarded).count() == 3


@pytest.mark.django_db
def test_no_offer_after_a_healthy_deploy_or_for_a_stale_revision_number(onboarded, people, client):
    change = Change.objects.get(service=onboarded)
    client.force_login(people["dev"])
    assert "propose-rollback" not in client.get(reverse("changes:detail", args=[change.pk])).content.decode()

    answer = client.post(reverse("catalog:service-rollback", args=[onboarded.name]), {"revision": "7"})

    assert answer.status_code == 302 and Change.objects.filter(service=onboarded).count() == 1
