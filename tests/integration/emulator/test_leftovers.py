"""What counts as a leftover of a failed apply (portal/runner/leftovers.py), on this session's emulator:
a NAT gateway a destroy deleted is still described, tagged, for a while; it is no leftover."""

import uuid

import pytest

from portal.core.aws import client
from portal.runner.leftovers import WORKSPACE_TAG, Leftover, deleted_nat_gateways


@pytest.fixture
def vpc():
    """A VPC of the test's own, removed again with what it holds: other tests count VPCs and subnets."""
    ec2 = client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    yield vpc_id
    for gateway in ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["NatGateways"]:
        if gateway["State"] not in ("deleting", "deleted"):
            ec2.delete_nat_gateway(NatGatewayId=gateway["NatGatewayId"])
        for address in gateway["NatGatewayAddresses"]:
            ec2.release_address(AllocationId=address["AllocationId"])
    for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]:
        ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    ec2.delete_vpc(VpcId=vpc_id)


def nat_gateway(ec2, vpc: str, cidr: str, workspace: str) -> str:
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr)["Subnet"]["SubnetId"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    return ec2.create_nat_gateway(
        SubnetId=subnet,
        AllocationId=allocation,
        TagSpecifications=[{"ResourceType": "natgateway", "Tags": [{"Key": WORKSPACE_TAG, "Value": workspace}]}],
    )["NatGateway"]["NatGatewayId"]


def arn(gateway_id: str) -> str:
    return f"arn:aws:ec2:eu-west-1:123456789012:natgateway/{gateway_id}"


def test_a_deleted_nat_gateway_is_no_leftover_and_a_live_one_is(vpc):
    ec2 = client("ec2")
    workspace = f"vpc/leftovers-{uuid.uuid4().hex[:8]}"
    deleted, live = nat_gateway(ec2, vpc, "10.99.1.0/24", workspace), nat_gateway(ec2, vpc, "10.99.2.0/24", workspace)
    ec2.delete_nat_gateway(NatGatewayId=deleted)

    # Still described, and still carrying the workspace's tag: what find() meets after a destroy.
    described = ec2.describe_nat_gateways(NatGatewayIds=[deleted])["NatGateways"]
    assert described and described[0]["State"] in ("deleting", "deleted")
    tagged = client("resourcegroupstaggingapi").get_resources(TagFilters=[{"Key": WORKSPACE_TAG, "Values": [workspace]}])
    assert {item["ResourceARN"].rsplit("/", 1)[-1] for item in tagged["ResourceTagMappingList"]} == {deleted, live}

    assert deleted_nat_gateways([Leftover(arn(deleted)), Leftover(arn(live))]) == {deleted}
    assert deleted_nat_gateways([Leftover(arn(live))]) == set()
    assert deleted_nat_gateways([Leftover("arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-0abc")]) == set()
