"""The Platform page lists, per module, the workspaces whose last apply used an older version of it
than the one the portal ships now, or one from before versions were recorded; a destroyed workspace
is not listed."""

import pytest
from django.urls import reverse

from portal.changes import workflow
from portal.platform.module_versions import module_report
from portal.runs.models import Run
from portal.workspaces.models import Workspace
from portal.workspaces.modules import module_digest
from tests.conftest import plan_approve_apply

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("parked_queue")]


def applied_with(people, workspace: Workspace, sha256: str, destroy: bool = False) -> Workspace:
    """The workspace's change planned by the worker with module version `sha256`, then applied."""
    change = workflow.propose(f"apply {workspace.path}", [(workspace, workspace.variables)], people["admin"], destroy=destroy)
    plan_approve_apply(change, people["other-admin"])
    Run.objects.filter(change=change).update(module_sha256=sha256)  # as the worker records it with the plan
    return workspace


def repository(name: str) -> Workspace:
    return Workspace.objects.create(path=f"ecs/ecr-repositories/{name}", module="ecr-repository", variables={"name": name})


def test_workspaces_behind_their_module_are_listed_per_module_and_the_current_ones_counted(people, client):
    now = module_digest("ecr-repository")
    applied_with(people, repository("art-service-current"), now)
    old = applied_with(people, repository("art-service-old"), "0" * 64)
    unknown = applied_with(people, repository("art-service-unknown"), "")
    # Brought up to date by a later plan: no longer behind.
    applied_with(people, applied_with(people, repository("art-service-upgraded"), "1" * 64), now)
    # Destroyed by its last apply: nothing runs the old version any more.
    applied_with(people, applied_with(people, repository("art-service-gone"), "2" * 64), "2" * 64, destroy=True)

    (report,) = [report for report in module_report() if report.version.module == "ecr-repository"]
    assert report.version.sha256 == now and report.current == 2
    assert [(item.workspace.path, item.applied) for item in report.behind] == [(old.path, "0" * 64), (unknown.path, "")]

    client.force_login(people["admin"])
    page = client.get(reverse("platform:page")).content.decode()
    assert 'data-module="ecr-repository" data-behind="2"' in page
    assert "applied with 000000000000" in page and "applied before versions were recorded" in page
    assert old.path in page and "art-service-current</code></a>" not in page.split('id="module-versions"')[1]


def test_the_state_buckets_bootstrap_records_the_version_it_applied(people):
    from portal.runner.bootstrap import bootstrap_run
    from portal.workspaces.layout import state_bucket_workspace

    workspace = state_bucket_workspace()
    run = bootstrap_run(workspace, people["admin"])
    run.finish_applied({})

    (report,) = [report for report in module_report() if report.version.module == workspace.module]
    assert run.module_sha256 == module_digest(workspace.module) == report.version.sha256
    assert (report.current, report.behind) == (1, []), "the state bucket is not behind the module it was just made from"
