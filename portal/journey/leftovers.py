"""What a platform under one name prefix left in the account, and removing what the bootstrap made.

The inventory asks each service for what carries the prefix (names, Name tags, IAM paths), with the
portal's own credentials: after a journey it must be empty, or say what is left and where. The
e2e test asks it on the emulator after destroying the platform (only the bootstrap's administrators
and state bucket may remain there); bin/aws-acceptance asks it at the very end, whatever happened.

The administrators and the state bucket are the bootstrap's (portal/runner/bootstrap.py): every run
needs them, so the platform's own destroy leaves them. The acceptance run removes them last, with the
same credentials that made them: the administrators with terraform destroy of their workspace, the
bucket (which the remote-state module keeps from being destroyed) with S3's own calls.
"""

from collections.abc import Callable

from botocore.exceptions import ClientError
from django.conf import settings
from python_terraform import IsFlagged

from portal.core.aws import client
from portal.runner.terraform import Terraform
from portal.workspaces.layout import WORKLOAD_ROLE_PATH, administrators_workspace
from portal.workspaces.rendering import render

# The bootstrap's, which the platform's destroy leaves on purpose.
BOOTSTRAP = ("administrators", "state bucket")


def what_is_left(prefix: str | None = None) -> dict[str, list[str]]:
    """{kind: [what]} of everything carrying the prefix; kinds with nothing are left out."""
    prefix = prefix or settings.SERVICE_NAME_PREFIX
    found = {
        "administrators": administrators_left(prefix),
        "state bucket": [settings.STATE_BUCKET] if bucket_exists(settings.STATE_BUCKET) else [],
        "workload roles": [
            role["Arn"] for role in pages(client("iam"), "list_roles", "Roles", PathPrefix=WORKLOAD_ROLE_PATH) if role["RoleName"].startswith(prefix)
        ],
        "ECS clusters": [
            arn
            for arn in pages(client("ecs"), "list_clusters", "clusterArns")
            if arn.rsplit("/", 1)[1].startswith(prefix) and client("ecs").describe_clusters(clusters=[arn])["clusters"][0]["status"] == "ACTIVE"
        ],
        "load balancers": [
            lb["LoadBalancerArn"] for lb in pages(client("elbv2"), "describe_load_balancers", "LoadBalancers") if lb["LoadBalancerName"].startswith(prefix)
        ],
        "target groups": [
            tg["TargetGroupArn"] for tg in pages(client("elbv2"), "describe_target_groups", "TargetGroups") if tg["TargetGroupName"].startswith(prefix)
        ],
        "ECR repositories": [
            r["repositoryArn"] for r in pages(client("ecr"), "describe_repositories", "repositories") if r["repositoryName"].startswith(prefix)
        ],
        "autoscaling groups": [
            g["AutoScalingGroupARN"]
            for g in pages(client("autoscaling"), "describe_auto_scaling_groups", "AutoScalingGroups")
            if g["AutoScalingGroupName"].startswith(prefix)
        ],
        "launch templates": [
            t["LaunchTemplateId"] for t in pages(client("ec2"), "describe_launch_templates", "LaunchTemplates") if t["LaunchTemplateName"].startswith(prefix)
        ],
        "log groups": [
            g["logGroupName"]
            for start in (f"/ecs/{prefix}", f"/vpc/{prefix}", f"/aws/ecs/containerinsights/{prefix}")
            for g in pages(client("logs"), "describe_log_groups", "logGroups", logGroupNamePrefix=start)
        ],
    }
    ec2 = client("ec2")
    named = [{"Name": "tag:Name", "Values": [f"{prefix}*"]}]
    found["VPCs"] = [v["VpcId"] for v in pages(ec2, "describe_vpcs", "Vpcs", Filters=named)]
    found["NAT gateways"] = [
        n["NatGatewayId"] for n in pages(ec2, "describe_nat_gateways", "NatGateways", Filter=named) if n["State"] not in ("deleted", "deleting")
    ]
    found["elastic IPs"] = [a.get("AllocationId", a.get("PublicIp")) for a in ec2.describe_addresses(Filters=named)["Addresses"]]
    found["security groups"] = [g["GroupId"] for g in pages(ec2, "describe_security_groups", "SecurityGroups") if g["GroupName"].startswith(prefix)]
    return {kind: sorted(items) for kind, items in found.items() if items}


def administrators_left(prefix: str) -> list[str]:
    iam, path = client("iam"), f"/{prefix}/"
    found = [
        *pages(iam, "list_users", "Users", PathPrefix=path),
        *pages(iam, "list_groups", "Groups", PathPrefix=path),
        *pages(iam, "list_roles", "Roles", PathPrefix=path),
        *pages(iam, "list_policies", "Policies", Scope="Local", PathPrefix=path),
    ]
    # Filtered again: the emulator's ListGroups ignores PathPrefix.
    return [item["Arn"] for item in found if item.get("Path", "").startswith(path)]


def pages(service, operation: str, key: str, **arguments) -> list:
    if service.can_paginate(operation):
        return [item for page in service.get_paginator(operation).paginate(**arguments) for item in page.get(key, [])]
    return getattr(service, operation)(**arguments).get(key, [])


def bucket_exists(bucket: str) -> bool:
    try:
        client("s3").head_bucket(Bucket=bucket)
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket", "NotFound"):
            return False
        raise


def destroy_administrators(log: Callable[[str], None]) -> None:
    """terraform destroy of the administrators' workspace, with the portal's own credentials (the
    bootstrap's): the iam administrator cannot remove itself."""
    workspace = administrators_workspace()
    directory = render(workspace, workspace.variables)
    terraform = Terraform(directory, log)
    terraform.init(workspace.state_key, workspace.module)
    terraform.run("destroy", input=False, auto_approve=IsFlagged)


def delete_state_bucket() -> None:
    """Every version and delete marker of every state, then the bucket."""
    empty_bucket(settings.STATE_BUCKET)
    client("s3", timeout=60).delete_bucket(Bucket=settings.STATE_BUCKET)


def empty_bucket(bucket: str, keep=()) -> None:
    """Every version and delete marker of every object in `bucket`, but those under the keys in `keep`."""
    s3 = client("s3", timeout=60)
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        objects = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])] if v["Key"] not in keep]
        if objects:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})


def described(left: dict[str, list[str]]) -> str:
    if not left:
        return "Nothing is left in the account under this prefix."
    return "Left in the account:\n" + "\n".join(f"  {kind}: {', '.join(items)}" for kind, items in left.items())
