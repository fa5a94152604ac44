"""The account as the session's bootstrap left it, made again in this session's in-process emulator at
once: what a test's teardown needs after it provisioned a platform for its own assertions, so that
later tests of the session start from an account without one.

`destroy_platform` does the same through terraform, a destroy plan and apply of every platform
workspace: about half a minute of two cores' CPU a teardown, in a suite whose length is its CPU. The
destroy itself is tested where it is the behaviour (tests/e2e/platform/test_platform_end_to_end.py
destroys the platform it made and checks that only the bootstrap is left); a teardown only needs its
outcome, and checks it the same way (`what_is_left`).

Left as the bootstrap made them: the state bucket with the bootstrap's own two states, the
administrators (users, groups, roles, policies under the prefix's path) and the service-linked roles.
Gone: every other state, the services the platform and its services use and the bootstrap does not
(EC2, load balancing, autoscaling, ECS, ECR, CloudWatch Logs, Secrets Manager, each backend made anew
as the emulator makes it at its start), the workload roles and their policies, and every other bucket.
"""

from django.conf import settings
from moto.backends import get_backend

from portal.core.aws import client
from portal.journey.leftovers import BOOTSTRAP, described, empty_bucket, pages, what_is_left
from portal.workspaces.layout import WORKLOAD_ROLE_PATH
from portal.workspaces.paths import iam_admins_path, state_bucket_path, state_key

MADE_ANEW = ("ec2", "elbv2", "autoscaling", "ecs", "ecr", "logs", "secretsmanager")


def forget_the_platform() -> None:
    for name in MADE_ANEW:
        for regions in get_backend(name).values():
            for backend in regions.values():
                backend.reset()
    forget_workload_roles()
    forget_buckets_and_states()
    left = what_is_left()
    assert set(left) <= set(BOOTSTRAP), described(left)


def forget_workload_roles() -> None:
    iam = client("iam")
    for role in pages(iam, "list_roles", "Roles", PathPrefix=WORKLOAD_ROLE_PATH):
        name = role["RoleName"]
        for profile in pages(iam, "list_instance_profiles_for_role", "InstanceProfiles", RoleName=name):
            iam.remove_role_from_instance_profile(InstanceProfileName=profile["InstanceProfileName"], RoleName=name)
            iam.delete_instance_profile(InstanceProfileName=profile["InstanceProfileName"])
        for policy in pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name):
            iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
        for policy in pages(iam, "list_role_policies", "PolicyNames", RoleName=name):
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        iam.delete_role(RoleName=name)
    for policy in pages(iam, "list_policies", "Policies", Scope="Local", PathPrefix=WORKLOAD_ROLE_PATH):
        for version in iam.list_policy_versions(PolicyArn=policy["Arn"])["Versions"]:
            if not version["IsDefaultVersion"]:
                iam.delete_policy_version(PolicyArn=policy["Arn"], VersionId=version["VersionId"])
        iam.delete_policy(PolicyArn=policy["Arn"])


def forget_buckets_and_states() -> None:
    s3 = client("s3", timeout=60)
    for bucket in s3.list_buckets()["Buckets"]:
        if bucket["Name"] != settings.STATE_BUCKET:
            empty_bucket(bucket["Name"])
            s3.delete_bucket(Bucket=bucket["Name"])
    empty_bucket(settings.STATE_BUCKET, keep={state_key(state_bucket_path()), state_key(iam_admins_path())})
