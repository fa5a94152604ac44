"""What the network needs of the workload roles before the roles' apply ends: the flow logs' role,
trusted by VPC Flow Logs, with its policy (portal.platform.provisioning.flow_logs_may_write),
asked of the emulator's IAM as provisioning asks it; and the role's ARN the network is given is
the one the role gets."""

import json

import pytest

from portal.core.aws import client
from portal.platform.provisioning import FLOW_LOGS_POLICY, flow_logs_may_write
from portal.workspaces.layout import WORKLOAD_ROLE_PATH, flow_logs_role_arn
from portal.workspaces.paths import prefix

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_platform(settings):
    """A platform prefix of these tests' own: the session's emulator may hold the default platform's
    roles from the end-to-end tests that ran before."""
    settings.SERVICE_NAME_PREFIX = "flow-logs-check"


def trust(service: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def writes(actions: list[str], effect: str = "Allow") -> str:
    statement = {"Effect": effect, "Action": actions, "Resource": f"arn:aws:logs:*:*:log-group:/vpc/{prefix()}*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture
def iam():
    iam = client("iam")
    yield iam
    name = f"{prefix()}-vpc-flow-logs"
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"] if roles(iam, name) else []:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    if roles(iam, name):
        iam.delete_role(RoleName=name)


def roles(iam, name: str) -> bool:
    return any(role["RoleName"] == name for role in iam.list_roles(PathPrefix=WORKLOAD_ROLE_PATH)["Roles"])


def test_no_role_is_not_ready():
    assert flow_logs_may_write() is False


def test_the_role_is_ready_once_flow_logs_may_assume_it_and_its_policy_lets_them_write(iam):
    name = f"{prefix()}-vpc-flow-logs"
    role = iam.create_role(RoleName=name, Path=WORKLOAD_ROLE_PATH, AssumeRolePolicyDocument=trust("vpc-flow-logs.amazonaws.com"))["Role"]
    assert role["Arn"] == flow_logs_role_arn(), "the network is given the ARN the role gets"
    assert flow_logs_may_write() is False  # no policy yet
    iam.put_role_policy(RoleName=name, PolicyName=FLOW_LOGS_POLICY, PolicyDocument=writes(["logs:CreateLogStream"]))
    assert flow_logs_may_write() is False  # a policy that does not let them write
    iam.put_role_policy(RoleName=name, PolicyName=FLOW_LOGS_POLICY, PolicyDocument=writes(["logs:PutLogEvents"], effect="Deny"))
    assert flow_logs_may_write() is False
    iam.put_role_policy(RoleName=name, PolicyName=FLOW_LOGS_POLICY, PolicyDocument=writes(["logs:CreateLogStream", "logs:PutLogEvents"]))
    assert flow_logs_may_write() is True
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust("ec2.amazonaws.com"))
    assert flow_logs_may_write() is False, "a role flow logs may not assume"


def test_a_role_of_that_name_under_another_path_is_not_the_one(iam):
    name = f"{prefix()}-vpc-flow-logs"
    iam.create_role(RoleName=name, Path="/elsewhere/", AssumeRolePolicyDocument=trust("vpc-flow-logs.amazonaws.com"))
    iam.put_role_policy(RoleName=name, PolicyName=FLOW_LOGS_POLICY, PolicyDocument=writes(["logs:PutLogEvents"]))
    assert flow_logs_may_write() is False
    iam.delete_role_policy(RoleName=name, PolicyName=FLOW_LOGS_POLICY)
    iam.delete_role(RoleName=name)
