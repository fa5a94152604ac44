"""The IAM evaluation itself (tests/iam/), on calls made to the session's emulator: each part AWS
evaluates and the emulator does not (permissions boundary, session policy, conditions with the
request's context, what AWS checks on the side of a call) decides, and a denial names the part
that is missing. The platform's own calls are evaluated in tests/e2e/policy/test_privileges_enforced.py."""

import json
import os
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.environment import RECORDER
from tests.iam import sar
from tests.iam.evaluation import Evaluation
from tests.iam.identities import Identities
from tests.iam.world import World

ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
REGION = os.environ["AWS_REGION"]
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}


def emulator(service: str, credentials: dict | None = None):
    credentials = credentials or {"AccessKeyId": "emulator", "SecretAccessKey": "emulator-secret"}
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials.get("SessionToken"),
        config=Config(retries={"max_attempts": 1}),
    )


def document(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **condition) -> dict:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


@pytest.fixture
def role():
    """A role with an identity policy and, when asked, a permissions boundary; assumed (with a
    session policy when asked) by the emulator's own credentials."""

    def make(policy: str, boundary: str | None = None, session_policy: str | None = None) -> dict:
        iam = emulator("iam")
        name = f"evaluated-{uuid.uuid4().hex[:8]}"
        kwargs = {}
        if boundary:
            kwargs["PermissionsBoundary"] = iam.create_policy(PolicyName=f"{name}-boundary", PolicyDocument=boundary)["Policy"]["Arn"]
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST), **kwargs)["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="permissions", PolicyDocument=policy)
        assume = {"RoleArn": arn, "RoleSessionName": "evaluated"}
        if session_policy:
            assume["Policy"] = session_policy
        return {**emulator("sts").assume_role(**assume)["Credentials"], "BoundaryArn": kwargs.get("PermissionsBoundary")}

    return make


def evaluate(mark: int, credentials: dict, account_since: int = 0):
    """The calls signed with these credentials since `mark`, in an account whose history is the
    recording since `account_since` (what was created before it, a service-linked role, is not)."""
    calls = [call for call in RECORDER.since(mark) if call.key_id == credentials["AccessKeyId"]]
    return Evaluation(calls, Identities({}), World(REGION, ENDPOINT, RECORDER.since(account_since))).run()


def denials(report) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(row.action, row.resource, row.missing) for row, _, _ in report.distinct_denied()}


def test_a_permissions_boundary_caps_the_identity_policy_and_the_denial_names_it(role):
    fresh_account = RECORDER.mark()
    credentials = role(
        document(allow(["ecs:CreateCluster", "iam:CreateServiceLinkedRole"])),
        boundary=document(allow("ecs:*")),
    )
    mark = RECORDER.mark()
    emulator("ecs", credentials).create_cluster(clusterName="evaluated")  # the emulator allows it

    report = evaluate(mark, credentials, account_since=fresh_account)
    assert report.evaluated_calls == 1 and not report.harness_errors
    # The cluster itself is allowed; creating ECS's service-linked role, which a fresh account
    # does not have, is not: the boundary allows no IAM.
    assert denials(report) == {
        (
            "iam:CreateServiceLinkedRole",
            "arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
            (f"not allowed by the permissions boundary ({credentials['BoundaryArn']})",),
        )
    }


