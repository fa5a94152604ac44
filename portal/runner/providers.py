"""The provider packages terraform runs with: pinned once for the portal, checked by the portal.

Before every command that starts a provider (plan, show, apply, output, validate), terraform hashes
the provider's package and compares it with the `h1:` checksums of the workspace's dependency lock
file (`providerFactories`, hashicorp/terraform internal/command/meta_providers.go); `init` hashes it
to check it and again to record it (internal/providercache/installer.go). The AWS provider is one
700 MB file: each hash reads all of it, 0.4 s, several times in every run. The portal makes that check itself, once
for each state of the package's files, and keeps what it guarantees:

- One lock file for the portal, `<STATE_DIR>/providers.lock.hcl`, with the checksums: recorded by
  the first init, trusting the package on first use as terraform's own first init does; an operator
  may put a reviewed one there instead, or remove it to pin a new provider version.
- Each workspace's lock file is that lock without the checksums (terraform then checks nothing
  itself), written before init: every workspace runs the pinned version, not whichever is newest.
  Init records the checksum of the package it linked; unless that checksum is pinned, the init
  fails. Then the workspace's lock loses its checksums again.
- Before every other command, every package the workspace links is hashed and compared with the
  pins, unless its files are exactly as they were when they were last hashed (path, inode, size,
  modification and change times: writing a file changes its change time, which only the kernel
  sets). Those hashes are kept in `<STATE_DIR>/providers.checked.json`, because the worker forks a
  process for every job; whoever can write that file can write the lock files beside it and the
  workspaces' own, so it trusts no one terraform's own check did not.

A workspace lock that still has checksums (initialised before the portal pinned its providers) is
left to terraform's own check.
"""

import base64
import fcntl
import hashlib
import json
import os
import platform
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import hcl2
from django.conf import settings

from portal.core.hcl import hcl_string

LOCK_FILE = ".terraform.lock.hcl"
HEADER = '# This file is maintained automatically by "terraform init".\n# Manual edits may be lost in future updates.\n'
PORTAL_HEADER = (
    "# The provider versions and checksums every workspace of the portal runs with (portal.runner.providers).\n"
    "# Recorded by the first terraform init; remove this file to pin the packages in the plugin cache anew.\n"
)


class ProviderMismatch(Exception):
    """A provider package that does not match what the portal pinned: the command does not run."""


@dataclass(frozen=True)
class Pin:
    version: str
    constraints: str | None
    hashes: tuple[str, ...]


def portal_lock() -> Path:
    return settings.STATE_DIR / "providers.lock.hcl"


def checked_file() -> Path:
    return settings.STATE_DIR / "providers.checked.json"


# --- lock files -------------------------------------------------------------------------------------
def parse(text: str) -> dict[str, Pin]:
    """The providers of a dependency lock file, by address."""
    pins = {}
    for block in hcl2.loads(text).get("provider", []):
        for address, body in block.items():
            pins[unquote(address)] = Pin(
                version=unquote(body["version"]),
                constraints=unquote(body["constraints"]) if "constraints" in body else None,
                hashes=tuple(unquote(value) for value in body.get("hashes", [])),
            )
    return pins


def unquote(value: str) -> str:
    # python-hcl2 keeps a string's quotes; what is inside them is JSON's escaping (HCL's, for these values).
    return json.loads(value) if value.startswith('"') else value


def render(pins: dict[str, Pin], header: str = HEADER) -> str:
    """A dependency lock file in terraform's own layout."""
    blocks = []
    for address in sorted(pins):
        pin = pins[address]
        lines = [f"provider {hcl_string(address)} {{"]
        if pin.constraints is None:
            lines.append(f"  version = {hcl_string(pin.version)}")
        else:  # aligned, as terraform's HCL writer aligns the attributes of adjacent lines
            lines += [f"  version     = {hcl_string(pin.version)}", f"  constraints = {hcl_string(pin.constraints)}"]
        if pin.hashes:
            lines += ["  hashes = [", *(f"    {hcl_string(value)}," for value in pin.hashes), "  ]"]
        blocks.append("\n".join([*lines, "}"]) + "\n")
    return "\n".join([header, *blocks])


def read_lock(path: Path) -> dict[str, Pin]:
    return parse(path.read_text()) if path.exists() else {}


def pinned() -> dict[str, Pin]:
    return read_lock(portal_lock())


def without_hashes(pins: dict[str, Pin]) -> dict[str, Pin]:
    return {address: replace(pin, hashes=()) for address, pin in pins.items()}


def published_lock(workdir: Path) -> str | None:
    """The workspace's lock file as a person would commit it: its versions and constraints, with the
    checksums the portal pinned. None when the workspace has none."""
    locked = read_lock(workdir / LOCK_FILE)
    if not locked:
        return None
    pins = pinned()
    return render({address: replace(pin, hashes=pin.hashes or pins.get(address, pin).hashes) for address, pin in locked.items()})


# --- init -------------------------------------------------------------------------------------------
GO_ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def in_plugin_cache() -> bool:
    """Whether every pinned provider is in the plugin cache for this machine's platform: an init then
    only links from the cache (installer.go, "If our global cache already has this version available
    then we'll just link it in") and writes nothing there, so it need not wait for other inits."""
    architecture = GO_ARCHITECTURES.get(platform.machine().lower())
    pins = pinned()
    if architecture is None or not pins:
        return False
    folder = f"{sys.platform}_{architecture}"
    return all((settings.TERRAFORM_PLUGIN_CACHE_DIR / address / pin.version / folder).is_dir() for address, pin in pins.items())


