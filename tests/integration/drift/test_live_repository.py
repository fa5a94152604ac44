"""The live repository: every applied change is one commit, one folder per state key, that a person
can clone and plan (portal.liverepo)."""

import json
import os
import subprocess
import sys
import threading

import pytest

from portal.changes.workflow import settle
from portal.liverepo.commits import COMMIT_CHANGE, commit_change
from portal.liverepo.models import ChangeCommit
from portal.runs.models import Change, Run, RunStatus
from portal.workspaces.models import Workspace

FOLDER = "ecs/ecr-repositories/art-service-live"


def git(repo, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def live(settings, tmp_path):
    settings.LIVE_REPOSITORY = tmp_path / "live"
    settings.LIVE_REPOSITORY_REMOTE = ""
    return settings.LIVE_REPOSITORY


@pytest.fixture
def committers(make_user):
    """Not the cast (tests/builders.py): a commit names its author by email, so one of these has one
    and the other does not (the fallback address)."""
    alice = make_user("alice")
    alice.email = "alice@example.com"
    alice.save()
    return alice, make_user("bob")


def applied_change(proposer, approver, path=FOLDER, *, destroys=False, title="Onboard art-service-live") -> Change:
    """A change whose one run has applied, as the worker leaves it just before the change settles."""
    workspace, _ = Workspace.objects.get_or_create(path=path, defaults={"module": "ecr-repository", "variables": {"name": path.rsplit("/", 1)[1]}})
    change = Change.objects.create(title=title, requested_by=proposer, destroys=destroys)
    Run.objects.create(
        workspace=workspace,
        change=change,
        kind=Run.Kind.DESTROY if destroys else Run.Kind.APPLY,
        status=RunStatus.APPLIED,
        requested_by=proposer,
        approved_by=approver,
        variables={"name": path.rsplit("/", 1)[1], "force_delete": False},
    )
    return change


def settled(change, parked_queue, capture) -> ChangeCommit:
    """Settle the change as the workflow does, and run the job its settling queued."""
    with capture(execute=True):
        settle(change, list(change.runs.all()))
    [job] = parked_queue.jobs
    assert job.func_name == COMMIT_CHANGE
    parked_queue.empty()
    return commit_change(*job.args)


@pytest.mark.django_db
def test_an_applied_change_is_committed_to_the_folder_of_its_state_key(live, committers, parked_queue, django_capture_on_commit_callbacks):
    alice, bob = committers
    change = applied_change(alice, bob)

    record = settled(change, parked_queue, django_capture_on_commit_callbacks)

    assert record.error == "" and record.sha == git(live, "rev-parse", "HEAD") and not record.pushed
    files = set(git(live, "ls-tree", "-r", "--name-only", "HEAD").splitlines())
    for name in ("main.tf", "provider.tf", "moves.tf", "backend.tf", "terraform.tfvars.json", "backend.hcl"):
        assert f"{FOLDER}/{name}" in files
    assert "modules/ecr-repository/main.tf" in files
    assert not any("/tests/" in name or "/examples/" in name for name in files)
    main_tf = git(live, "show", f"HEAD:{FOLDER}/main.tf")
    assert 'source = "../../../modules/ecr-repository"' in main_tf
    backend = git(live, "show", f"HEAD:{FOLDER}/backend.hcl")
    assert f'key = "{FOLDER}/terraform.tfstate"' in backend
    tfvars = json.loads(git(live, "show", f"HEAD:{FOLDER}/terraform.tfvars.json"))
    assert tfvars["name"] == "art-service-live" and tfvars["portal_identity"] is None
    assert git(live, "log", "-1", "--format=%an <%ae>|%cn|%s") == "alice <alice@example.com>|Infra portal|Onboard art-service-live"
    trailers = git(live, "log", "-1", "--format=%(trailers:only,unfold)")
    assert "Approved-by: bob <bob@users.portal.invalid>" in trailers
    assert f"Portal-Change: {change.pk}" in trailers


@pytest.mark.django_db
def test_the_roles_are_named_without_the_run(live, committers, parked_queue, django_capture_on_commit_callbacks, settings):
    settings.AWS_ACCOUNT_ID = "123456789012"
    alice, bob = committers
    change = applied_change(alice, bob)
    change.runs.update(role_arn="arn:aws:iam::123456789012:role/x", session_name="portal-run-1234")

    settled(change, parked_queue, django_capture_on_commit_callbacks)

    identity = json.loads(git(live, "show", f"HEAD:{FOLDER}/terraform.tfvars.json"))["portal_identity"]
    assert identity["session_name"] == "portal-live-repository"
    assert identity["role_arn"].endswith("-ecr-admin")
    assert "portal-run" not in git(live, "show", f"HEAD:{FOLDER}/terraform.tfvars.json")
    assert "assume_role" in git(live, "show", f"HEAD:{FOLDER}/backend.hcl")


@pytest.mark.django_db
def test_an_abandoned_change_is_not_committed(live, committers, parked_queue, django_capture_on_commit_callbacks):
    alice, bob = committers
    change = applied_change(alice, bob)
    change.runs.update(status=RunStatus.FAILED)

    with django_capture_on_commit_callbacks(execute=True):
        settle(change, list(change.runs.all()))

    assert parked_queue.jobs == []
    assert not live.exists()


@pytest.mark.django_db
def test_a_decommission_removes_the_folder(live, committers, parked_queue, django_capture_on_commit_callbacks):
    alice, bob = committers
    settled(applied_change(alice, bob), parked_queue, django_capture_on_commit_callbacks)
    settled(applied_change(alice, bob, "ecs/ecr-repositories/art-service-other"), parked_queue, django_capture_on_commit_callbacks)

    record = settled(
        applied_change(bob, alice, destroys=True, title="Decommission art-service-live"),
        parked_queue,
        django_capture_on_commit_callbacks,
    )

    files = git(live, "ls-tree", "-r", "--name-only", record.sha).splitlines()
    assert not any(name.startswith(FOLDER) for name in files)
    assert "ecs/ecr-repositories/art-service-other/main.tf" in files
    assert git(live, "rev-list", "--count", "HEAD") == "3"
    assert not (live / FOLDER).exists()  # the work tree follows


@pytest.mark.django_db
def test_a_bare_repository_is_pushed_to_the_remote(live, committers, parked_queue, django_capture_on_commit_callbacks, settings, tmp_path):
    subprocess.run(["git", "init", "--quiet", "--bare", str(live)], check=True)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    settings.LIVE_REPOSITORY_REMOTE = str(remote)
    alice, bob = committers

    first = settled(applied_change(alice, bob), parked_queue, django_capture_on_commit_callbacks)
    second = settled(applied_change(alice, bob, "ecs/ecr-repositories/art-service-two"), parked_queue, django_capture_on_commit_callbacks)

    assert first.pushed and second.pushed and second.error == ""
    assert git(remote, "rev-parse", "HEAD") == second.sha
    assert f"{FOLDER}/main.tf" in git(remote, "ls-tree", "-r", "--name-only", "HEAD").splitlines()


@pytest.mark.django_db
def test_a_failed_push_is_recorded_without_credentials_and_tried_again(live, committers, parked_queue, django_capture_on_commit_callbacks, settings, tmp_path):
    remote = tmp_path / "remote.git"
    settings.LIVE_REPOSITORY_REMOTE = f"file://user:s3cret-token@/{remote}"  # not there yet
    alice, bob = committers

    failed = settled(applied_change(alice, bob), parked_queue, django_capture_on_commit_callbacks)

    assert failed.sha and not failed.pushed
    assert "push failed" in failed.error and "s3cret-token" not in failed.error

    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    settings.LIVE_REPOSITORY_REMOTE = str(remote)
    later = settled(applied_change(alice, bob, "ecs/ecr-repositories/art-service-two"), parked_queue, django_capture_on_commit_callbacks)

    failed.refresh_from_db()
    assert later.pushed and failed.pushed and failed.error == ""
    assert git(remote, "rev-list", "--count", "main") == "2"


@pytest.mark.django_db(transaction=True)
def test_two_changes_committing_at_once_both_land(live, committers):
    alice, bob = committers
    changes = [applied_change(alice, bob, f"ecs/ecr-repositories/art-service-{n}") for n in range(4)]
    records = {}

    def job(change):
        records[change.pk] = commit_change(str(change.pk))

    threads = [threading.Thread(target=job, args=(change,)) for change in changes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(record.sha and not record.error for record in records.values())
    assert git(live, "rev-list", "--count", "HEAD") == "4"
    git(live, "fsck", "--strict")
    files = git(live, "ls-tree", "-r", "--name-only", "HEAD").splitlines()
    assert all(f"ecs/ecr-repositories/art-service-{n}/main.tf" in files for n in range(4))


def test_a_remote_that_could_be_an_option_is_refused_at_start():
    env = {**os.environ, "PORTAL_LIVE_REPOSITORY_REMOTE": "--upload-pack=touch /tmp/x"}
    result = subprocess.run([sys.executable, "-c", "import portal.settings"], env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "PORTAL_LIVE_REPOSITORY_REMOTE must be a git URL" in result.stderr
    assert "upload-pack" not in result.stderr
