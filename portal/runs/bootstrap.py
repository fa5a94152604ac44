"""Create the shared state bucket the way the original design did: apply its workspace with a local
backend, then migrate that state into the bucket it just created."""

import json
import shutil

from botocore.exceptions import ClientError
from django.db import transaction
from django.utils import timezone
from python_terraform import IsFlagged

from portal.aws import client
from portal.runs.models import Run, RunStatus
from portal.runs.terraform import Terraform, TerraformError, backend_config
from portal.workspaces.layout import state_bucket_workspace
from portal.workspaces.rendering import render


def state_exists(bucket: str, key: str) -> bool:
    try:
        client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError:
        return False
    return True


def bootstrap_state_bucket(user=None) -> Run | None:
    """Create the bucket and put its own state in it. None when that was done already."""
    workspace = state_bucket_workspace()
    bucket = workspace.variables["bucket_name"]
    if state_exists(bucket, workspace.state_key):
        return None
    with transaction.atomic():
        for interrupted in Run.objects.active().filter(workspace=workspace):
            interrupted.fail("Interrupted before it finished; a new bootstrap replaced it.")
        run = Run.objects.create(
            workspace=workspace,
            kind=Run.Kind.BOOTSTRAP,
            status=RunStatus.APPLYING,
            requested_by=user,
            started_at=timezone.now(),
        )
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
