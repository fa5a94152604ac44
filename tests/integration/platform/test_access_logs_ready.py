"""What the cluster needs of the access log bucket before its load balancer's access logs are set
(portal.platform.provisioning.load_balancer_may_write_logs), asked of the emulator's S3 as
provisioning asks it: no bucket, a bucket without a policy, a policy for another prefix, and the
policy the access-logs-bucket module writes."""

import json

import pytest

from portal.core.aws import client
from portal.platform.provisioning import flow_logs_may_write, load_balancer_may_write_logs, ready_before_applied
from portal.workspaces.layout import access_logs_bucket
from portal.workspaces.paths import access_logs_path, prefix, workload_roles_path

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_platform(settings):
    """A platform prefix of these tests' own: the session's emulator may hold the default platform's
    access log bucket, with its policy, from the end-to-end tests that ran before."""
    settings.SERVICE_NAME_PREFIX = "readiness-check"


def policy(log_prefix: str, effect: str = "Allow") -> str:
    bucket = access_logs_bucket()
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ElbLogDeliveryWritesLogs",
                    "Effect": effect,
                    "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{bucket}/{log_prefix}/AWSLogs/123456789012/*",
                }
            ],
        }
    )


@pytest.fixture
def bucket():
    s3 = client("s3")
    name = access_logs_bucket()
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": s3.meta.region_name})
    yield s3, name
    s3.delete_bucket_policy(Bucket=name)
    s3.delete_bucket(Bucket=name)


def test_no_bucket_is_not_ready():
    assert load_balancer_may_write_logs() is False


def test_a_bucket_is_ready_only_once_its_policy_lets_the_load_balancer_write_under_its_prefix(bucket):
    s3, name = bucket
    assert load_balancer_may_write_logs() is False  # no policy yet
    s3.put_bucket_policy(Bucket=name, Policy=policy("another-platform"))
    assert load_balancer_may_write_logs() is False
    s3.put_bucket_policy(Bucket=name, Policy=policy(prefix(), effect="Deny"))
    assert load_balancer_may_write_logs() is False
    s3.put_bucket_policy(Bucket=name, Policy=policy(prefix()))
    assert load_balancer_may_write_logs() is True


def test_what_is_ready_before_applied_follows_the_settings(settings):
    assert ready_before_applied() == {workload_roles_path(): flow_logs_may_write, access_logs_path(): load_balancer_may_write_logs}
    settings.LOAD_BALANCER_ACCESS_LOGS = False
    assert ready_before_applied() == {workload_roles_path(): flow_logs_may_write}
    settings.PLATFORM_FLOW_LOGS = False
    assert ready_before_applied() == {}
