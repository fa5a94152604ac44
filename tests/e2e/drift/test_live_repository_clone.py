"""A clone of the live repository plans no changes against the portal's state, with real terraform
(split from tests/integration/drift/test_live_repository.py, which tests the commits without it)."""

import subprocess

import pytest

from portal.liverepo.commits import commit_change
from portal.runs.models import Change, Run, RunStatus

# live and committers are fixtures of the module that tests the commits; the test's parameters of the
# same names are how pytest asks for them (hence F811 on its line).
from tests.integration.drift.test_live_repository import (
    committers,  # noqa: F401  (a fixture: imported so that pytest finds it here)
    live,  # noqa: F401  (a fixture: imported so that pytest finds it here)
)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)  # with the other tests of the session's bootstrap, after the rest
def test_a_clone_plans_no_changes_against_the_portals_state(live, committers, state_bucket, tmp_path):  # noqa: F811
    """The state bucket's workspace, applied by the bootstrap: cloned and planned as a person would,
    with the credentials the portal's terraform has, it reads the same state and finds nothing to do."""
    from portal.runner import providers
    from portal.runner.terraform import terraform_environment
    from portal.workspaces.layout import state_bucket_workspace

    alice, bob = committers
    workspace = state_bucket_workspace()  # an earlier transactional test may have flushed the bootstrap's row
    change = Change.objects.create(title="The state bucket", requested_by=alice)
    Run.objects.create(workspace=workspace, change=change, status=RunStatus.APPLIED, approved_by=bob, variables=workspace.variables)
    assert commit_change(str(change.pk)).sha

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(live), str(clone)], check=True)
    folder = clone / workspace.path
    # The lock file a person commits: the portal's workspaces run without checksums of their own
    # (portal.runner.providers), the clone gets the pinned ones, which its init below checks.
    published = providers.read_lock(folder / ".terraform.lock.hcl")
    assert published and all(pin.hashes == providers.pinned()[address].hashes for address, pin in published.items())
    env = terraform_environment()

    def terraform(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["terraform", *args], cwd=folder, env=env, capture_output=True, text=True, timeout=300)

    init = terraform("init", "-input=false", "-backend-config=backend.hcl")
    assert init.returncode == 0, init.stderr
    plan = terraform("plan", "-input=false", "-detailed-exitcode", "-lock=false")
    assert plan.returncode == 0, plan.stdout + plan.stderr
