"""The one-time bootstrap, the only work the portal's own credentials do themselves:

1. the shared state bucket, the way the original design did: applied with a local backend, then its
   state migrated into the bucket it just created;
2. the administrators (infra_modules/iam-service-admins): the roles every later run assumes, which
   cannot assume themselves into existence.

Each step is skipped once its state is in the bucket. Afterwards the administrators workspace is
planned and applied like any other, as the iam administrator.
"""

import json
import shutil

from botocore.exceptions import ClientError
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from python_terraform import IsFlagged

from portal.aws import client
from portal.runs.models import Run, RunStatus
from portal.runs.terraform import Terraform, TerraformError, backend_config
from portal.workspaces import identities
from portal.workspaces.layout import administrators_workspace, state_bucket_workspace
from portal.workspaces.models import Workspace
from portal.workspaces.rendering import render


def state_exists(workspace: Workspace) -> bool:
    """Whether the workspace's state is in the bucket. Asked with the portal's own credentials, and
    once those may no longer read state (after the bootstrap), as the type's state role."""
    refused = None
    for role_arn in (None, identities.role_arn(identities.type_of(workspace.path), "state")):
        try:
            client("s3", role_arn=role_arn).head_object(Bucket=settings.STATE_BUCKET, Key=workspace.state_key)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound", "NoSuchBucket"):
                return False
            refused = exc
    raise refused


def bootstrap_run(workspace: Workspace, user) -> Run:
    with transaction.atomic():
        for interrupted in Run.objects.active().filter(workspace=workspace):
            interrupted.fail("Interrupted before it finished; a new bootstrap replaced it.")
        return Run.objects.create(
            workspace=workspace,
            kind=Run.Kind.BOOTSTRAP,
            status=RunStatus.APPLYING,
            requested_by=user,
            variables=workspace.variables,
            started_at=timezone.now(),
        )


def bootstrap_state_bucket(user=None) -> Run | None:
    """Create the bucket and put its own state in it. None when that was done already."""
    workspace = state_bucket_workspace()
    if state_exists(workspace):
        return None
    run = bootstrap_run(workspace, user)
    try:
        directory = render(workspace, workspace.variables, with_backend=False)
        # A bucket that vanished (a restarted emulator) leaves .terraform pointing at the S3 backend,
        # which `init -reconfigure` does not forget. Local state of an interrupted bootstrap stays.
        shutil.rmtree(directory / ".terraform", ignore_errors=True)
        terraform = Terraform(directory, run.append_log)
        terraform.run("init", input=False)
        terraform.run("apply", input=False, auto_approve=IsFlagged)
        outputs = json.loads(terraform.capture("output", json=True))
        render(workspace, workspace.variables, with_backend=True)
        terraform.run(
            "init",
            input=False,
            migrate_state=IsFlagged,
            force_copy=IsFlagged,
            backend_config=backend_config(workspace.state_key),
        )
    except TerraformError as exc:
        run.fail(f"{exc}. See the log; running the bootstrap again resumes from the local state.")
        raise
    for leftover in ("terraform.tfstate", "terraform.tfstate.backup"):
        (directory / leftover).unlink(missing_ok=True)
    run.finish_applied({name: o["value"] for name, o in outputs.items()})
    return run


def bootstrap_administrators(user=None) -> Run | None:
    """Make the administrators with the portal's own credentials, state in the bucket from the
    start. None when their state exists already: from then on the iam administrator runs them."""
    workspace = administrators_workspace()
    if state_exists(workspace):
        return None
    run = bootstrap_run(workspace, user)
    try:
        directory = render(workspace, workspace.variables)
        terraform = Terraform(directory, run.append_log)
        terraform.init(workspace.state_key, workspace.module)
        terraform.run("apply", input=False, auto_approve=IsFlagged)
        outputs = json.loads(terraform.capture("output", json=True))
    except TerraformError as exc:
        run.fail(f"{exc}. See the log; running the bootstrap again carries on from the state it wrote.")
        raise
    run.finish_applied({name: o["value"] for name, o in outputs.items() if not o.get("sensitive")})
    return run
