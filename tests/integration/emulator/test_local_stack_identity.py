"""The local stack (bin/portal) runs as an IAM user of the emulator's, as a deployment runs as a
principal of its own: the emulator answers keys it never issued as `arn:aws:sts::...:user/moto`,
which the administrators' module refuses as a runner principal, so a fresh `bin/portal` could not
bootstrap the administrators."""

import re
from pathlib import Path

import boto3

from portal import local_services

MODULE_VARIABLES = Path(__file__).resolve().parents[3] / "infra_modules" / "iam-service-admins" / "variables.tf"


def runner_principal_pattern() -> str:
    """The pattern the administrators' module checks runner_principal_arns against, as it is written there."""
    block = MODULE_VARIABLES.read_text().split('variable "runner_principal_arns"', 1)[1].split("\nvariable ", 1)[0]
    (pattern,) = re.findall(r'regex\("((?:[^"\\]|\\.)*)", arn\)', block)
    return pattern.replace("\\\\", "\\")


def caller_arn(credentials: dict) -> str:
    sts = boto3.client("sts", aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"], aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"])
    return sts.get_caller_identity()["Arn"]


def test_the_emulators_default_identity_is_no_principal_the_administrators_would_trust():
    assert not re.fullmatch(runner_principal_pattern(), caller_arn(local_services.EMULATOR_CREDENTIALS))


def test_the_local_stack_runs_as_an_iam_user_the_administrators_can_trust():
    name, credentials = local_services.runner_identity()

    arn = caller_arn(credentials)
    assert arn == f"arn:aws:iam::123456789012:user/{name}"
    assert re.fullmatch(runner_principal_pattern(), arn)


def test_starting_again_replaces_the_users_keys_within_iams_two_key_limit():
    for _ in range(3):
        name, credentials = local_services.runner_identity()

    iam = boto3.client("iam")
    keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert [key["AccessKeyId"] for key in keys] == [credentials["AWS_ACCESS_KEY_ID"]]
