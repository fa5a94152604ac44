"""What the first deploy in a fresh AWS account needs that the emulator never asks for: the
service-linked roles, trust policies that name the runner's role with its path, and a session policy
that lets S3 use the state bucket's KMS key. Each is tried on the emulator's real answers; what only
AWS evaluates (boundaries, conditions, S3's 403 for a missing key) is held by the modules' tests and
the IAM evaluation."""

import json
import os
from contextlib import contextmanager

import boto3
import pytest
import requests

from portal.core import aws
from portal.runner.bootstrap import SERVICE_LINKED_ROLES, ensure_service_linked_roles
from portal.workspaces import layout
from portal.workspaces.identities import RunIdentity, identity_for
from portal.workspaces.models import Workspace

pytestmark = pytest.mark.django_db

ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
TRUST_THE_ACCOUNT = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}
)


@contextmanager
def acting_with(credentials: dict, monkeypatch):
    """The portal's own credentials (boto3's default session) are these, for the block."""
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    aws._sessions.clear()
    try:
        yield
    finally:
        aws._sessions.clear()
        boto3.DEFAULT_SESSION = None


@contextmanager
def iam_enforced():
    """moto checks identity policies from here on (its reset-auth, see tests/e2e/policy/test_privileges_enforced.py)."""
    previous = requests.post(f"{ENDPOINT}/moto-api/reset-auth", data=b"0", timeout=10).json()
    try:
        yield
    finally:
        requests.post(f"{ENDPOINT}/moto-api/reset-auth", data=str(previous["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]).encode(), timeout=10)


def linked_roles(iam) -> dict[str, list[str]]:
    return {s: [r["RoleName"] for r in iam.list_roles(PathPrefix=f"/aws-service-role/{s}/")["Roles"]] for s in SERVICE_LINKED_ROLES}


def test_the_bootstrap_makes_the_service_linked_roles_an_account_lacks_and_keeps_those_it_has():
    iam = aws.client("iam")
    before = linked_roles(iam)
    for names in before.values():  # a fresh account: none of the four
        for name in names:
            iam.delete_service_linked_role(RoleName=name)
    iam.create_service_linked_role(AWSServiceName="elasticloadbalancing.amazonaws.com")  # one used already

    lines = ensure_service_linked_roles()

    after = linked_roles(iam)
    assert all(len(names) == 1 for names in after.values()), after
    assert [line for line in lines if "exists" in line] == [
        f"Service-linked role of elasticloadbalancing.amazonaws.com: {after['elasticloadbalancing.amazonaws.com'][0]} exists."
    ]
    assert sum("made" in line for line in lines) == 3
    assert ensure_service_linked_roles() == [f"Service-linked role of {s}: {after[s][0]} exists." for s in SERVICE_LINKED_ROLES]


def test_without_iam_rights_the_bootstrap_says_who_makes_the_service_linked_roles_and_how(monkeypatch):
    iam = aws.client("iam")
    user = iam.create_user(UserName="portal-without-iam-rights")["User"]
    key = iam.create_access_key(UserName=user["UserName"])["AccessKey"]
    try:
        with iam_enforced(), acting_with({"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}, monkeypatch):
            lines = ensure_service_linked_roles()
    finally:
        iam.delete_access_key(UserName=user["UserName"], AccessKeyId=key["AccessKeyId"])
        iam.delete_user(UserName=user["UserName"])

    assert len(lines) == len(SERVICE_LINKED_ROLES)
    assert all("could not be checked or made" in line and "The ecs administrator makes it on first use" in line for line in lines)
    assert "aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com" in lines[0]


@pytest.fixture
def identity_center_session(monkeypatch, settings):
    """The portal running as an IAM Identity Center user: a session of a role under
    /aws-reserved/sso.amazonaws.com/<region>/, whose session ARN leaves the path out. Its bootstrap
    has not run yet (the session's own bootstrap, tests/conftest.py, may have)."""
    settings.RUNNER_PRINCIPAL_ARNS = []
    monkeypatch.setattr(layout, "last_applied_variables", lambda workspace: None)
    iam = aws.client("iam")
    role = iam.create_role(
        RoleName="AWSReservedSSO_PlatformAdmin_0123456789abcdef",
        Path="/aws-reserved/sso.amazonaws.com/eu-west-1/",
        AssumeRolePolicyDocument=TRUST_THE_ACCOUNT,
    )["Role"]
    credentials = aws.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="someone@example.com")["Credentials"]
    try:
        with acting_with(
            {
                "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
                "AWS_SESSION_TOKEN": credentials["SessionToken"],
            },
            monkeypatch,
        ):
            yield role
    finally:
        aws.client("iam").delete_role(RoleName=role["RoleName"])


def test_a_runner_that_is_an_identity_center_session_is_trusted_by_its_roles_whole_arn(identity_center_session):
    caller = aws.client("sts").get_caller_identity()["Arn"]
    assert caller.startswith("arn:aws:sts::") and "aws-reserved" not in caller, caller

    assert layout.runner_principal_arns() == [identity_center_session["Arn"]]
    assert layout.administrators_variables(layout.default_administrators())["runner_principal_arns"] == [
        "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_PlatformAdmin_0123456789abcdef"
    ]
    assert layout.caller_trusted([identity_center_session["Arn"]])


def test_a_runner_whose_role_cannot_be_read_is_refused_with_the_setting_to_give(identity_center_session):
    with iam_enforced(), pytest.raises(layout.RunnerUnknown) as refused:
        layout.runner_principal_arns()

    message = str(refused.value)
    assert "AWSReservedSSO_PlatformAdmin_0123456789abcdef" in message and "PORTAL_RUNNER_PRINCIPAL_ARNS" in message
    assert "iam:GetRole" in message


def test_once_the_administrators_are_applied_their_trusted_runner_is_not_asked_again(settings, monkeypatch):
    from portal.runs.models import Run, RunStatus

    settings.RUNNER_PRINCIPAL_ARNS = []
    workspace = layout.administrators_workspace()
    applied = {**workspace.variables, "runner_principal_arns": ["arn:aws:iam::123456789012:role/portal-runner"]}
    Run.objects.create(workspace=workspace, variables=applied, status=RunStatus.APPLIED)

    def no_call(*args, **kwargs):
        raise AssertionError("STS or IAM asked again")

    monkeypatch.setattr(layout, "caller_principal_arn", no_call)
    assert layout.runner_principal_arns() == ["arn:aws:iam::123456789012:role/portal-runner"]


def test_a_runs_session_policy_lets_s3_use_the_state_buckets_kms_key_and_nothing_else_of_kms():
    identity = identity_for(Workspace(path="ecs/services/art-service-billing"), "portal-run-1")
    assert isinstance(identity, RunIdentity)

    statements = json.loads(identity.session_policy())["Statement"]

    actions = [[s["Action"]] if isinstance(s["Action"], str) else s["Action"] for s in statements]
    (kms,) = [s for s, named in zip(statements, actions, strict=True) if any(a.startswith("kms:") for a in named)]
    assert sorted(kms["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert kms["Condition"] == {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}
    assert len(identity.session_policy()) < 2048


def test_the_workloads_roles_are_made_with_their_own_boundary(settings):
    settings.RUNNER_PRINCIPAL_ARNS = ["arn:aws:iam::123456789012:role/portal"]
    (roles,) = [w for w in layout.sync_platform_workspaces() if w.module == "workload-roles"]

    assert roles.variables["permissions_boundary_arn"].endswith(":policy/art-service/admins/art-service-workload-boundary")


def test_a_plan_that_changes_what_the_iam_administrator_may_not_change_about_itself_is_refused_with_the_way(make_user, settings):
    from portal.administrators.protected import approval_refusal
    from portal.runs.models import Change, Run, RunStatus

    settings.RUNNER_PRINCIPAL_ARNS = ["arn:aws:iam::123456789012:role/portal"]
    workspace = layout.administrators_workspace()
    change = Change.objects.create(title="Change the administrators", requested_by=make_user("admin", "admins"))
    run = Run.objects.create(
        workspace=workspace,
        change=change,
        status=RunStatus.AWAITING_APPROVAL,
        plan_changes=[
            {"address": 'module.this.aws_iam_policy.admin["ecs"]', "action": "update"},
            {"address": "module.this.aws_iam_policy.workload_boundary", "action": "update"},
        ],
    )

    refusal = approval_refusal(change, make_user("other-admin", "admins"), [run])

    assert refusal.code == "bootstrap_identity_needed" and not refusal.forbidden
    assert "aws_iam_policy.workload_boundary" in refusal.message and "upgrade_administrators" in refusal.message
    assert 'aws_iam_policy.admin["ecs"]' not in refusal.message
    Run.objects.filter(pk=run.pk).update(plan_changes=[{"address": 'module.this.aws_iam_policy.admin["ecs"]', "action": "update"}])
    assert approval_refusal(change, make_user("third-admin", "admins"), [Run.objects.get(pk=run.pk)]) is None


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_upgrade_administrators_applies_with_the_bootstrap_identity_what_the_iam_administrator_may_not(state_bucket):
    from django.core.management import call_command

    from portal.runs.models import Run, RunStatus
    from portal.workspaces.identities import policy_arn

    iam = aws.client("iam")
    runner = policy_arn("portal-runner")
    widened = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    iam.create_policy_version(PolicyArn=runner, PolicyDocument=widened, SetAsDefault=True)  # changed behind the portal's back

    call_command("upgrade_administrators", "--yes")

    version = iam.get_policy(PolicyArn=runner)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=runner, VersionId=version)["PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    assert document["Statement"][0]["Action"] == ["sts:AssumeRole"], "put back as the module declares it"
    run = Run.objects.filter(kind=Run.Kind.BOOTSTRAP).order_by("-created_at").first()
    assert run.status == RunStatus.APPLIED and "Upgrading the administrators with the bootstrap identity" in run.log

    call_command("upgrade_administrators", "--yes")
    assert Run.objects.filter(kind=Run.Kind.BOOTSTRAP).order_by("-created_at").first().status == RunStatus.NO_CHANGES
