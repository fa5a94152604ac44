"""The shared plugin cache stays as it is while new workspaces are initialised: a new workspace's
`terraform init` (no lock file yet) uses the provider already in the cache instead of installing it
there again, which would remove the entry for a moment under every other workspace's terraform
(portal.workspaces.terraform_config). Real terraform, the portal's CLI configuration and mirror."""

import os
import subprocess

import pytest

from portal.runner.terraform import terraform_environment
from portal.workspaces.terraform_config import provider_mirror

MAIN = 'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws", version = "5.100.0" }\n  }\n}\n'


@pytest.mark.skipif(provider_mirror() is None, reason="needs the provider mirror of an offline machine")
def test_a_new_workspaces_init_uses_the_cached_provider_and_leaves_the_cache_entry_as_it_was(settings, tmp_path):
    settings.STATE_DIR = tmp_path / "state"
    settings.TERRAFORM_PLUGIN_CACHE_DIR = tmp_path / "cache"
    env = terraform_environment()
    outputs = []
    entry = None
    for name in ("first", "second", "third"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "main.tf").write_text(MAIN)
        done = subprocess.run(["terraform", "init", "-input=false", "-no-color"], cwd=folder, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        outputs.append(done.stdout)
        platform_dirs = list((settings.TERRAFORM_PLUGIN_CACHE_DIR / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.0").iterdir())
        assert len(platform_dirs) == 1
        seen = os.lstat(platform_dirs[0])
        if entry is None:
            entry = (seen.st_ino, seen.st_mtime_ns)
        assert (seen.st_ino, seen.st_mtime_ns) == entry, f"the {name} workspace's init made the cache entry anew"
        assert (folder / ".terraform.lock.hcl").exists()
    assert "Installing hashicorp/aws" in outputs[0]
    for later in outputs[1:]:
        assert "from the shared cache directory" in later, later
