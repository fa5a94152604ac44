"""Every IAM policy document the modules render for AWS, linted with parliament: actions AWS does not
define, condition keys an action does not take, resources of a type the action does not act on,
malformed documents. The documents come from a plan of the portal's own roots, with the inputs the
portal gives them on AWS (tests/iam/rendering.py), and the run's session policy from
portal/workspaces/identities.py."""

import json
import warnings

import pytest
from django.conf import settings

with warnings.catch_warnings():
    # parliament 1.6.4 reads its data with pkg_resources (deprecated by setuptools, pinned below 81
    # in requirements.txt for it): a warning of parliament's packaging, nothing about the policies.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    import parliament

from portal.workspaces.identities import RunIdentity, role_arn, shared_state_keys
from portal.workspaces.layout import (
    administrators_variables,
    default_administrators,
    iam_admins_path,
    workload_roles_path,
    workload_roles_variables,
)
from tests.iam import rendering

ACCOUNT = "123456789012"

# What fails: what AWS would refuse or never match (unknown actions and services, condition keys an
# action does not take, resources of a type an action named in the policy does not act on,
# malformed statements, operators and ARNs).
FAILING = {
    "MALFORMED_JSON",
    "MALFORMED",
    "DUPLICATE_SID",
    "INVALID_SID",
    "INVALID_ARN",
    "INVALID_VERSION",
    "UNKNOWN_ACTION",
    "UNKNOWN_PREFIX",
    "UNKNOWN_CONDITION_FOR_ACTION",
    "UNKNOWN_OPERATOR",
    "MISMATCHED_TYPE",
    "RESOURCE_MISMATCH",
    "UNKNOWN_PRINCIPAL",
    "UNKNOWN_FEDERATION_SOURCE",
    "EXCEPTION",
}
# Printed, not failing: advice rather than errors. RESOURCE_STAR: an action that could be scoped is
# given "*" (the modules scope by condition where AWS offers no ARN to scope by, e.g. kms:ViaService);
# MISMATCHED_TYPE_BUT_USABLE: parliament's own word, the operator works on the value.
ADVICE = {"RESOURCE_STAR", "RESOURCE_EFFECTIVELY_STAR", "MISMATCHED_TYPE_BUT_USABLE"}

# Resource mismatches that are parliament's data or matching rules being behind AWS, each with why:
# (action, the resource format parliament wants) -> reason. Nothing else is ignored.
NOT_AWS: dict[tuple[str, str], str] = {
    ("ssm:GetParameter", "arn:*:ssm:*:*:parameter/*"): (
        "AWS's public parameters (the ECS-optimized AMI's) belong to no account: their ARN is "
        "arn:aws:ssm:<region>::parameter/aws/service/... (as GetParameter returns it); parliament's ARN matcher "
        '(is_arn_match) refuses an empty account where its format has "*"'
    ),
    ("ssm:GetParameters", "arn:*:ssm:*:*:parameter/*"): "as ssm:GetParameter",
    ("ec2:ModifySecurityGroupRules", "arn:*:ec2:*:*:security-group-rule/*"): (
        "the statement's security-group* covers security-group-rule/... ARNs: IAM matches a wildcard in any segment "
        'of the ARN but the service (IAM User Guide, "IAM JSON policy elements: Resource"); parliament\'s '
        "is_arn_strictly_valid refuses a wildcard over the resource type"
    ),
}

# A service with a secret of each kind, so that its own execution role and grant are rendered.
SECRETS = {
    "art-service-billing": [
        f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:art-service/billing/db-AbCdEf",
        f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/art-service/billing/api-token",
    ]
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> list[tuple[str, dict]]:
    """(where, document) for every policy the modules render for AWS, and the session policies."""
    settings.RUNNER_PRINCIPAL_ARNS = [f"arn:aws:iam::{ACCOUNT}:role/portal-runner"]
    base = tmp_path_factory.mktemp("lint")
    documents = rendering.plan_documents("iam-service-admins", iam_admins_path(), administrators_variables(default_administrators()), base / "admins")
    documents += rendering.plan_documents("workload-roles", workload_roles_path(), workload_roles_variables(SECRETS), base / "roles")
    found = [(f"{d.address} ({d.kind})", d.doc) for d in documents]
    for path in (f"ecs/services/{settings.SERVICE_NAME_PREFIX}-billing", iam_admins_path()):
        identity = RunIdentity(
            service_type=path.split("/")[0],
            role_arn=role_arn(path.split("/")[0]),
            state_role_arn=role_arn(path.split("/")[0], "state"),
            session_name="portal-run-lint",
            state_key=f"{path}/terraform.tfstate",
            shared_state_keys=shared_state_keys(),
        )
        found.append((f"the session policy of a run of {path}", json.loads(identity.session_policy())))
    return found


def findings(document: dict, trust: bool = False) -> list[tuple[str, str]]:
    """Each statement linted on its own, so that a finding can be told from which statement it
    comes: parliament expands a wildcard action (iam:Get*) and reports the members that cannot act
    on the statement's resources; those are simply not granted, so a resource mismatch counts only
    for an action the statement names one by one."""
    statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
    found = []
    for statement in statements:
        single = {**document, "Statement": [statement]}
        named = {a.lower() for a in ([statement["Action"]] if isinstance(statement.get("Action"), str) else statement.get("Action", []))}
        for finding in parliament.analyze_policy_string(json.dumps(single), ignore_private_auditors=True).findings:
            detail = finding.detail
            if finding.issue == "RESOURCE_MISMATCH":
                detail = [d for d in detail if d["action"].lower() in named and (d["action"], d["required_format"]) not in NOT_AWS]
                if not detail:
                    continue
            # A role's trust policy has no Resource element by AWS's grammar (the role is the
            # resource); parliament reads every document as an identity policy.
            if trust and finding.issue == "MALFORMED" and "neither Resource nor NotResource" in str(detail):
                continue
            found.append((finding.issue, f"{statement.get('Sid', '')}: {detail}"))
    return found


def test_the_modules_render_every_policy_the_evaluation_relies_on(rendered):
    kinds = " ".join(where for where, _ in rendered)
    for expected in (
        'aws_iam_policy.admin["ecs"]',
        "aws_iam_policy.boundary",
        "aws_iam_policy.runner",
        'aws_iam_role_policy.state["ecs"]',
        'aws_iam_role.admin["iam"] (trust policy)',
        "aws_iam_role.task_execution (trust policy)",
        'aws_iam_role_policy.service_secrets["art-service-billing"]',
        "the session policy of a run",
    ):
        assert expected in kinds, f"{expected} is not among the rendered documents: {kinds}"


def test_parliament_finds_nothing_in_any_policy_the_modules_render(rendered):
    problems, advice = [], []
    for where, document in rendered:
        for issue, detail in findings(document, trust=where.endswith("(trust policy)")):
            (problems if issue in FAILING or issue not in ADVICE else advice).append(f"{where}: {issue}: {detail}")
    print(f"\nparliament {parliament.__version__} read {len(rendered)} documents; advice, not failing:")
    print("\n".join(f"  {line}" for line in advice))
    assert not problems, "\n".join(problems)


def test_parliament_would_catch_what_this_test_is_for():
    """The linter is live: an unknown action, a condition key the action does not take, and a
    resource of another type are each a finding."""
    bad = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "ecs:CreateClusterr", "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*", "Condition": {"StringEquals": {"s3:prefix": "x"}}},
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::bucket/key"},
        ],
    }
    assert {issue for issue, _ in findings(bad)} >= {"UNKNOWN_ACTION", "UNKNOWN_CONDITION_FOR_ACTION", "RESOURCE_MISMATCH"}
