"""The policy documents the modules render for AWS, read from a `terraform plan` of the portal's own
root for the module (portal/workspaces/roots/), with the inputs a run applied and the settings the
portal uses on AWS. On the emulator the administrators' scoped statements read "*"
(`emulator_wildcard_resources`, because moto sees most calls' resource as "*"): the evaluation
needs the documents AWS would hold, and this is where they come from.

The plan runs against the emulator with its own credentials (only the account id and partition are
read), with a local backend in a directory of its own, and is never applied."""

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from portal.runner.terraform import terraform_environment
from portal.workspaces.models import Workspace
from portal.workspaces.rendering import rendered_files

# What the portal renders differently on AWS (portal/workspaces/layout.py administrators_variables).
AWS_SETTINGS = {
    "iam-service-admins": {"emulator_wildcard_resources": False, "user_permissions_boundary": True},
}


@dataclass(frozen=True)
class RenderedDocument:
    address: str  # the resource address in the plan
    kind: str  # "managed policy", "inline policy", "trust policy"
    source: str  # as identities.Identities names policies: a managed policy's ARN, "<role ARN> inline <name>"
    doc: dict


def plan_documents(module: str, path: str, variables: dict, directory: Path) -> list[RenderedDocument]:
    """Every IAM policy document the module's plan holds, rendered as for AWS."""
    directory.mkdir(parents=True, exist_ok=True)
    workspace = Workspace(path=path, module=module)
    variables = {**variables, **AWS_SETTINGS.get(module, {})}
    source = str(Path(settings.INFRA_MODULES_DIR) / module)
    for name, text in rendered_files(workspace, variables, identity=None, module_source=source, with_backend=False).items():
        (directory / name).write_text(text)
    env = {**terraform_environment(), "AWS_ACCESS_KEY_ID": "emulator", "AWS_SECRET_ACCESS_KEY": "emulator-secret"}
    for argv in (["init", "-input=false", "-no-color"], ["plan", "-input=false", "-no-color", "-refresh=false", "-out=aws.tfplan"]):
        done = subprocess.run([settings.TERRAFORM_BIN, *argv], cwd=directory, env=env, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"terraform {argv[0]} of {module} for AWS failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    shown = subprocess.run(
        [settings.TERRAFORM_BIN, "show", "-json", "aws.tfplan"], cwd=directory, env=env, capture_output=True, text=True, timeout=600, check=True
    )
    (directory / "aws.tfplan").unlink()
    return documents_in(json.loads(shown.stdout)["planned_values"]["root_module"])


def documents_in(module: dict) -> list[RenderedDocument]:
    found = []
    for resource in module.get("resources", []):
        values, address = resource.get("values", {}), resource["address"]
        if resource["type"] == "aws_iam_policy" and values.get("policy"):
            arn = f"arn:aws:iam::{ACCOUNT_PLACEHOLDER}:policy{values.get('path') or '/'}{values['name']}"
            found.append(RenderedDocument(address, "managed policy", arn, json.loads(values["policy"])))
        elif resource["type"] == "aws_iam_role_policy" and values.get("policy"):
            found.append(RenderedDocument(address, "inline policy", f"role:{values['role']} inline {values['name']}", json.loads(values["policy"])))
        elif resource["type"] == "aws_iam_role" and values.get("assume_role_policy"):
            found.append(RenderedDocument(address, "trust policy", f"role:{values['name']} trust", json.loads(values["assume_role_policy"])))
    for child in module.get("child_modules", []):
        found += documents_in(child)
    return found


# Filled in by `sources`: the plan's documents name policies by ARN once the account is known.
ACCOUNT_PLACEHOLDER = "{account}"


def sources(documents: list[RenderedDocument], account: str, role_arns: dict[str, str]) -> dict[str, dict]:
    """The documents keyed as identities.Identities looks policies up: managed policies by ARN,
    inline policies by "<role ARN> inline <name>"."""
    keyed = {}
    for document in documents:
        if document.kind == "managed policy":
            keyed[document.source.replace(ACCOUNT_PLACEHOLDER, account)] = document.doc
        elif document.kind == "inline policy":
            role, name = document.source.removeprefix("role:").split(" inline ")
            if role in role_arns:
                keyed[f"{role_arns[role]} inline {name}"] = document.doc
    return keyed


def differing_from_emulator(documents: list[RenderedDocument], account: str, role_arns: dict[str, str]) -> list[str]:
    """The addresses of the rendered documents the emulator holds otherwise (those it holds at all):
    the AWS rendering stands in for the emulator's only where the two are meant to differ."""
    from moto.iam.models import iam_backends

    from tests.iam.identities import PARTITION

    iam = iam_backends[account][PARTITION]
    roles = {role.name: role for role in iam.roles.values()}
    differing = []
    for document in documents:
        held = None
        if document.kind == "managed policy":
            policy = iam.managed_policies.get(document.source.replace(ACCOUNT_PLACEHOLDER, account))
            if policy is not None:
                held = next(v for v in policy.versions if v.is_default).document
        else:
            name = document.source.removeprefix("role:").split(" ")[0]
            role = roles.get(name)
            if role is not None and document.kind == "inline policy":
                held = role.policies.get(document.source.split(" inline ")[1])
            elif role is not None:
                held = role.assume_role_policy_document
        if held is not None and (json.loads(held) if isinstance(held, str) else held) != document.doc:
            differing.append(document.address)
    return differing
