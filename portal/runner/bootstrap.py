"""The one-time bootstrap, the only work the portal's own credentials do themselves:

1. the shared state bucket, the way the original design did: applied with a local backend, then its
   state migrated into the bucket it just created;
2. the service-linked roles the platform's AWS services need, in an account that never used them;
3. the administrators (infra_modules/iam-service-admins): the roles every later run assumes, which
   cannot assume themselves into existence.

Each step is skipped once its state is in the bucket. Afterwards the administrators workspace is
planned and applied like any other, as the iam administrator.
"""

import json
import shutil
import time

from botocore.exceptions import ClientError
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from python_terraform import IsFlagged

from portal.core.aws import client
from portal.runner.execution import summarize
from portal.runner.terraform import Terraform, TerraformError, backend_config
from portal.runs.models import Run, RunStatus
from portal.workspaces import identities
from portal.workspaces.layout import RunnerUnknown, administrators_workspace, caller_trusted, state_bucket_workspace
from portal.workspaces.models import Workspace
from portal.workspaces.modules import module_digest
from portal.workspaces.rendering import render


def asked_of_state(workspace: Workspace, ask):
    """`ask(s3)` about the workspace's state object, None when it is not there. Asked with the
    portal's own credentials, and once those may no longer read state (after the bootstrap), as the
    type's state role."""
    refused = None
    for role_arn in (None, identities.role_arn(identities.type_of(workspace.path), "state")):
        try:
            return ask(client("s3", role_arn=role_arn))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound", "NoSuchBucket"):
                return None
            refused = exc
    raise refused


def read_state(workspace: Workspace) -> dict | None:
    """The workspace's state as it is in the bucket; None when it is not there."""
    return asked_of_state(workspace, lambda s3: json.loads(s3.get_object(Bucket=settings.STATE_BUCKET, Key=workspace.state_key)["Body"].read()))


def state_exists(workspace: Workspace) -> bool:
    """Whether the workspace's state is in the bucket (its head only: a state can be large)."""
    return asked_of_state(workspace, lambda s3: s3.head_object(Bucket=settings.STATE_BUCKET, Key=workspace.state_key)) is not None


def addresses(state: dict) -> set[str]:
    """The addresses of the resources a state holds (module.this.aws_s3_bucket.this)."""
    return {".".join(filter(None, (r.get("module"), r["type"], r["name"]))) for r in state.get("resources", []) if r.get("mode") == "managed"}


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
            # What it renders and applies is today's module: recorded as a plan's version is, so that
            # the Platform page does not list the state bucket as behind its module.
            module_sha256=module_digest(workspace.module),
        )


# What the state bucket must have before any state is written to it: owned by the account, closed to
# the public, encrypted, versioned and (with require_tls) TLS only. Its lifecycle rule, which expires
# old state versions, may come after: the provider takes 55 s to apply one, whatever S3 answers (it
# reads the rule back until it has matched ten times, five seconds apart, after ten seconds:
# waitLifecycleConfigEquals in the provider's internal/service/s3/bucket_lifecycle_configuration.go),
# and nothing else needs to wait for that.
READY_FOR_STATE = tuple(
    f"module.this.{resource}"
    for resource in (
        "aws_s3_bucket_ownership_controls.this",
        "aws_s3_bucket_public_access_block.this",
        "aws_s3_bucket_server_side_encryption_configuration.this",
        "aws_s3_bucket_versioning.this",
        "aws_s3_bucket_policy.this",
    )
)
LIFECYCLE = "module.this.aws_s3_bucket_lifecycle_configuration.this"


class StateBucketBootstrap:
    """A state bucket that holds its own state, and what is left to apply to it (its lifecycle
    rule): `finish()` applies the whole workspace from that state and ends the bootstrap's run."""

    def __init__(self, run: Run, directory):
        self.run = run
        self.directory = directory

    def finish(self) -> Run:
        try:
            terraform = Terraform(self.directory, self.run.append_log)
            terraform.run("apply", input=False, auto_approve=IsFlagged)
            outputs = json.loads(terraform.capture("output", json=True))
        except TerraformError as exc:
            self.run.fail(f"{exc}. See the log; running the bootstrap again applies what is left.")
            raise
        self.run.finish_applied({name: o["value"] for name, o in outputs.items()})
        return self.run


