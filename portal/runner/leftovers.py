"""What a failed apply can leave outside its workspace's state, and clearing it on the emulator.

The AWS provider retries a call whose answer did not arrive (a dropped connection, a 5xx): the AWS
SDK for Go counts any error sending a request or reading its answer as retryable
(aws-sdk-go-v2 aws/retry/retryable_error.go, RetryableConnectionError; smithy-go
transport/http/client.go, RequestSendError). When the first attempt had taken effect, the retry
of a call that is not idempotent is refused: CreateSubnet has no client token
(https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html), so the second
CreateSubnet of the same CIDR answers `InvalidSubnet.Conflict`. The apply fails, the subnet the
first attempt made is in AWS but not in the state, and every later plan wants to create it again and
fails the same way.

Every resource the portal creates carries its workspace's tag (`PortalWorkspace`, see
portal.workspaces.rendering.default_tags), so a leftover is a resource with the workspace's tag
whose id is nowhere in the workspace's state.

On the emulator (the local stack's own, in memory) a leftover is removed, and the next plan
creates it again. On AWS nothing is removed here: a resource that is tagged for a workspace but
missing from its state may be a lost state as much as a lost answer, and deleting it could take down
what runs; the portal's own principal may not list tags either. There the failed run's log names the
conflict, and an admin imports the resource into the state (`terraform import`) or deletes it.
"""

import json
from dataclasses import dataclass

from botocore.exceptions import ClientError
from django.conf import settings

from portal.core.aws import client
from portal.runner import locks
from portal.runs.models import Run
from portal.workspaces.models import Workspace

WORKSPACE_TAG = "PortalWorkspace"  # one of rendering.default_tags (a test holds them together)

# How the emulator removes a leftover of each type it can remove (EC2's, which the network's
# resources are). Others are named for a person to remove.
REMOVERS = {
    "ec2:subnet": lambda ec2, id: ec2.delete_subnet(SubnetId=id),
    "ec2:security-group": lambda ec2, id: ec2.delete_security_group(GroupId=id),
    "ec2:route-table": lambda ec2, id: ec2.delete_route_table(RouteTableId=id),
    "ec2:natgateway": lambda ec2, id: ec2.delete_nat_gateway(NatGatewayId=id),
    "ec2:vpc": lambda ec2, id: ec2.delete_vpc(VpcId=id),
}


@dataclass
class Leftover:
    arn: str
    removed: bool = False
    why_not: str = ""

    @property
    def resource_type(self) -> str:
        """ "ec2:subnet" from arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-0abc."""
        parts = self.arn.split(":", 5)
        return f"{parts[2]}:{parts[5].split('/', 1)[0]}" if len(parts) == 6 else ""

    @property
    def id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    def __str__(self) -> str:
        if self.removed:
            return f"removed {self.id} ({self.resource_type}): the failed apply made it but it is not in the state"
        return f"left {self.arn}: not in the state ({self.why_not})"


def state_ids(workspace: Workspace) -> set[str] | None:
    """Every id and ARN in the workspace's state; None when the state cannot be read."""
    try:
        body = locks.state_client(workspace).get_object(Bucket=settings.STATE_BUCKET, Key=workspace.state_key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return set()
        return None
    found = set()
    for resource in json.loads(body).get("resources", []):
        for instance in resource.get("instances", []):
            attributes = instance.get("attributes") or {}
            found.update(str(attributes[name]) for name in ("id", "arn") if attributes.get(name))
    return found


def tagged(workspace: Workspace) -> list[str]:
    """The ARNs of the resources that carry the workspace's tag (the Resource Groups Tagging API)."""
    pages = client("resourcegroupstaggingapi").get_paginator("get_resources").paginate(TagFilters=[{"Key": WORKSPACE_TAG, "Values": [workspace.path]}])
    return [item["ResourceARN"] for page in pages for item in page["ResourceTagMappingList"]]


def find(workspace: Workspace) -> list[Leftover]:
    in_state = state_ids(workspace)
    if in_state is None:
        return []
    found = [Leftover(arn) for arn in tagged(workspace) if arn not in in_state and Leftover(arn).id not in in_state]
    return [leftover for leftover in found if leftover.id not in deleted_nat_gateways(found)]


def deleted_nat_gateways(leftovers: list[Leftover]) -> set[str]:
    """A deleted NAT gateway is still described for a while after, in the state `deleting` and then
    `deleted` (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_NatGateway.html, State),
    its tags with it; the emulator keeps it so for good. One a destroy removed is no leftover."""
    ids = [leftover.id for leftover in leftovers if leftover.resource_type == "ec2:natgateway"]
    if not ids:
        return set()
    gateways = client("ec2").describe_nat_gateways(NatGatewayIds=ids)["NatGateways"]
    return {gateway["NatGatewayId"] for gateway in gateways if gateway["State"] in ("deleting", "deleted")}


def clear(workspace: Workspace) -> list[str]:
    """Remove, on the emulator, what a failed apply of the workspace left outside its state; a line
    for each thing found, saying whether it was removed. Nothing while a run of the workspace is
    under way or its state is locked: an apply under way has made resources it has not recorded yet."""
    if not settings.ON_EMULATOR:
        return []
    try:
        if Run.objects.active().filter(workspace=workspace).exists() or locks.read(workspace) is not None:
            return []
        found = find(workspace)
    except ClientError as exc:  # the emulator enforcing IAM on the portal's own credentials, say
        return [f"could not look for what the failed apply left outside the state: {exc}"]
    ec2 = client("ec2")
    for leftover in found:
        remover = REMOVERS.get(leftover.resource_type)
        if remover is None:
            leftover.why_not = "remove it by hand, or import it into the state"
            continue
        try:
            remover(ec2, leftover.id)
            leftover.removed = True
        except ClientError as exc:
            leftover.why_not = f"removing it failed: {exc}"
    return [str(leftover) for leftover in found]
