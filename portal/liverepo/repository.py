"""The live repository on disk: one folder per state key, each a root module a person can plan.

    <state key folder>/            e.g. ecs/services/art-service-x/ (state: ecs/services/art-service-x/terraform.tfstate)
        main.tf provider.tf moves.tf backend.tf   as the portal renders them, the module source pointing into modules/
        terraform.tfvars.json                     the applied inputs
        backend.hcl                               the S3 backend's bucket, key and region, as the portal initialises
        .terraform.lock.hcl                       the provider versions the portal ran with and their pinned checksums
    modules/<module>/              a copy of infra_modules/<module> (without its tests and examples)

Git runs as a subprocess with argv lists (never a shell); a bare repository is written through a
temporary work tree and index, so the portal's local repository may be bare or not. One writer at a
time (a file lock next to the repository), so two changes settling at once cannot interleave.

The files are those portal.workspaces.rendering renders, with the module source pointing into the
repository's modules/ folder.
"""

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings

from portal.core.hcl import hcl_string
from portal.runner import providers
from portal.runner.terraform import backend_config
from portal.workspaces.identities import RunIdentity
from portal.workspaces.models import Workspace
from portal.workspaces.rendering import rendered_files

GIT_TIMEOUT = 120
COMMITTER_NAME = "Infra portal"
COMMITTER_EMAIL = "portal@portal.invalid"
# The session name of the roles in the repository's files: the same for every commit, never a run's.
SESSION_NAME = "portal-live-repository"
MODULE_IGNORE = shutil.ignore_patterns("tests", "examples", ".terraform", ".terraform.lock.hcl", "*.tfstate*")
# What git may see of the portal's environment: enough to find itself, its ssh agent and a proxy.
GIT_ENV_ALLOWED = [
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TZ",
    "TMPDIR",
    "SSH_AUTH_SOCK",
    "GIT_SSH_COMMAND",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
]
README = """# Live repository

Written by the infra portal: one commit per applied change (author: who proposed it; trailers:
`Approved-by`, `Portal-Change`), one folder per Terraform state key. Do not edit by hand.

    cd ecs/services/<name>
    terraform init -backend-config=backend.hcl
    terraform plan

plans with the inputs the portal applied and the same state. terraform.tfvars.json acts as the
workspace type's administrator role (`portal_identity`), as the portal does; with credentials that
may not assume it, write `{"portal_identity": null}` to portal_identity.auto.tfvars.json to act as
yourself, and leave `assume_role` out of backend.hcl.
"""


class GitError(Exception):
    pass


def redact(text: str) -> str:
    """Credentials in a URL (https://user:token@host) never reach a log or a row."""
    return re.sub(r"(?<=://)[^/@\s]+@", "***@", text)


@dataclass(frozen=True)
class Author:
    name: str
    email: str


@dataclass(frozen=True)
class Folder:
    """What one workspace becomes: its files, or nothing (`files` None: the folder goes)."""

    path: str
    module: str
    files: dict[str, str] | None


def folder_of(workspace: Workspace) -> str:
    path = PurePosixPath(workspace.path)
    if path.is_absolute() or ".." in path.parts or not path.parts or path.parts[0] in {"modules", ".git"}:
        raise ValueError(f"{workspace.path!r} cannot be a folder of the live repository")
    return str(path)


def workspace_files(workspace: Workspace, variables: dict, identity: RunIdentity | None) -> dict[str, str]:
    """The files of a workspace's folder: the rendered root with the module in modules/, the
    inputs, and the backend settings. `identity`: the roles the portal acts with (its session name
    made constant), or None when the portal acts with its own credentials (the bootstrap)."""
    folder = folder_of(workspace)
    source = os.path.relpath(f"modules/{workspace.module}", folder)
    files = rendered_files(workspace, variables, identity=identity, module_source=source)
    files["backend.hcl"] = backend_hcl(backend_config(workspace.state_key, identity))
    lock_file = providers.published_lock(workspace.directory)
    if lock_file is not None:
        files[".terraform.lock.hcl"] = lock_file
    return files


def backend_hcl(config: dict[str, str]) -> str:
    lines = ["# The portal's S3 backend for this folder: terraform init -backend-config=backend.hcl"]
    for name, value in config.items():
        if name == "assume_role":  # already an HCL object (portal.runner.terraform.hcl_object)
            lines.append(f"{name} = {value}")
        elif value in ("true", "false"):
            lines.append(f"{name} = {value}")
        else:
            lines.append(f"{name} = {hcl_string(value)}")
    return "\n".join(lines) + "\n"


