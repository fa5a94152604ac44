"""What the operation table needs to know about the account besides the request itself: ARNs, the
tags resources carry, the names IAM resources were created under, the launch templates and
instance profiles a group launches with. Read from the recording and from the emulator's answers
(with its own credentials, IAM enforcement off), never from the portal's database."""

import json
import re
from functools import cache, cached_property
from urllib.parse import unquote_plus

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.iam.identities import ACCOUNT, PARTITION
from tests.iam.recorder import Recorded

# EC2 id prefix -> the resource type of its ARN (Service Authorization Reference, Amazon EC2).
EC2_TYPES = {
    "vpc": "vpc",
    "subnet": "subnet",
    "sg": "security-group",
    "sgr": "security-group-rule",
    "rtb": "route-table",
    "igw": "internet-gateway",
    "nat": "natgateway",
    "eipalloc": "elastic-ip",
    "acl": "network-acl",
    "lt": "launch-template",
    "i": "instance",
    "fl": "vpc-flow-log",
    "eni": "network-interface",
    "vol": "volume",
}
IAM_ARN = re.compile(r"arn:aws:iam::\d{12}:(role|user|group|policy|instance-profile)(/(?:[^/<\s\"]+/)*)([^/<\s\"]+)")


class World:
    def __init__(self, region: str, endpoint: str, recording: list[Recorded]):
        self.region = region
        self.endpoint = endpoint
        self.account = ACCOUNT
        self.recording = recording
        self._tags: dict[str, dict[str, str]] = {}
        self.service_linked_roles_created: set[str] = set()

    # --- ARNs -----------------------------------------------------------------------------------
    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return f"arn:{PARTITION}:{service}:{self.region if region else ''}:{self.account if account else ''}:{resource}"

    def ec2(self, resource_id: str) -> str:
        kind = EC2_TYPES.get(resource_id.split("-", 1)[0])
        if kind is None:
            raise LookupError(f"no EC2 resource type for the id {resource_id}")
        return self.arn("ec2", f"{kind}/{resource_id}")

    def ec2_new(self, kind: str) -> str:
        """What a create is authorized on: the new resource's type, its id not known yet."""
        return self.arn("ec2", f"{kind}/*")

    def iam(self, kind: str, name: str) -> str:
        """An IAM resource by name: names are unique per kind, paths come from what was created."""
        found = self.iam_arns.get((kind, name))
        if found is None:
            raise LookupError(f"no {kind} named {name} was seen in the recording")
        return found

    @cached_property
    def iam_arns(self) -> dict[tuple[str, str], str]:
        """(kind, name) -> ARN, from every IAM ARN the emulator answered or was sent."""
        found = {}
        for call in self.recording:
            for text in (call.response.decode(errors="replace"), call.body.decode(errors="replace")):
                for kind, path, name in IAM_ARN.findall(text.replace("%2F", "/").replace("%3A", ":")):
                    found[(kind, name)] = f"arn:{PARTITION}:iam::{self.account}:{kind}{path}{name}"
        return found

    def service_linked_role_created_before(self, service_name: str, seq: int) -> bool:
        """Whether anyone (the bootstrap too) created the service's linked role before that call."""
        return any(
            call.seq < seq
            and call.signing_name == "iam"
            and call.status < 300
            and b"CreateServiceLinkedRole" in call.body
            and service_name in unquote_plus(call.body.decode(errors="replace"))
            for call in self.recording
        )

    # --- tags -------------------------------------------------------------------------------------
    def client(self, service: str):
        return _client(service, self.endpoint, self.region)

    def tags(self, arn: str) -> dict[str, str]:
        """The tags a non-EC2 resource carries (as the emulator holds them now: set when created)."""
        if arn not in self._tags:
            self._tags[arn] = self._read_tags(arn)
        return self._tags[arn]

    def _read_tags(self, arn: str) -> dict[str, str]:
        service = arn.split(":")[2]
        try:
            if service == "elasticloadbalancing":
                described = self.client("elbv2").describe_tags(ResourceArns=[arn])["TagDescriptions"]
                return {t["Key"]: t["Value"] for t in described[0]["Tags"]} if described else {}
            if service == "ecs":
                return {t["key"]: t["value"] for t in self.client("ecs").list_tags_for_resource(resourceArn=arn)["tags"]}
            if service == "logs":
                return self.client("logs").list_tags_for_resource(resourceArn=arn.removesuffix(":*"))["tags"]
            if service == "ecr":
                return {t["Key"]: t["Value"] for t in self.client("ecr").list_tags_for_resource(resourceArn=arn)["tags"]}
            if service == "application-autoscaling":
                return self.client("application-autoscaling").list_tags_for_resource(ResourceARN=arn)["Tags"]
            if service == "autoscaling":
                name = arn.rsplit("autoScalingGroupName/", 1)[-1]
                described = self.client("autoscaling").describe_tags(Filters=[{"Name": "auto-scaling-group", "Values": [name]}])["Tags"]
                return {t["Key"]: t["Value"] for t in described}
            if service == "iam" and ":role/" in arn:
                return {t["Key"]: t["Value"] for t in self.client("iam").list_role_tags(RoleName=arn.rsplit("/", 1)[-1])["Tags"]}
            if service == "iam" and ":policy/" in arn:
                return {t["Key"]: t["Value"] for t in self.client("iam").list_policy_tags(PolicyArn=arn)["Tags"]}
        except ClientError:
            return {}  # gone since (deleted later in the flow): it had none the table relies on
        return {}

    # --- what the calls refer to -------------------------------------------------------------------
    def launch_template(self, template_id: str | None, name: str | None, version: str | None) -> dict:
        ec2 = self.client("ec2")
        kwargs = {"LaunchTemplateId": template_id} if template_id else {"LaunchTemplateName": name}
        versions = ec2.describe_launch_template_versions(**kwargs, Versions=[version or "$Default"])["LaunchTemplateVersions"]
        return versions[0]

    def instance_profile_role(self, profile_arn: str | None, profile_name: str | None) -> str | None:
        name = profile_name or (profile_arn or "").rsplit("/", 1)[-1]
        roles = self.client("iam").get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Roles"]
        return roles[0]["Arn"] if roles else None

    def autoscaling_group_arn(self, name: str) -> str:
        groups = self.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
        # At its creation the group's id is not known yet: AWS authorizes the name under any id.
        return groups[0]["AutoScalingGroupARN"] if groups else self.arn("autoscaling", f"autoScalingGroup:*:autoScalingGroupName/{name}")

    def scalable_target_arn(self, namespace: str, resource_id: str, dimension: str) -> str:
        targets = self.client("application-autoscaling").describe_scalable_targets(
            ServiceNamespace=namespace, ResourceIds=[resource_id], ScalableDimension=dimension
        )["ScalableTargets"]
        return targets[0]["ScalableTargetARN"] if targets else self.arn("application-autoscaling", "scalable-target/*")

    def bucket_encryption(self, bucket: str) -> dict | None:
        """The bucket's default encryption rule, when it is SSE-KMS."""
        try:
            rules = self.client("s3").get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        except ClientError:
            return None
        default = rules[0]["ApplyServerSideEncryptionByDefault"]
        return default if default["SSEAlgorithm"].startswith("aws:kms") else None

    def bucket_policy(self, bucket: str) -> dict | None:
        try:
            return json.loads(self.client("s3").get_bucket_policy(Bucket=bucket)["Policy"])
        except ClientError:
            return None

    def role_trust_policy(self, role_arn: str) -> dict | None:
        try:
            return self.client("iam").get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]["AssumeRolePolicyDocument"]
        except ClientError:
            return None

    def key_policy(self, key_arn: str) -> dict:
        return json.loads(self.client("kms").get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])

    def secret_full_arn(self, secret_arn: str) -> str:
        """The secret's own ARN, with the six characters Secrets Manager adds: what IAM and KMS see,
        whichever form a task definition names it by."""
        try:
            return self.client("secretsmanager").describe_secret(SecretId=secret_arn)["ARN"]
        except ClientError:
            return secret_arn

    def secret_kms_key(self, secret_arn: str) -> str | None:
        """The customer managed key a secret is encrypted with; None for aws/secretsmanager."""
        try:
            key = self.client("secretsmanager").describe_secret(SecretId=secret_arn).get("KmsKeyId")
        except ClientError:
            return None
        if not key or key.startswith("alias/aws/"):
            return None
        return key if key.startswith("arn:") else self.client("kms").describe_key(KeyId=key)["KeyMetadata"]["Arn"]


@cache
def _client(service: str, endpoint: str, region: str):
    # The emulator's own credentials: the lookups are the harness's, not a run's.
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="emulator",
        aws_secret_access_key="emulator-secret",
        config=Config(retries={"max_attempts": 1}),
    )
