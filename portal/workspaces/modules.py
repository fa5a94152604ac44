"""The version of a module a workspace was planned and applied with: the SHA-256 of the files
terraform reads from infra_modules/<module>/ (its tests and its prose left out), and the first entry
of the module's CHANGELOG.md where it has one. Nothing here touches the database."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

# Not part of what terraform runs: a change to these is no new version of the module.
LEFT_OUT_FOLDERS = {"tests", "examples", ".terraform"}
LEFT_OUT_SUFFIXES = {".md"}


@dataclass(frozen=True)
class ModuleVersion:
    module: str
    sha256: str
    changelog: str  # the newest entry's first line, "" without a CHANGELOG.md

    @property
    def short(self) -> str:
        return self.sha256[:12]


def module_files(module: str) -> list[Path]:
    root = settings.INFRA_MODULES_DIR / module
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file()
        and not LEFT_OUT_FOLDERS & set(path.relative_to(root).parts[:-1])
        and path.suffix not in LEFT_OUT_SUFFIXES
        and not path.name.startswith(".")
    )


def module_digest(module: str) -> str:
    """Names and contents, so that a renamed file is a new version too."""
    root = settings.INFRA_MODULES_DIR / module
    digest = hashlib.sha256()
    for path in module_files(module):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def changelog_line(module: str) -> str:
    """The first line of the newest entry: the first `## ` heading, with the line under it."""
    path = settings.INFRA_MODULES_DIR / module / "CHANGELOG.md"
    if not path.is_file():
        return ""
    lines = [line.strip() for line in path.read_text().splitlines()]
    for index, line in enumerate(lines):
        if line.startswith("## "):
            following = next((text.lstrip("-* ").strip() for text in lines[index + 1 :] if text and not text.startswith("#")), "")
            return f"{line[3:].strip()}: {following}" if following else line[3:].strip()
    return ""


def version_of(module: str) -> ModuleVersion:
    return ModuleVersion(module, module_digest(module), changelog_line(module))