def test_a_session_policy_narrows_the_role_to_what_it_allows(role):
    bucket = f"evaluated-{uuid.uuid4().hex[:8]}"
    emulator("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    for key in ("mine", "theirs"):
        emulator("s3").put_object(Bucket=bucket, Key=key, Body=b"{}")
    credentials = role(
        document(allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*")),
        session_policy=document(allow("s3:GetObject", f"arn:aws:s3:::{bucket}/mine")),
    )
    mark = RECORDER.mark()
    s3 = emulator("s3", credentials)
    s3.get_object(Bucket=bucket, Key="mine")
    s3.get_object(Bucket=bucket, Key="theirs")  # the emulator ignores the session policy

    report = evaluate(mark, credentials)
    assert report.evaluated_calls == 2
    assert denials(report) == {("s3:GetObject", f"arn:aws:s3:::{bucket}/theirs", ("not allowed by the session policy",))}


def test_conditions_are_decided_on_the_request_and_the_tags_it_creates(role):
    tagged = {"aws:RequestTag/ManagedBy": "infra-portal"}
    credentials = role(
        document(
            allow("ec2:CreateVpc", "arn:aws:ec2:*:123456789012:vpc/*", StringEquals=tagged),
            allow("ec2:CreateTags", "arn:aws:ec2:*:123456789012:vpc/*", StringEquals={"ec2:CreateAction": "CreateVpc"}),
        )
    )
    mark = RECORDER.mark()
    ec2 = emulator("ec2", credentials)
    ec2.create_vpc(CidrBlock="10.8.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "ManagedBy", "Value": "infra-portal"}]}])
    ec2.create_vpc(CidrBlock="10.7.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "ManagedBy", "Value": "someone"}]}])

    report = evaluate(mark, credentials)
    # Each create is authorized twice: the VPC, and tagging it on create (ec2:CreateTags).
    assert (report.own_checks, report.implicit_checks) == (2, 2)
    assert denials(report) == {("ec2:CreateVpc", "arn:aws:ec2:eu-west-1:123456789012:vpc/*", ("no Allow in the identity policies",))}
    assert [row.context["aws:RequestTag/ManagedBy"] for row in report.denied] == ["someone"]


def test_a_missing_key_read_without_list_bucket_is_a_403_on_aws(role):
    bucket = f"evaluated-{uuid.uuid4().hex[:8]}"
    emulator("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    credentials = role(document(allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*")))
    mark = RECORDER.mark()
    with pytest.raises(ClientError) as missing:
        emulator("s3", credentials).head_object(Bucket=bucket, Key="terraform.tfstate")
    assert missing.value.response["Error"]["Code"] == "404"  # the emulator's answer; AWS's is 403

    report = evaluate(mark, credentials)
    [(row, _, _)] = report.distinct_denied()
    assert (row.action, row.resource, row.missing) == ("s3:ListBucket", f"arn:aws:s3:::{bucket}", ("no Allow in the identity policies",))
    assert "s3:ListBucket permission" in row.because


def test_an_operation_the_table_does_not_know_fails_the_evaluation_loudly(role):
    credentials = role(document(allow("sqs:*")))
    mark = RECORDER.mark()
    emulator("sqs", credentials).create_queue(QueueName=f"evaluated-{uuid.uuid4().hex[:8]}")

    report = evaluate(mark, credentials)
    assert report.evaluated_calls == 0 and not report.denied
    [error] = report.harness_errors
    assert "sqs:CreateQueue is not in the operation table" in error and "add it" in error


@pytest.mark.parametrize(
    "check, message",
    [
        (lambda: sar.resource_type_of("ecs:CreateClusterr", "*"), "no action of the Service Authorization Reference"),
        (lambda: sar.resource_type_of("ecs:CreateCluster", "arn:aws:s3:::bucket"), "is none of the resource types"),
        (lambda: sar.resource_type_of("ec2:DescribeVpcs", "arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-1"), "takes no resource type"),
        (lambda: sar.check_condition_keys("s3:GetObject", "object", ["s3:prefix"]), "is no condition key of s3:GetObject"),
    ],
)
def test_every_check_is_held_to_the_service_authorization_reference(check, message):
    with pytest.raises(sar.TableError, match=message):
        check()


def test_what_the_reference_allows_passes_its_checks():
    assert sar.resource_type_of("ecs:CreateService", "arn:aws:ecs:eu-west-1:123456789012:service/art-service/web") == "service"
    assert sar.resource_type_of("ec2:DescribeVpcs", "*") is None
    sar.check_condition_keys("s3:ListBucket", "bucket", ["s3:prefix", "aws:ResourceTag/ManagedBy"])
    sar.check_condition_keys("ec2:CreateTags", "vpc", ["ec2:CreateAction", "aws:RequestTag/ManagedBy"])


def test_a_service_linked_role_created_before_is_not_created_again(role):
    """The bootstrap may make the service-linked roles: then the first cluster needs none."""
    iam = emulator("iam")
    for made in iam.list_roles(PathPrefix="/aws-service-role/ecs.amazonaws.com/")["Roles"]:  # by another test of the session
        iam.delete_service_linked_role(RoleName=made["RoleName"])
    iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
    credentials = role(document(allow("ecs:CreateCluster")))
    mark = RECORDER.mark()
    emulator("ecs", credentials).create_cluster(clusterName="evaluated-after-bootstrap")

    report = evaluate(mark, credentials)
    assert (report.own_checks, report.implicit_checks, report.denied) == (1, 0, [])


def test_the_bucket_operations_terraform_reads_are_authorized_as_their_iam_actions(role):
    bucket = f"evaluated-{uuid.uuid4().hex[:8]}"
    emulator("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    credentials = role(document(allow(["s3:GetEncryptionConfiguration", "s3:GetBucketVersioning"], f"arn:aws:s3:::{bucket}")))
    mark = RECORDER.mark()
    s3 = emulator("s3", credentials)
    s3.get_bucket_versioning(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)  # none set: an error after authorization

    report = evaluate(mark, credentials)
    assert denials(report) == {("s3:GetLifecycleConfiguration", f"arn:aws:s3:::{bucket}", ("no Allow in the identity policies",))}