def start_state_bucket(user=None) -> StateBucketBootstrap | None:
    """Make the state bucket ready to hold state and put its own state in it: the bucket and
    READY_FOR_STATE, applied with a local backend, then that state migrated into the bucket. None
    when the bucket's state is there with its lifecycle rule; when only the rule is missing (a
    bootstrap interrupted after the migration), what is left is to finish."""
    workspace = state_bucket_workspace()
    state = read_state(workspace)
    if state is not None and LIFECYCLE in addresses(state):
        return None
    run = bootstrap_run(workspace, user)
    try:
        if state is not None:
            run.append_log("[portal] The bucket holds its own state already: applying what is left to it.\n")
            directory = render(workspace, workspace.variables, with_backend=True)
            Terraform(directory, run.append_log).init(workspace.state_key, workspace.module)
            return StateBucketBootstrap(run, directory)
        directory = render(workspace, workspace.variables, with_backend=False)
        # A bucket that vanished (a restarted emulator) leaves .terraform pointing at the S3 backend,
        # which `init -reconfigure` does not forget. Local state of an interrupted bootstrap stays.
        shutil.rmtree(directory / ".terraform", ignore_errors=True)
        terraform = Terraform(directory, run.append_log)
        terraform.run("init", input=False)
        run.append_log("[portal] First what the bucket needs before it holds state; its lifecycle rule after the migration.\n")
        terraform.run("apply", input=False, auto_approve=IsFlagged, target=list(READY_FOR_STATE))
        render(workspace, workspace.variables, with_backend=True)
        terraform.run(
            "init",
            input=False,
            migrate_state=IsFlagged,
            force_copy=IsFlagged,
            backend_config=backend_config(workspace.state_key),
        )
    except TerraformError as exc:
        run.fail(f"{exc}. See the log; running the bootstrap again resumes from the state it wrote.")
        raise
    for leftover in ("terraform.tfstate", "terraform.tfstate.backup"):
        (directory / leftover).unlink(missing_ok=True)
    return StateBucketBootstrap(run, directory)


def bootstrap_state_bucket(user=None) -> Run | None:
    """Create the bucket and put its own state in it, all of it applied. None when that was done
    already."""
    started = start_state_bucket(user)
    return started.finish() if started is not None else None


# The service-linked roles the platform's services need: ECS (clusters, capacity providers,
# services), Elastic Load Balancing, EC2 Auto Scaling (the cluster's group) and Application Auto
# Scaling for ECS. Each is made by the first call that needs it, as the caller, which must be allowed
# iam:CreateServiceLinkedRole ("Using service-linked roles for Amazon ECS"; Application Auto
# Scaling's "Identity and Access Management"; the ELB and EC2 Auto Scaling guides likewise). Made
# here once, with the bootstrap identity, the administrators never need to; the ecs administrator
# may still make them again should one be deleted.
SERVICE_LINKED_ROLES = (
    "ecs.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "autoscaling.amazonaws.com",
    "ecs.application-autoscaling.amazonaws.com",
)


def ensure_service_linked_roles() -> list[str]:
    """Make the service-linked roles the account lacks; lines for the log saying what was found,
    made, or could not be checked and what that means."""
    iam = client("iam")
    lines = []
    for service in SERVICE_LINKED_ROLES:
        try:
            # By path, not by name: the path is the service, the name AWS's own (and an emulator's).
            found = iam.list_roles(PathPrefix=f"/aws-service-role/{service}/")["Roles"]
            if found:
                lines.append(f"Service-linked role of {service}: {found[0]['RoleName']} exists.")
                continue
            made = iam.create_service_linked_role(AWSServiceName=service)["Role"]
            lines.append(f"Service-linked role of {service}: made {made['RoleName']}.")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
                lines.append(
                    f"Service-linked role of {service}: could not be checked or made with the portal's own credentials "
                    f'({code}). The ecs administrator makes it on first use; if that fails with "Unable to assume the '
                    f'service linked role", run `aws iam create-service-linked-role --aws-service-name {service}` once '
                    "as an account administrator."
                )
            elif "has been taken" in str(exc) or code == "EntityAlreadyExists":
                lines.append(f"Service-linked role of {service}: exists.")
            else:
                raise
    return lines


