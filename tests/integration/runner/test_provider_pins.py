"""The portal pins its providers' checksums once and checks the packages itself, instead of letting
terraform hash the 700 MB AWS provider before every command (portal.runner.providers). Real
terraform, the portal's CLI configuration, and a filesystem mirror made from the machine's own."""

import os
import subprocess
import sys
from dataclasses import replace

import pytest

from portal.runner import providers
from portal.runner.terraform import Terraform, TerraformError, terraform_environment
from portal.workspaces.terraform_config import provider_mirror

pytestmark = pytest.mark.skipif(provider_mirror() is None, reason="needs the provider mirror of an offline machine")

ADDRESS = "registry.terraform.io/hashicorp/aws"
MAIN = 'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws", version = ">= 5.40, < 6.0" }\n  }\n}\n'


@pytest.fixture
def mirror(settings, tmp_path):
    """A mirror of the machine's AWS provider whose small file is a copy this test may change (the
    700 MB binary is linked, not copied)."""
    original = next((provider_mirror() / ADDRESS).glob("*/*"))
    package = tmp_path / "mirror" / ADDRESS / original.parent.name / original.name
    package.mkdir(parents=True)
    for source in original.iterdir():
        if source.stat().st_size < 1_000_000:
            (package / source.name).write_bytes(source.read_bytes())
        else:
            (package / source.name).symlink_to(source)
    settings.STATE_DIR = tmp_path / "state"
    settings.TERRAFORM_PLUGIN_CACHE_DIR = tmp_path / "cache"
    settings.TERRAFORM_PROVIDER_MIRROR = str(tmp_path / "mirror")
    return package


def workspace(parent, name):
    folder = parent / name
    folder.mkdir()
    (folder / "main.tf").write_text(MAIN)
    return folder


def terraform_in(folder):
    log, processes = [], []
    terraform = Terraform(folder, log.append, on_process=lambda pid: processes.append(pid) if pid else None)
    return terraform, log, processes


