"""Drift found and restored end to end (split from tests/integration/drift/test_drift.py, which tests
the sweep, the check and the buttons without terraform): a repository applied by the real worker and
terraform on the emulator, changed behind the portal's back, flagged by the sweep, restored by an
ordinary change, and in sync again."""

import time
import uuid

import pytest
from django.urls import reverse

from portal.drift import scheduling
from portal.drift.models import DriftCheck
from portal.runs.models import Run, RunStatus
from portal.workspaces.models import Workspace
from tests.conftest import wait_until
from tests.integration.drift.test_drift import figure


def wait_for_run(run: Run, *statuses: str, timeout: float = 180) -> Run:
    wait_until(lambda: Run.objects.get(pk=run.pk).status in statuses, timeout, 0.2, f"run to be {statuses}")
    return Run.objects.get(pk=run.pk)


def newest_check(workspace: Workspace, after) -> DriftCheck | None:
    return workspace.drift_checks.filter(pk__gt=after).first()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_change_behind_the_portals_back_is_flagged_and_restored(client, make_user, settings, rq_worker, state_bucket, request):
    from portal.changes import workflow
    from portal.core.aws import client as aws

    author, approver = make_user("author", "admins"), make_user("approver", "admins")
    name = f"art-service-drift-{uuid.uuid4().hex[:8]}"
    # The emulator is the session's: what this test made must not be found by the next one.
    request.addfinalizer(lambda: forget_repository(aws("ecr"), name))
    workspace = Workspace.objects.create(path=f"ecs/ecr-repositories/{name}", module="ecr-repository", variables={"name": name, "force_delete": True})
    change = workflow.propose(f"Plan {workspace.path}", [(workspace, workspace.variables)], author)
    run = wait_for_run(change.runs.get(), RunStatus.AWAITING_APPROVAL, RunStatus.FAILED)
    assert run.status == RunStatus.AWAITING_APPROVAL, run.log[-2000:]
    workflow.approve(run.change, approver)
    assert wait_for_run(run, RunStatus.APPLIED, RunStatus.FAILED).status == RunStatus.APPLIED

    # Through the sweep and the worker's low-priority queue, with a 2 s interval.
    settings.DRIFT_INTERVAL = 2

    def swept_check(after: int = 0) -> DriftCheck:
        def found():
            scheduling.sweep()
            return newest_check(workspace, after)

        return wait_until(found, 180, 1, "a drift check")

    first = swept_check()
    assert not first.drifted and not first.error, (first.drift, first.error)

    aws("ecr").put_image_tag_mutability(repositoryName=name, imageTagMutability="MUTABLE")
    changed_at = time.monotonic()
    drifted = swept_check(first.pk)
    while not drifted.drifted:  # a check that started before the change
        drifted = swept_check(drifted.pk)
    client.force_login(author)
    page = client.get(reverse("platform:page")).content.decode()
    seconds = time.monotonic() - changed_at
    assert {
        "address": "module.this.aws_ecr_repository.this",
        "attribute": "image_tag_mutability",
        "before": '"IMMUTABLE"',
        "after": '"MUTABLE"',
    } in drifted.drift
    assert "Drifted" in page and "image_tag_mutability" in page
    figure(f"drift: changed behind the portal's back -> badge in {seconds:.1f} s (interval 2 s, sweep every 1 s; check took {drifted.duration:.1f} s)")

    response = client.post(reverse("drift:restore", args=[workspace.pk]))
    assert response.status_code == 302
    restore = workspace.runs.order_by("-created_at").first()
    restore = wait_for_run(restore, RunStatus.AWAITING_APPROVAL, RunStatus.FAILED, RunStatus.NO_CHANGES)
    assert restore.status == RunStatus.AWAITING_APPROVAL, restore.log[-2000:]
    assert any(
        a["path"] == "image_tag_mutability" and a["before"] == '"MUTABLE"' and a["after"] == '"IMMUTABLE"'
        for resource in restore.plan_changes
        for a in resource["attributes"]
    ), restore.plan_changes
    workflow.approve(restore.change, approver)
    assert wait_for_run(restore, RunStatus.APPLIED, RunStatus.FAILED).status == RunStatus.APPLIED
    assert aws("ecr").describe_repositories(repositoryNames=[name])["repositories"][0]["imageTagMutability"] == "IMMUTABLE"

    after = swept_check(drifted.pk)
    assert not after.drifted and not after.error, (after.drift, after.error)
    assert "In sync" in client.get(reverse("platform:page")).content.decode()


def forget_repository(ecr, name: str) -> None:
    try:
        ecr.delete_repository(repositoryName=name, force=True)
    except ecr.exceptions.RepositoryNotFoundException:
        pass