# IAM is eventually consistent: a role just made may not be assumable for some seconds ("Changes
# that I make are not always immediately visible", IAM troubleshooting), and the first run after the
# bootstrap assumes one at once.
ROLE_PROPAGATION_TIMEOUT = 120


def wait_until_assumable(role_arn: str, log) -> None:
    """Wait until the portal's own credentials can assume `role_arn`, when they are among those the
    role trusts; say in the log how long it took."""
    sts = client("sts")
    started = time.monotonic()
    while True:
        try:
            sts.assume_role(RoleArn=role_arn, RoleSessionName="portal-bootstrap-check", DurationSeconds=900)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "AccessDenied":
                raise
            if time.monotonic() - started > ROLE_PROPAGATION_TIMEOUT:
                log(
                    f"[portal] {role_arn} is still not assumable after {ROLE_PROPAGATION_TIMEOUT} s; "
                    "the first runs may fail with AccessDenied until IAM has propagated it: plan them again."
                )
                return
            time.sleep(2)
            continue
        waited = time.monotonic() - started
        if waited >= 1:
            log(f"[portal] {role_arn} became assumable after {waited:.0f} s (IAM propagation).")
        return


def bootstrap_administrators(user=None) -> Run | None:
    """Make the administrators with the portal's own credentials, state in the bucket from the
    start. None when their state exists already: from then on the iam administrator runs them."""
    try:
        workspace = administrators_workspace()
    except RunnerUnknown as exc:
        raise TerraformError(str(exc)) from None
    if state_exists(workspace):
        return None
    run = bootstrap_run(workspace, user)
    for line in ensure_service_linked_roles():
        run.append_log(f"[portal] {line}\n")
    try:
        directory = render(workspace, workspace.variables)
        terraform = Terraform(directory, run.append_log)
        terraform.init(workspace.state_key, workspace.module)
        terraform.run("apply", input=False, auto_approve=IsFlagged)
        outputs = json.loads(terraform.capture("output", json=True))
    except TerraformError as exc:
        run.fail(f"{exc}. See the log; running the bootstrap again carries on from the state it wrote.")
        raise
    if caller_trusted(workspace.variables["runner_principal_arns"]):
        wait_until_assumable(identities.role_arn("iam", "admin"), lambda line: run.append_log(line + "\n"))
    run.finish_applied({name: o["value"] for name, o in outputs.items() if not o.get("sensitive")})
    return run


def upgrade_administrators(confirm, user=None) -> Run | None:
    """Plan the administrators' workspace with the portal's own (bootstrap) credentials and, when
    `confirm(plan_text)` says yes, apply exactly that plan: how what the iam administrator may not
    change about itself (its role and policies, the boundaries, the runner policy) changes. None when
    the plan has no changes or is not confirmed."""
    try:
        workspace = administrators_workspace()
    except RunnerUnknown as exc:
        raise TerraformError(str(exc)) from None
    run = bootstrap_run(workspace, user)
    run.append_log("[portal] Upgrading the administrators with the bootstrap identity (the portal's own credentials).\n")
    for line in ensure_service_linked_roles():
        run.append_log(f"[portal] {line}\n")
    try:
        directory = render(workspace, workspace.variables)
        terraform = Terraform(directory, run.append_log)
        terraform.init(workspace.state_key, workspace.module)
        plan_file = directory / "upgrade.tfplan"
        planned = terraform.run("plan", input=False, out=str(plan_file))
        if not any(counts for counts in summarize(planned).values()):
            plan_file.unlink(missing_ok=True)
            run.finish_unchanged()
            return None
        if not confirm(terraform.capture("show", str(plan_file))):
            plan_file.unlink(missing_ok=True)
            run.fail("Not applied: the upgrade was not confirmed.")
            return None
        terraform.run("apply", str(plan_file), input=False)
        plan_file.unlink(missing_ok=True)
        outputs = json.loads(terraform.capture("output", json=True))
    except TerraformError as exc:
        run.fail(f"{exc}. See the log.")
        raise
    run.finish_applied({name: o["value"] for name, o in outputs.items() if not o.get("sensitive")})
    return run