def bare_init_hash(folder) -> str:
    """What terraform alone records for the package: `init` in a folder of its own."""
    done = subprocess.run(
        ["terraform", "init", "-input=false", "-no-color"], cwd=folder, env=terraform_environment(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return providers.read_lock(folder / ".terraform.lock.hcl")[ADDRESS].hashes


def test_the_first_init_pins_what_terraform_would_record_and_every_workspace_runs_the_pinned_version_without_checksums(mirror, tmp_path):
    first, _, _ = terraform_in(workspace(tmp_path, "first"))
    first.init(None)
    pins = providers.pinned()
    assert list(pins) == [ADDRESS]
    assert pins[ADDRESS].hashes == bare_init_hash(workspace(tmp_path, "bare"))
    assert pins[ADDRESS].hashes == (providers.hash_v1(os.path.realpath(mirror)),)

    second, log, _ = terraform_in(workspace(tmp_path, "second"))
    second.init(None)
    assert "Reusing previous version of hashicorp/aws from the dependency lock file" in "".join(log)
    for folder, terraform in ((tmp_path / "first", first), (tmp_path / "second", second)):
        locked = providers.read_lock(folder / ".terraform.lock.hcl")
        assert locked[ADDRESS].version == pins[ADDRESS].version
        assert locked[ADDRESS].constraints == ">= 5.40.0, < 6.0.0"
        assert locked[ADDRESS].hashes == ()  # so terraform does not hash the package before each command
        assert "Success! The configuration is valid." in terraform.run("validate")
        published = providers.parse(providers.published_lock(folder))
        assert published[ADDRESS].hashes == pins[ADDRESS].hashes  # the live repository's copy keeps them


def test_a_package_changed_after_it_was_pinned_starts_no_terraform(mirror, tmp_path, monkeypatch):
    terraform, log, processes = terraform_in(workspace(tmp_path, "one"))
    terraform.init(None)
    hashed = []
    real_hash = providers.hash_v1
    monkeypatch.setattr(providers, "hash_v1", lambda folder: hashed.append(folder) or real_hash(folder))
    terraform.run("validate")
    terraform.run("validate")
    assert hashed == []  # init has just recorded this package's checksum: nothing read it again
    started = len(processes)

    (mirror / "LICENSE.txt").write_text((mirror / "LICENSE.txt").read_text() + "\nchanged\n")
    with pytest.raises(TerraformError, match="does not match any checksum pinned in"):
        terraform.run("validate")
    assert len(processes) == started, "terraform was started with a package that no longer matches"
    assert "Nothing ran with it" in "".join(log)
    assert len(hashed) == 1

    # A file added to the package is a change too.
    (mirror / "LICENSE.txt").write_text((mirror / "LICENSE.txt").read_text().replace("\nchanged\n", ""))
    terraform.run("validate")
    (mirror / "extra").write_text("x")
    with pytest.raises(TerraformError, match="does not match any checksum pinned in"):
        terraform.run("output", json=True)


def test_an_init_that_links_another_package_than_the_pinned_one_fails_and_says_what_to_do(mirror, tmp_path):
    terraform, log, _ = terraform_in(workspace(tmp_path, "one"))
    terraform.init(None)
    pinned = providers.pinned()[ADDRESS]
    providers.portal_lock().write_text(providers.render({ADDRESS: replace(pinned, hashes=("h1:" + "A" * 43 + "=",))}))

    other, log, _ = terraform_in(workspace(tmp_path, "two"))
    with pytest.raises(TerraformError, match="remove that file so that the next init pins the package as it is now"):
        other.init(None)
    # The workspace initialised before is refused too: its package no longer matches the pins.
    with pytest.raises(TerraformError, match="does not match any checksum pinned in"):
        terraform.run("validate")


def test_a_pinned_version_the_mirror_lacks_fails_the_init_and_the_workspaces_on_the_old_version_run_nothing(mirror, tmp_path):
    terraform, _, _ = terraform_in(workspace(tmp_path, "one"))
    terraform.init(None)
    pinned = providers.pinned()[ADDRESS]
    providers.portal_lock().write_text(providers.render({ADDRESS: replace(pinned, version="5.99.0")}))
    other, log, _ = terraform_in(workspace(tmp_path, "two"))
    with pytest.raises(TerraformError):
        other.init(None)  # terraform itself: the mirror has no 5.99.0
    assert "5.99.0" in "".join(log)
    # The first workspace's lock still says 5.100.0: its commands are refused, not run with it.
    with pytest.raises(TerraformError, match="is not the version pinned in"):
        terraform.run("validate")


def test_a_workspace_initialised_before_the_pins_keeps_terraforms_own_check_until_its_next_init(mirror, tmp_path):
    folder = workspace(tmp_path, "legacy")
    bare_init_hash(folder)  # as the portal's inits left workspaces before: the lock with checksums
    terraform, log, _ = terraform_in(folder)
    assert "Success!" in terraform.run("validate")  # no pins yet: terraform's own check
    terraform.init(None)
    assert providers.read_lock(folder / ".terraform.lock.hcl")[ADDRESS].hashes == ()
    assert providers.pinned()[ADDRESS].hashes


def test_once_the_pinned_provider_is_in_the_cache_inits_do_not_wait_for_each_other(mirror, tmp_path, settings):
    assert not providers.in_plugin_cache()  # nothing pinned yet: the first init may install into the cache
    first, _, _ = terraform_in(workspace(tmp_path, "first"))
    first.init(None)
    assert providers.in_plugin_cache()

    # Another init holds the cache's lock (as one installing a provider would) for as long as this
    # test needs: a new workspace's init, which only links from the cache, finishes meanwhile.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time\nh = open(sys.argv[1], 'w')\nfcntl.flock(h, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(120)"]
        + [str(settings.TERRAFORM_PLUGIN_CACHE_DIR / ".portal-init.lock")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        second, log, _ = terraform_in(workspace(tmp_path, "second"))
        second.init(None)
        assert holder.poll() is None, "the init waited for the cache's lock"
        assert "Using hashicorp/aws v5.100.0 from the shared cache directory" in "".join(log)
    finally:
        holder.kill()
        holder.wait()


def test_terraform_applies_a_saved_plan_only_with_the_lock_file_it_was_made_with(mirror, tmp_path):
    """Why the worker makes a plan saved with checksums stale rather than applying it
    (tests/integration/runner/test_runner_branches.py): the workspace's lock has none now."""
    folder = workspace(tmp_path, "legacy")
    (folder / "data.tf").write_text('resource "terraform_data" "x" {\n  input = "x"\n}\n')
    bare_init_hash(folder)  # as the portal's inits left workspaces before it pinned: with checksums
    env = terraform_environment()

    def terraform(command, *argv):
        return subprocess.run(["terraform", command, "-input=false", "-no-color", *argv], cwd=folder, env=env, capture_output=True, text=True, timeout=300)

    assert terraform("plan", "-out=before.tfplan").returncode == 0
    assert providers.planned_with_checksums(folder / "before.tfplan")
    terraform_in(folder)[0].init(None)  # the portal pins, and the lock loses its checksums
    refused = terraform("apply", "before.tfplan")
    assert refused.returncode != 0 and "Inconsistent dependency lock file" in refused.stderr

    assert terraform("plan", "-out=after.tfplan").returncode == 0
    assert not providers.planned_with_checksums(folder / "after.tfplan")
    assert terraform("apply", "after.tfplan").returncode == 0
