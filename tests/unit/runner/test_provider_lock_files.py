"""The dependency lock files the portal reads and writes (portal.runner.providers), as terraform
writes them; and the `h1:` checksum of a package folder as Go's dirhash computes it. The same against
real terraform and the real provider: tests/integration/runner/test_provider_pins.py."""

import base64
import hashlib

from portal.runner import providers

TERRAFORMS_OWN = """# This file is maintained automatically by "terraform init".
# Manual edits may be lost in future updates.

provider "registry.terraform.io/hashicorp/aws" {
  version     = "5.100.0"
  constraints = ">= 5.40.0, < 6.0.0"
  hashes = [
    "h1:edXOJWE4ORX8Fm+dpVpICzMZJat4AX0VRCAy/xkcOc0=",
    "zh:01a3c1fb1d2f4e0e0d4f4c8e6c1b7d0f0a4a8f7e6d5c4b3a2918273645546372",
  ]
}

provider "registry.terraform.io/hashicorp/random" {
  version = "3.6.0"
}
"""


def test_a_lock_file_reads_and_writes_back_as_terraform_wrote_it():
    pins = providers.parse(TERRAFORMS_OWN)
    assert pins["registry.terraform.io/hashicorp/aws"] == providers.Pin(
        "5.100.0",
        ">= 5.40.0, < 6.0.0",
        ("h1:edXOJWE4ORX8Fm+dpVpICzMZJat4AX0VRCAy/xkcOc0=", "zh:01a3c1fb1d2f4e0e0d4f4c8e6c1b7d0f0a4a8f7e6d5c4b3a2918273645546372"),
    )
    assert pins["registry.terraform.io/hashicorp/random"] == providers.Pin("3.6.0", None, ())
    assert providers.render(pins) == TERRAFORMS_OWN
    assert providers.parse(providers.render(providers.without_hashes(pins)))["registry.terraform.io/hashicorp/aws"].hashes == ()


def test_the_published_lock_file_gets_the_pinned_checksums_back(settings, tmp_path):
    settings.STATE_DIR = tmp_path / "state"
    settings.STATE_DIR.mkdir()
    providers.portal_lock().write_text(TERRAFORMS_OWN)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    assert providers.published_lock(workspace) is None  # never initialised: nothing to publish
    aws = {"registry.terraform.io/hashicorp/aws": providers.Pin("5.100.0", ">= 5.40.0, < 6.0.0", ())}
    (workspace / ".terraform.lock.hcl").write_text(providers.render(aws))

    published = providers.parse(providers.published_lock(workspace))

    assert list(published) == ["registry.terraform.io/hashicorp/aws"]  # not the providers it does not use
    assert published["registry.terraform.io/hashicorp/aws"].hashes == providers.parse(TERRAFORMS_OWN)["registry.terraform.io/hashicorp/aws"].hashes


def test_the_h1_checksum_is_a_sha256_over_the_sorted_files_and_their_own_sha256(tmp_path):
    (tmp_path / "terraform-provider-x_v1.0.0").write_bytes(b"\x7fELF binary")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "README.md").write_text("read me\n")
    (tmp_path / "LICENSE").write_text("license\n")
    lines = "".join(
        f"{hashlib.sha256(content).hexdigest()}  {name}\n"
        for name, content in sorted({"terraform-provider-x_v1.0.0": b"\x7fELF binary", "docs/README.md": b"read me\n", "LICENSE": b"license\n"}.items())
    )
    assert providers.hash_v1(str(tmp_path)) == "h1:" + base64.b64encode(hashlib.sha256(lines.encode()).digest()).decode()
