"""Register in the browser, plan on a real worker, approve as someone else, apply on the emulator."""

import pytest
from django.urls import reverse

from portal.aws import client as aws_client
from portal.runs.models import ACTIVE_STATUSES, Run, RunStatus
from tests.conftest import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def wait_for_status(run, statuses, timeout=300):
    def reached():
        run.refresh_from_db()
        return run.status in statuses

    wait_until(reached, timeout, message=f"run {run.pk} to reach {statuses}")
    return run


def test_register_plan_approve_apply(client, make_user, service_form_data, rq_worker, state_bucket):
    author = make_user("author", "developers")
    approver = make_user("approver", "approvers")
    client.force_login(author)

    response = client.post(reverse("catalog:service-register"), service_form_data)
    run = Run.objects.get(workspace__service__name="sourcing-data-service")
    assert response.url == reverse("runs:run-detail", kwargs={"run_id": run.pk})

    # The log grows while the plan runs, before the run finishes.
    def log_while_active():
        run.refresh_from_db()
        return run.status in ACTIVE_STATUSES and run.status != RunStatus.QUEUED and run.log

    wait_until(log_while_active, 120, interval=0.05, message="log lines while planning")
    wait_for_status(run, [RunStatus.AWAITING_APPROVAL, RunStatus.FAILED])
    assert run.status == RunStatus.AWAITING_APPROVAL, run.error + run.log[-3000:]
    assert (run.to_add, run.to_change, run.to_destroy) == (2, 0, 0)

    page = client.get(reverse("runs:run-detail", kwargs={"run_id": run.pk})).content.decode()
    assert "ecs/ecr-repositories/art-service-sourcing-data-service/terraform.tfstate" in page
    assert "2 to add" in page
    assert "Plan: 2 to add, 0 to change, 0 to destroy." in page

    client.force_login(approver)
    client.post(reverse("runs:run-approve", kwargs={"run_id": run.pk}))
    wait_for_status(run, [RunStatus.APPLIED, RunStatus.FAILED, RunStatus.STALE])
    assert run.status == RunStatus.APPLIED, run.error + run.log[-3000:]
    assert run.approved_by == approver

    repositories = aws_client("ecr").describe_repositories()["repositories"]
    repository = next(r for r in repositories if r["repositoryName"] == "art-service-sourcing-data-service")
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert repository["imageScanningConfiguration"]["scanOnPush"] is True
    assert run.outputs["repository_url"] == repository["repositoryUri"]
    state = aws_client("s3").head_object(Bucket=state_bucket, Key=run.state_key)
    assert state["ContentLength"] > 0


def test_bootstrap_put_the_state_bucket_state_in_the_bucket(state_bucket):
    from django.conf import settings

    key = f"s3/remote-state/{settings.STATE_BUCKET}/terraform.tfstate"
    s3 = aws_client("s3")
    assert s3.head_object(Bucket=state_bucket, Key=key)["ContentLength"] > 0
    assert s3.get_bucket_versioning(Bucket=state_bucket)["Status"] == "Enabled"
    assert s3.get_public_access_block(Bucket=state_bucket)["PublicAccessBlockConfiguration"]["BlockPublicAcls"]