def git_environment(author: Author | None = None) -> dict[str, str]:
    env = {name: os.environ[name] for name in GIT_ENV_ALLOWED if name in os.environ}
    env.update(
        GIT_TERMINAL_PROMPT="0",  # a push that needs a password fails instead of waiting
        GIT_COMMITTER_NAME=COMMITTER_NAME,
        GIT_COMMITTER_EMAIL=COMMITTER_EMAIL,
    )
    if author is not None:
        env.update(GIT_AUTHOR_NAME=author.name, GIT_AUTHOR_EMAIL=author.email)
    return env


def git(*args: str, env: dict[str, str] | None = None, stdin: str | None = None, check: bool = True) -> str:
    result = subprocess.run(
        ["git", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env or git_environment(),
        timeout=GIT_TIMEOUT,
    )
    if check and result.returncode != 0:
        raise GitError(redact(f"git {' '.join(args)} exited with {result.returncode}: {result.stderr.strip()}"))
    return result.stdout.strip()


@contextmanager
def locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class LiveRepository:
    def __init__(self, path: Path | None = None, remote: str | None = None):
        self.path = Path(path or settings.LIVE_REPOSITORY)
        self.remote = settings.LIVE_REPOSITORY_REMOTE if remote is None else remote

    @contextmanager
    def lock(self) -> Iterator[None]:
        with locked(self.path):
            yield

    def ensure(self) -> None:
        """Make the repository when it is missing (non-bare, branch main)."""
        if not self.path.exists() or not any(self.path.iterdir()):
            self.path.mkdir(parents=True, exist_ok=True)
            git("init", "--quiet", "--initial-branch=main", "--", str(self.path))

    @property
    def git_dir(self) -> Path:
        return Path(git("-C", str(self.path), "rev-parse", "--absolute-git-dir"))

    def is_bare(self) -> bool:
        return git("-C", str(self.path), "rev-parse", "--is-bare-repository") == "true"

    def commit(self, folders: list[Folder], message: str, author: Author) -> str:
        """Write (or remove) the folders and commit them, with the modules they use; returns the
        commit's sha. Call with the lock held."""
        self.ensure()
        git_dir = str(self.git_dir)
        with tempfile.TemporaryDirectory(prefix="live-repository-") as scratch:
            if self.is_bare():
                work_tree = Path(scratch) / "tree"
                work_tree.mkdir()
                env = {**git_environment(author), "GIT_INDEX_FILE": str(Path(scratch) / "index")}
                if git("--git-dir", git_dir, "rev-parse", "--verify", "--quiet", "HEAD", check=False, env=env):
                    git("--git-dir", git_dir, "--work-tree", str(work_tree), "read-tree", "HEAD", env=env)
            else:
                work_tree = self.path
                env = git_environment(author)
            base = ["--git-dir", git_dir, "--work-tree", str(work_tree)]
            paths = ["README.md"]
            (work_tree / "README.md").write_text(README)
            for folder in folders:
                target = work_tree / folder.path
                shutil.rmtree(target, ignore_errors=True)
                paths.append(folder.path)
                if folder.files is None:
                    continue
                target.mkdir(parents=True)
                for name, text in folder.files.items():
                    (target / name).write_text(text)
                module = work_tree / "modules" / folder.module
                if f"modules/{folder.module}" not in paths:
                    shutil.rmtree(module, ignore_errors=True)
                    shutil.copytree(settings.INFRA_MODULES_DIR / folder.module, module, ignore=MODULE_IGNORE)
                    paths.append(f"modules/{folder.module}")
            git(*base, "add", "--all", "--force", "--", *paths, env=env)
            git(
                *base,
                "-c",
                "commit.gpgsign=false",
                "commit",
                "--quiet",
                "--no-verify",
                "--allow-empty",
                "--cleanup=strip",
                "--file=-",
                env=env,
                stdin=message,
            )
            return git("--git-dir", git_dir, "rev-parse", "HEAD", env=env)

    def push(self) -> None:
        """Push the current branch to the remote. Call with the lock held."""
        branch = git("--git-dir", str(self.git_dir), "symbolic-ref", "--short", "HEAD")
        git("--git-dir", str(self.git_dir), "push", "--quiet", "--", self.remote, f"HEAD:refs/heads/{branch}")
