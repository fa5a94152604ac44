"""The emulator's mends (portal/emulator.py), on the session's emulator: each answer is AWS's shape."""

import os
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

ENDPOINT = os.environ["AWS_ENDPOINT_URL"]


def client(service: str):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=os.environ["AWS_REGION"])


@pytest.fixture
def ecs_service_place():
    """A cluster with a capacity provider, and a task definition, in a VPC of their own."""
    name = f"mend-{uuid.uuid4().hex[:8]}"
    ec2, ecs, autoscaling = client("ec2"), client("ecs"), client("autoscaling")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(VpcId=vpc, GroupName=name, Description="tasks")["GroupId"]
    template = ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={"ImageId": "ami-12c6146b"})
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name,
        MinSize=0,
        MaxSize=1,
        VPCZoneIdentifier=subnet,
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplate"]["LaunchTemplateId"]},
    )
    group_arn = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["AutoScalingGroupARN"]
    ecs.create_cluster(clusterName=name)
    ecs.create_capacity_provider(name=f"{name}-ec2", autoScalingGroupProvider={"autoScalingGroupArn": group_arn})
    ecs.put_cluster_capacity_providers(cluster=name, capacityProviders=[f"{name}-ec2"], defaultCapacityProviderStrategy=[])
    ecs.register_task_definition(family=name, networkMode="awsvpc", containerDefinitions=[{"name": "web", "image": "nginx", "memory": 128}])
    return {"name": name, "subnet": subnet, "group": group}


def test_a_service_placed_by_a_capacity_provider_keeps_its_strategy_and_grace_period_and_has_no_launch_type(ecs_service_place):
    ecs, name = client("ecs"), ecs_service_place["name"]
    strategy = [{"capacityProvider": f"{name}-ec2", "weight": 1, "base": 0}]
    ecs.create_service(
        cluster=name,
        serviceName="web",
        taskDefinition=name,
        desiredCount=1,
        capacityProviderStrategy=strategy,
        healthCheckGracePeriodSeconds=30,
        networkConfiguration={"awsvpcConfiguration": {"subnets": [ecs_service_place["subnet"]], "securityGroups": [ecs_service_place["group"]]}},
    )
    service = ecs.describe_services(cluster=name, services=["web"])["services"][0]
    assert service["capacityProviderStrategy"] == strategy
    assert service["healthCheckGracePeriodSeconds"] == 30
    assert "launchType" not in service and "launchType" not in service["deployments"][0]

    ecs.update_service(cluster=name, service="web", healthCheckGracePeriodSeconds=60)
    assert ecs.describe_services(cluster=name, services=["web"])["services"][0]["healthCheckGracePeriodSeconds"] == 60


def test_a_service_with_a_launch_type_still_reports_it(ecs_service_place):
    ecs, name = client("ecs"), ecs_service_place["name"]
    ecs.create_service(
        cluster=name,
        serviceName="ec2",
        taskDefinition=name,
        desiredCount=0,
        launchType="EC2",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [ecs_service_place["subnet"]], "securityGroups": [ecs_service_place["group"]]}},
    )
    service = ecs.describe_services(cluster=name, services=["ec2"])["services"][0]
    assert service["launchType"] == "EC2" and "capacityProviderStrategy" not in service


def test_a_scalable_target_keeps_its_tags_and_they_can_be_changed(ecs_service_place):
    ecs, scaling, name = client("ecs"), client("application-autoscaling"), ecs_service_place["name"]
    ecs.create_service(
        cluster=name,
        serviceName="scaled",
        taskDefinition=name,
        desiredCount=1,
        launchType="EC2",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [ecs_service_place["subnet"]], "securityGroups": [ecs_service_place["group"]]}},
    )
    arn = scaling.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=f"service/{name}/scaled",
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1,
        MaxCapacity=3,
        Tags={"ManagedBy": "infra-portal", "Team": "art"},
    )["ScalableTargetARN"]
    assert scaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"ManagedBy": "infra-portal", "Team": "art"}

    scaling.tag_resource(ResourceARN=arn, Tags={"Team": "platform", "Cost": "1"})
    scaling.untag_resource(ResourceARN=arn, TagKeys=["ManagedBy"])
    assert scaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Team": "platform", "Cost": "1"}

    # Registering again (an update) keeps the target, its ARN and its tags.
    again = scaling.register_scalable_target(
        ServiceNamespace="ecs", ResourceId=f"service/{name}/scaled", ScalableDimension="ecs:service:DesiredCount", MaxCapacity=4
    )["ScalableTargetARN"]
    assert again == arn and scaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Team": "platform", "Cost": "1"}


def test_tags_of_an_arn_that_names_no_scalable_target_are_refused():
    arn = "arn:aws:application-autoscaling:eu-west-1:123456789012:scalable-target/none"
    with pytest.raises(ClientError) as refused:
        client("application-autoscaling").list_tags_for_resource(ResourceARN=arn)
    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_requests_are_dispatched_to_their_service_without_listing_motos_packages(monkeypatch):
    import sys

    from moto import backends

    listings = []
    real_listdir = os.listdir

    def listdir(path="."):
        if sys._getframe(1).f_code.co_filename == backends.__file__:
            listings.append(path)
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", listdir)

    # Requests to the emulator's address (not a service's host name), as terraform and boto3 send them.
    assert client("sts").get_caller_identity()["Account"]
    assert "Buckets" in client("s3").list_buckets()
    assert "Vpcs" in client("ec2").describe_vpcs()

    assert listings == []
    # The list is moto's own: a service named as the host is still one of its packages.
    assert {"s3", "ec2", "sts", "iam"} <= set(backends.list_of_moto_modules())


def test_each_accounts_iam_has_awss_managed_policies_parsed_once(monkeypatch):
    from moto.iam import models

    models.IAMBackend(region_name="global", account_id="000011112222")  # the emulator's first, if it had none
    parses = []
    real_loads = models.json.loads
    monkeypatch.setattr(models.json, "loads", lambda text, *args, **kwargs: parses.append(len(text)) or real_loads(text, *args, **kwargs))
    first = models.IAMBackend(region_name="global", account_id="111122223333")
    second = models.IAMBackend(region_name="global", account_id="444455556666")

    administrator = "arn:aws:iam::aws:policy/AdministratorAccess"
    assert administrator in first.managed_policies and administrator in second.managed_policies
    assert first.managed_policies[administrator] is not second.managed_policies[administrator]
    assert len(first.managed_policies) == len(second.managed_policies) > 1000
    assert [size for size in parses if size > 1_000_000] == []  # the policies' JSON, parsed before
