"""The state bucket's bootstrap in two parts (portal.runner.bootstrap.start_state_bucket): first what
the bucket needs before it holds state, with its state migrated into it, then its lifecycle rule.
Played with terraform on the emulator against a bucket of its own, as a bootstrap interrupted between
the two parts: the next bootstrap applies what is left, and the one after it has nothing to do."""

import pytest
from botocore.exceptions import ClientError

from portal.core.aws import client
from portal.runner.bootstrap import LIFECYCLE, READY_FOR_STATE, addresses, read_state, start_state_bucket
from portal.runs.models import RunStatus
from portal.workspaces.layout import state_bucket_workspace

pytestmark = pytest.mark.django_db

BUCKET = "art-service-bootstrap-test-state"


def test_a_bootstrap_interrupted_after_the_migration_is_finished_by_the_next_and_then_skipped(settings):
    settings.STATE_BUCKET = BUCKET
    started = start_state_bucket()
    workspace = state_bucket_workspace()

    # The bucket holds its own state, with everything but the lifecycle rule, and nothing is left on disk.
    state = read_state(workspace)
    assert set(READY_FOR_STATE) - {"module.this.aws_s3_bucket_policy.this"} <= addresses(state)  # no TLS policy on plain HTTP
    assert "module.this.aws_s3_bucket.this" in addresses(state) and LIFECYCLE not in addresses(state)
    assert not (workspace.directory / "terraform.tfstate").exists()
    s3 = client("s3")
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    assert not has_lifecycle(s3)
    assert started.run.status == RunStatus.APPLYING

    # Interrupted here (the process that was to finish it stopped): the next bootstrap takes over.
    resumed = start_state_bucket()
    assert resumed is not None and resumed.run.pk != started.run.pk
    started.run.refresh_from_db()
    assert started.run.status == RunStatus.FAILED and "a new bootstrap replaced it" in started.run.error
    resumed.run.refresh_from_db()
    assert "holds its own state already" in resumed.run.log

    run = resumed.finish()
    assert run.status == RunStatus.APPLIED and run.outputs
    assert LIFECYCLE in addresses(read_state(workspace))
    rules = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert [rule["ID"] for rule in rules] == ["expire-old-state-versions"]
    assert start_state_bucket() is None


def has_lifecycle(s3) -> bool:
    try:
        return bool(s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"])
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"
        return False
