"""bin/aws-acceptance (portal/journey/acceptance.py): it refuses, in one sentence, to run against the
emulator or without credentials; and the acceptance run itself, which needs a real sandbox account,
is skipped here with the sentence that says why (set PORTAL_AWS_ACCEPTANCE=1 where credentials exist
to run it: it creates resources and costs money)."""

import os
import re
import subprocess
import sys

import pytest
from django.conf import settings

from tests.environment import AWS_NAMES, MACHINE_AWS_ENVIRONMENT

ACCEPTANCE = [sys.executable, "-m", "portal.journey.acceptance"]


def machine_environment(**overrides) -> dict:
    """This machine's environment without the test session's emulator and credentials."""
    env = {name: value for name, value in os.environ.items() if name not in AWS_NAMES}
    return {**env, **MACHINE_AWS_ENVIRONMENT, **overrides}


def run(env: dict, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*ACCEPTANCE, *args], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout)


def test_it_refuses_the_emulator_in_one_sentence():
    env = machine_environment(AWS_ENDPOINT_URL="http://127.0.0.1:55000", AWS_ACCESS_KEY_ID="emulator", AWS_SECRET_ACCESS_KEY="emulator")

    refused = run(env)

    assert refused.returncode == 2
    assert refused.stdout == ""
    assert refused.stderr.strip().splitlines() == [
        "bin/aws-acceptance runs against real AWS only, and AWS_ENDPOINT_URL is set (http://127.0.0.1:55000), which "
        "points at an emulator: unset it and give credentials for a sandbox account."
    ]


def test_it_refuses_a_machine_without_credentials_in_one_sentence(tmp_path):
    env = {name: value for name, value in machine_environment().items() if not name.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",  # no instance role to find here, and no wait for one
    )

    refused = run(env)

    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "bin/aws-acceptance needs credentials for a sandbox AWS account (AWS_PROFILE, AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or an SSO login), and none were found."
    ]
    assert refused.stdout == "", "a refused run starts nothing"


def test_the_script_runs_the_acceptance_module():
    script = (settings.BASE_DIR / "bin" / "aws-acceptance").read_text()
    assert 'exec .venv/bin/python -m portal.journey.acceptance "$@"' in script
    assert os.access(settings.BASE_DIR / "bin" / "aws-acceptance", os.X_OK)


@pytest.mark.aws
def test_the_acceptance_run_on_aws():
    env = machine_environment(AWS_EC2_METADATA_DISABLED=os.environ.get("AWS_EC2_METADATA_DISABLED", "true"))
    ready = run(env, "--check")
    if ready.returncode != 0:
        pytest.skip(ready.stderr.strip())
    if os.environ.get("PORTAL_AWS_ACCEPTANCE") != "1":
        pytest.skip(f"{ready.stdout.strip()} The acceptance run creates resources and costs money: set PORTAL_AWS_ACCEPTANCE=1 to run it.")

    finished = run(env, timeout=2 * 3600)

    assert finished.returncode == 0, finished.stdout[-5000:] + finished.stderr[-3000:]
    assert "Nothing is left in the account under this prefix." in finished.stdout


# --- the clean-up's parts, on the emulator ------------------------------------------------------------
def test_a_runs_names_fit_what_aws_allows():
    from portal.journey import acceptance

    env = acceptance.environment_for("acc-1a2b3c", "123456789012", "eu-west-1")

    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{2,62}", env["PORTAL_STATE_BUCKET"]), "an S3 bucket name"
    assert re.fullmatch(r"[a-z][a-z0-9-]{0,31}", env["PORTAL_SERVICE_NAME_PREFIX"]), "the network module's name"
    assert env["DATABASE_URL"].endswith("/portal_acceptance_acc_1a2b3c") and env["PORTAL_DELETION_PROTECTION"] == "false"
    assert re.fullmatch(acceptance.PREFIX_PATTERN, "acc-1a2b3c")


def test_the_state_bucket_goes_with_every_version_of_every_state(settings):
    from portal.core.aws import client
    from portal.journey import leftovers

    settings.STATE_BUCKET = "acc-test-tf-state-123456789012"
    s3 = client("s3")
    s3.create_bucket(Bucket=settings.STATE_BUCKET, CreateBucketConfiguration={"LocationConstraint": settings.AWS_REGION})
    s3.put_bucket_versioning(Bucket=settings.STATE_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"one", b"two"):
        s3.put_object(Bucket=settings.STATE_BUCKET, Key="vpc/acc-test-network/terraform.tfstate", Body=body)
    s3.delete_object(Bucket=settings.STATE_BUCKET, Key="vpc/acc-test-network/terraform.tfstate")  # a delete marker
    assert leftovers.what_is_left("acc-test") == {"state bucket": [settings.STATE_BUCKET]}

    leftovers.delete_state_bucket()

    assert leftovers.what_is_left("acc-test") == {}


def test_what_is_left_names_everything_that_carries_the_prefix(settings):
    from portal.core.aws import client
    from portal.journey import leftovers

    settings.STATE_BUCKET = "acc-left-tf-state-123456789012"  # never made
    iam, ec2 = client("iam"), client("ec2")
    role = iam.create_role(RoleName="acc-left-ecs-admin", Path="/acc-left/admins/", AssumeRolePolicyDocument="{}")["Role"]
    workload = iam.create_role(RoleName="acc-left-hello-execution", Path="/art-service/workloads/", AssumeRolePolicyDocument="{}")["Role"]
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "acc-left"}]}])["Vpc"]
    group = ec2.create_security_group(GroupName="acc-left-service-tasks", Description="x", VpcId=vpc["VpcId"])
    repository = client("ecr").create_repository(repositoryName="acc-left-hello")["repository"]
    client("logs").create_log_group(logGroupName="/ecs/acc-left-hello")
    unrelated = iam.create_role(RoleName="someone-else", Path="/acc-leftover/", AssumeRolePolicyDocument="{}")["Role"]
    try:
        left = leftovers.what_is_left("acc-left")

        assert left == {
            "administrators": [role["Arn"]],
            "workload roles": [workload["Arn"]],
            "ECR repositories": [repository["repositoryArn"]],
            "log groups": ["/ecs/acc-left-hello"],
            "VPCs": [vpc["VpcId"]],
            "security groups": [group["GroupId"]],
        }
        assert "administrators: " + role["Arn"] in leftovers.described(left)
    finally:
        for made in (role, workload, unrelated):
            iam.delete_role(RoleName=made["RoleName"])
        ec2.delete_security_group(GroupId=group["GroupId"])
        ec2.delete_vpc(VpcId=vpc["VpcId"])
        client("ecr").delete_repository(repositoryName="acc-left-hello")
        client("logs").delete_log_group(logGroupName="/ecs/acc-left-hello")
    assert leftovers.described(leftovers.what_is_left("acc-left")) == "Nothing is left in the account under this prefix."
