"""Write a workspace to disk: a fixed root module per infra module, the AWS provider (provider.tf,
the same for every workspace), and the values as JSON.

No user string is ever placed into HCL: the root templates only receive the relative path to the
module, which the portal computes itself. Everything a user typed goes to terraform.tfvars.json, and
so does the identity the run acts with (`portal_identity`, see portal.workspaces.identities).
"""

import hashlib
import json
import os
from pathlib import Path

from django.conf import settings

from portal.workspaces.identities import RunIdentity
from portal.workspaces.models import Workspace

ROOTS_DIR = Path(__file__).resolve().parent / "roots"
PROVIDER_FILE = ROOTS_DIR / "_provider.tf"  # the same for every workspace
BACKEND_FILE = 'terraform {\n  backend "s3" {}\n}\n'
RENDERED_FILES = ("main.tf", "provider.tf", "moves.tf", "backend.tf", "terraform.tfvars.json")


def render(
    workspace: Workspace,
    variables: dict,
    *,
    identity: RunIdentity | None = None,
    with_backend: bool = True,
    directory: Path | None = None,
) -> Path:
    """Write the workspace's files with these inputs and return its directory. Idempotent.

    `identity`: the role the run acts with; None only in the one-time bootstrap, which acts with
    the portal's own credentials. `directory`: elsewhere than the workspace's own (a drift check's)."""
    directory = directory or workspace.directory
    directory.mkdir(parents=True, exist_ok=True)
    source = os.path.relpath(settings.INFRA_MODULES_DIR / workspace.module, directory)
    files = rendered_files(workspace, variables, identity=identity, module_source=source, with_backend=with_backend)
    for name, text in files.items():
        _write(directory / name, text)
    if not with_backend:
        (directory / "backend.tf").unlink(missing_ok=True)
    return directory


def rendered_files(workspace: Workspace, variables: dict, *, identity: RunIdentity | None, module_source: str, with_backend: bool = True) -> dict[str, str]:
    """The workspace's files by name, the module called from `module_source` (the live repository
    writes them into a folder of its own)."""
    root = (ROOTS_DIR / f"{workspace.module}.tf").read_text()
    variables = {
        **variables,
        "default_tags": default_tags(workspace),
        "portal_identity": identity.tfvars() if identity else None,
    }
    files = {
        # A plain replace, not string.Template: the roots contain HCL's own ${...} interpolations.
        "main.tf": root.replace("$module_source", module_source),
        "provider.tf": PROVIDER_FILE.read_text(),
        "moves.tf": moves(workspace.module, variables),
        "terraform.tfvars.json": json.dumps(variables, indent=2, sort_keys=True) + "\n",
    }
    if with_backend:
        files["backend.tf"] = BACKEND_FILE
    return files


def moves(module: str, variables: dict) -> str:
    """`moved` blocks that follow a switch between two resource addresses, pointing always towards
    the one the inputs use; a no-op once the state is there. Fixed text, chosen by a boolean input.

    ecs-service keeps an autoscaled service in another resource (its desired count is left to the
    scaler, and ignore_changes cannot be conditional): turning autoscaling on or off moves the
    service instead of replacing it."""
    if module != "ecs-service":
        return "# Nothing moves in this workspace.\n"
    origin, target = ("this", "autoscaled") if variables.get("enable_autoscaling") else ("autoscaled", "this")
    return (
        "# Rendered by the portal: the service stays where it is when autoscaling is switched.\n"
        f"moved {{\n  from = module.this.aws_ecs_service.{origin}[0]\n  to   = module.this.aws_ecs_service.{target}[0]\n}}\n"
    )


def default_tags(workspace: Workspace) -> dict[str, str]:
    return {"ManagedBy": "infra-portal", "PortalWorkspace": workspace.path}


def inputs_digest(workspace: Workspace) -> str:
    """A digest of what the plan was made from; a plan whose inputs changed since is stale."""
    digest = hashlib.sha256()
    for name in RENDERED_FILES:
        path = workspace.directory / name
        if path.exists():
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _write(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
