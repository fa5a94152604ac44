"""The Terraform CLI configuration every run uses: one shared plugin cache, and the provider mirror
when there is one (offline machines), the public registry otherwise."""

import json
from pathlib import Path

from django.conf import settings


def provider_mirror() -> Path | None:
    candidates = [settings.TERRAFORM_PROVIDER_MIRROR] if settings.TERRAFORM_PROVIDER_MIRROR else []
    candidates += settings.TERRAFORM_PROVIDER_MIRROR_CANDIDATES
    for candidate in candidates:
        path = Path(candidate)
        if (path / "registry.terraform.io").is_dir():
            return path
    return None


def cli_config_text() -> str:
    cache = settings.TERRAFORM_PLUGIN_CACHE_DIR
    # json.dumps gives a correctly quoted HCL string for a path.
    lines = [
        f"plugin_cache_dir = {json.dumps(str(cache))}",
        # A workspace without a lock file (every new one) would otherwise install the provider into
        # the cache again, which removes the cache's entry and makes it anew (from a filesystem
        # mirror: a symlink): a plan or show of another workspace that starts its provider in that
        # moment fails with "there is no package for ... cached in .terraform/providers". With this,
        # an entry in the cache is used as it is; the lock file then records the checksum of what is
        # in the cache ("Allowing the Provider Plugin Cache to break the Dependency Lock File",
        # https://developer.hashicorp.com/terraform/cli/config/config-file). Inits still take turns
        # (portal.runner.terraform.plugin_cache_lock) for the first install.
        "plugin_cache_may_break_dependency_lock_file = true",
    ]
    mirror = provider_mirror()
    if mirror:
        lines += [
            "provider_installation {",
            "  filesystem_mirror {",
            f"    path = {json.dumps(str(mirror))}",
            "  }",
            "}",
        ]
    return "\n".join(lines) + "\n"


def write_cli_config() -> Path:
    """Write the CLI config (and create the cache) and return its path for TF_CLI_CONFIG_FILE."""
    settings.TERRAFORM_PLUGIN_CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = settings.STATE_DIR / "terraform.rc"
    text = cli_config_text()
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path
