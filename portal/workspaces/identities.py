"""Which AWS identity a workspace's runs act with.

Each AWS service type has an administrator (infra_modules/iam-service-admins): a role that the
terraform AWS provider assumes, and a state role that the S3 backend and `terraform_remote_state`
assume. A workspace's type follows from its path, the art service's folder convention:

    the first segment names the type: `vpc/...` -> vpc, `ecs/...` -> ecs, `iam/...` -> iam, `s3/...` -> s3,
    except `ecs/ecr-repositories/...`, where the original layout keeps ECR repositories: -> ecr.

The state role may write only its type's folders (STATE_KEY_PREFIXES) and read the platform's keys;
each run narrows it further with a session policy to its own key and lockfile (AWS evaluates
session policies; the emulator does not, see the README).

The portal's own credentials only assume these roles; they act themselves only in the one-time
bootstrap (the state bucket, then the administrators), before any role exists.
"""

import json
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings

from portal.workspaces.declared import declared_administrators
from portal.workspaces.paths import (  # noqa: F401 (read from here too)
    PATH_EXCEPTIONS,
    STATE_KEY_PREFIXES,
    TYPES,
    shared_state_keys,
    type_of,
)

if TYPE_CHECKING:
    from portal.workspaces.models import Workspace


def admin_path() -> str:
    return f"/{settings.SERVICE_NAME_PREFIX}/admins/"


@cache
def account_id() -> str:
    """The AWS account the roles live in: configured, or asked of STS (which needs no permission)."""
    if settings.AWS_ACCOUNT_ID:
        return settings.AWS_ACCOUNT_ID
    from portal.core.aws import client

    return client("sts").get_caller_identity()["Account"]


def role_arn(service_type: str, kind: str = "admin") -> str:
    """The ARN of a type's administrator role (kind "admin") or state role (kind "state")."""
    return iam_arn("role", f"{service_type}-{kind}")


def policy_arn(name: str) -> str:
    """The ARN of one of the administrators' own policies: "admin-boundary", "portal-runner"."""
    return iam_arn("policy", name)


def iam_arn(kind: str, name: str) -> str:
    """Roles and policies of iam-service-admins: `<kind><admin path><prefix>-<name>`."""
    return f"arn:{settings.AWS_PARTITION}:iam::{account_id()}:{kind}{admin_path()}{settings.SERVICE_NAME_PREFIX}-{name}"


@dataclass(frozen=True)
class Refusal:
    """Why a workspace has no identity to run with."""

    reason: str


@dataclass(frozen=True)
class RunIdentity:
    service_type: str
    role_arn: str
    state_role_arn: str
    session_name: str
    state_key: str
    shared_state_keys: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.service_type} administrator"

    def session_policy(self) -> str:
        """What the state role may do in this run: its own key and lockfile, and reading the
        platform's keys. Packed JSON: STS counts every character against its 2048 limit."""
        bucket = f"arn:{settings.AWS_PARTITION}:s3:::{settings.STATE_BUCKET}"
        statements = [
            {"Sid": "List", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket},
            {
                "Sid": "OwnState",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": [f"{bucket}/{self.state_key}", f"{bucket}/{self.state_key}.tflock"],
            },
            {"Sid": "OwnLock", "Effect": "Allow", "Action": "s3:DeleteObject", "Resource": f"{bucket}/{self.state_key}.tflock"},
            # The bucket encrypts with KMS (infra_modules/remote-state): S3 asks KMS for the run's
            # data key as the caller, and a session policy caps that call as it caps the S3 ones.
            {
                "Sid": "StateKeyThroughS3",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}},
            },
        ]
        shared = [f"{bucket}/{key}" for key in self.shared_state_keys if key != self.state_key]
        if shared:
            statements.append({"Sid": "PlatformOutputs", "Effect": "Allow", "Action": "s3:GetObject", "Resource": shared})
        return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))

    def tfvars(self) -> dict:
        """The `portal_identity` variable of a rendered workspace (see portal.workspaces.rendering)."""
        return {
            "role_arn": self.role_arn,
            "session_name": self.session_name,
            "state_role_arn": self.state_role_arn,
            "state_session_policy": self.session_policy(),
        }

    def backend_assume_role(self) -> dict[str, str]:
        # A session name per workspace, not per run: the backend's settings stay the same from run
        # to run, so `terraform init` is skipped (portal.runner.terraform.init_fingerprint).
        return {
            "role_arn": self.state_role_arn,
            "session_name": f"portal-state-{self.service_type}",
            "policy": self.session_policy(),
        }


def identity_for(workspace: "Workspace", session_name: str) -> RunIdentity | Refusal:
    """The identity a run of `workspace` acts with, or why it has none."""
    service_type = type_of(workspace.path)
    if service_type is None:
        known = ", ".join(sorted(TYPES))
        return Refusal(f"The path {workspace.path} names no AWS service type (its first folder must be one of: {known}).")
    if service_type not in declared_administrators():
        return Refusal(
            f"There is no {service_type} administrator, so {workspace.path} has no identity to run with. An admin adds the type on the Administrators page."
        )
    return RunIdentity(
        service_type=service_type,
        role_arn=role_arn(service_type, "admin"),
        state_role_arn=role_arn(service_type, "state"),
        session_name=session_name[:64],
        state_key=workspace.state_key,
        shared_state_keys=shared_state_keys(),
    )