def before_init(workdir: Path) -> None:
    """Give the workspace the pinned versions, without checksums, before terraform reads its lock."""
    pins = pinned()
    if not pins:
        return  # the first init of all: terraform chooses and records, as on its own
    path = workdir / LOCK_FILE
    locked = read_lock(path)
    wanted = {address: replace(pin, constraints=locked[address].constraints if address in locked else pin.constraints) for address, pin in pins.items()}
    text = render(without_hashes(wanted))
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def after_init(workdir: Path) -> None:
    """Check the checksums init recorded against the pins (pinning a provider seen for the first
    time), then leave the workspace's lock without checksums."""
    path = workdir / LOCK_FILE
    recorded = read_lock(path)
    if not recorded:
        return
    with pins_held() as pins:
        for address, pin in recorded.items():
            pins.setdefault(address, pin)
            expected = pins[address]
            if expected.version != pin.version:
                raise ProviderMismatch(
                    f"terraform init chose {address} {pin.version}, but the portal pinned {expected.version} in {portal_lock()}. "
                    "Change the module's version constraint, or remove that file to pin the new version."
                )
            # No checksum recorded: init linked nothing new; the package is hashed before it is used.
            if pin.hashes and not set(pin.hashes) & set(expected.hashes):
                raise ProviderMismatch(mismatch_message(address, pin.version))
    for address, pin in recorded.items():
        for package in packages(workdir, address, pin.version):
            digest = next((value for value in pin.hashes if value.startswith("h1:")), None)
            if digest:  # what terraform hashed a moment ago
                remember(package, digest)
    path.write_text(render(without_hashes(recorded)))


@contextmanager
def pins_held() -> Iterator[dict[str, Pin]]:
    """The portal's pins, for one process at a time; written back when changed."""
    path = portal_lock()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        pins = read_lock(path)
        before = dict(pins)
        yield pins
        if pins != before:
            write_atomically(path, render(pins, PORTAL_HEADER))


def planned_with_checksums(plan_file: Path) -> bool:
    """Whether a saved plan was made with checksums in its lock file (before the portal pinned its
    providers): terraform applies a plan only with the very lock file it was made with, checksums
    included (`Locks.Equal`, internal/backend/local/backend_local.go), which no workspace has now."""
    try:
        with zipfile.ZipFile(plan_file) as plan:
            text = plan.read(LOCK_FILE).decode()
    except (OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError):
        return False
    return any(pin.hashes for pin in parse(text).values())


# --- every other command ----------------------------------------------------------------------------
def check_packages(workdir: Path) -> None:
    """Raise ProviderMismatch unless every provider package the workspace links matches the pins."""
    locked = read_lock(workdir / LOCK_FILE)
    if not locked or any(pin.hashes for pin in locked.values()):
        return  # nothing initialised yet, or terraform checks the checksums itself
    pins = pinned()
    for address, pin in locked.items():
        expected = pins.get(address)
        if expected is None or expected.version != pin.version:
            raise ProviderMismatch(f"{address} {pin.version} is not the version pinned in {portal_lock()}; plan again (init brings it in line).")
        for package in packages(workdir, address, pin.version):
            if package_hash(package) not in expected.hashes:
                raise ProviderMismatch(mismatch_message(address, pin.version))


def mismatch_message(address: str, version: str) -> str:
    return (
        f"The {address} {version} package in the plugin cache does not match any checksum pinned in {portal_lock()}: "
        "it changed since it was pinned. Nothing ran with it. Put the pinned package back, or, if it was replaced on "
        "purpose, remove that file so that the next init pins the package as it is now."
    )


def packages(workdir: Path, address: str, version: str) -> list[Path]:
    """The package folders a workspace links for a provider version (one per platform)."""
    folder = workdir / ".terraform" / "providers" / address / version
    return sorted(folder.iterdir()) if folder.is_dir() else []


def package_hash(package: Path) -> str:
    """The package's `h1:` checksum, hashed again only when its files changed since the last time."""
    real = os.path.realpath(package)
    signature = files_signature(real)
    known = read_checked().get(real)
    if known and known["signature"] == signature:
        return known["hash"]
    digest = hash_v1(real)
    remember(package, digest, signature)
    return digest


def hash_v1(folder: str) -> str:
    """Terraform's `h1:` checksum of an unpacked package: Go's dirhash.Hash1, a SHA-256 over the
    sorted lines `<sha256 of the file>  <path relative to the folder>` (golang.org/x/mod/sumdb/dirhash;
    internal/getproviders/hash.go, PackageHashV1)."""
    summary = hashlib.sha256()
    for relative in package_files(folder):
        with open(os.path.join(folder, relative), "rb") as handle:
            summary.update(f"{hashlib.file_digest(handle, 'sha256').hexdigest()}  {relative}\n".encode())
    return "h1:" + base64.b64encode(summary.digest()).decode()


def package_files(folder: str) -> list[str]:
    found = []
    for directory, _, names in os.walk(folder):
        found += [os.path.relpath(os.path.join(directory, name), folder).replace(os.sep, "/") for name in names]
    return sorted(found)


def files_signature(folder: str) -> list[list]:
    signature = []
    for relative in package_files(folder):
        seen = os.stat(os.path.join(folder, relative))
        signature.append([relative, seen.st_dev, seen.st_ino, seen.st_size, seen.st_mtime_ns, seen.st_ctime_ns])
    return signature


def read_checked() -> dict:
    try:
        return json.loads(checked_file().read_text())
    except (OSError, ValueError):
        return {}


def remember(package: Path, digest: str, signature: list | None = None) -> None:
    real = os.path.realpath(package)
    checked = read_checked()
    checked[real] = {"signature": signature if signature is not None else files_signature(real), "hash": digest}
    write_atomically(checked_file(), json.dumps(checked))


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, path)
