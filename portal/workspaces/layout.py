"""Which platform workspaces exist, where they live, and what goes into them (a service's own
workspaces are laid out by portal.catalog.layout).

The paths themselves, and the state keys derived from them, are in portal.workspaces.paths (no
database there); the administrators as declared in portal.workspaces.declared. Workspaces read what they need from
the platform through `terraform_remote_state` on the platform's state keys (see README).
"""

import json
import re

from django.conf import settings

from portal.workspaces.declared import (  # noqa: F401 (also read from here)
    administrators_in,
    declared_administrators,
    default_administrators,
    last_applied_variables,
)
from portal.workspaces.identities import account_id, policy_arn
from portal.workspaces.models import Workspace
from portal.workspaces.paths import (  # noqa: F401 (the paths, also read from here)
    STATE_KEY_PREFIXES,
    access_logs_path,
    cluster_path,
    iam_admins_path,
    network_path,
    prefix,
    shared_state_keys,
    shared_state_paths,
    state_bucket_path,
    state_key,
    workload_roles_path,
)


def access_logs_bucket() -> str:
    """S3 bucket names are global: the account and the Region make it this platform's."""
    return f"{prefix()}-{account_id()}-{settings.AWS_REGION}-lb-logs"


def remote_state_config() -> dict:
    """How a workspace reads another workspace's outputs (terraform_remote_state, S3 backend)."""
    return {
        "bucket": settings.STATE_BUCKET,
        "region": settings.AWS_REGION,
        # The emulator serves buckets by path, not by virtual host name.
        "use_path_style": settings.ON_EMULATOR,
    }


def state_bucket_workspace() -> Workspace:
    workspace, _ = Workspace.objects.update_or_create(
        path=state_bucket_path(),
        defaults={
            "module": "remote-state",
            "apply_order": 0,
            "variables": {
                "bucket_name": settings.STATE_BUCKET,
                # A TLS-only policy would lock us out of an emulator that speaks plain HTTP.
                "require_tls": not settings.AWS_ENDPOINT_URL.startswith("http://"),
            },
        },
    )
    return workspace


# Where the iam administrator makes the workloads' roles: the modules' default (iam-service-admins
# lets the ecs and vpc administrators pass roles under it and no others).
WORKLOAD_ROLE_PATH = "/art-service/workloads/"


def flow_logs_role_arn() -> str:
    """The role VPC Flow Logs write with, as the workload-roles module names it
    (`<path><prefix>-vpc-flow-logs`): the network names it rather than reading it from the roles'
    state, so it may be planned once the role exists, before the roles' apply ends."""
    return f"arn:{settings.AWS_PARTITION}:iam::{account_id()}:role{WORKLOAD_ROLE_PATH}{prefix()}-vpc-flow-logs"


def granted_service_secrets() -> dict[str, list[str]]:
    """ECS service name -> the secret ARNs its own execution role may read, as last applied to the
    workload roles workspace (each service's changes add or replace its own entry)."""
    workspace = Workspace.objects.filter(path=workload_roles_path()).first()
    variables = last_applied_variables(workspace) if workspace else None
    return dict((variables or {}).get("service_secrets") or {})


def workload_roles_variables(service_secrets: dict[str, list[str]]) -> dict:
    return {
        "name_prefix": prefix(),
        # Made by the administrators' workspace; the only boundary the iam administrator may give
        # roles under the workloads' path.
        "permissions_boundary_arn": policy_arn("workload-boundary"),
        "service_secrets": {name: sorted(set(arns)) for name, arns in sorted(service_secrets.items()) if arns},
    }


def workload_roles_grant(service_name: str, arns: list[str]) -> tuple[Workspace, dict] | None:
    """The plan of the workload roles workspace that grants `service_name`'s own execution role
    exactly `arns` (none: the role goes), or None when that is already the grant."""
    granted = granted_service_secrets()
    if sorted(set(arns)) == sorted(set(granted.get(service_name, []))):
        return None
    workspace = Workspace.objects.filter(path=workload_roles_path()).first()
    if workspace is None:  # no platform yet: the service's own plan says what to do
        return None
    return workspace, workload_roles_variables({**granted, service_name: arns})


class RunnerUnknown(Exception):
    """The identity the portal runs as cannot be named as a trust policy's principal."""


def runner_principal_arns() -> list[str]:
    """Who may assume the roles: configured; else whom the administrators trust as last applied;
    else (the bootstrap) the identity the portal runs as. Once the bootstrap is done the portal's
    own identity may do nothing but assume roles, so it is not asked again."""
    if settings.RUNNER_PRINCIPAL_ARNS:
        return list(settings.RUNNER_PRINCIPAL_ARNS)
    workspace = Workspace.objects.filter(path=iam_admins_path()).first()
    return trusted_runners(last_applied_variables(workspace) if workspace else None)


def trusted_runners(applied: dict | None) -> list[str]:
    """runner_principal_arns() from the administrators' last applied inputs (`applied`, None: never
    applied), for a caller that read them already."""
    if settings.RUNNER_PRINCIPAL_ARNS:
        return list(settings.RUNNER_PRINCIPAL_ARNS)
    if applied and applied.get("runner_principal_arns"):
        return list(applied["runner_principal_arns"])
    return [caller_principal_arn()]


def caller_principal_arn() -> str:
    """The IAM principal the portal's own credentials belong to, as a trust policy names it."""
    from botocore.exceptions import ClientError

    from portal.core.aws import client

    arn = client("sts").get_caller_identity()["Arn"]
    # A role session (an instance's, a task's, IAM Identity Center's) is trusted through its role,
    # whose ARN carries the role's path (role/aws-reserved/sso.amazonaws.com/<region>/...), which the
    # session's ARN leaves out; IAM refuses a trust policy naming the role without it ("Invalid
    # principal"). Only IAM knows the path.
    session = re.fullmatch(r"arn:([a-z-]+):sts::(\d{12}):assumed-role/([^/]+)/.+", arn)
    if not session:
        return arn
    try:
        return client("iam").get_role(RoleName=session[3])["Role"]["Arn"]
    except ClientError as exc:
        raise RunnerUnknown(
            f"The portal runs as a session of the role {session[3]}, and its ARN (with the role's path) could not "
            f"be read ({exc.response.get('Error', {}).get('Code', 'error')} on iam:GetRole). Set "
            "PORTAL_RUNNER_PRINCIPAL_ARNS to the role's whole ARN, e.g. "
            f"arn:{session[1]}:iam::{session[2]}:role/<path>/{session[3]}."
        ) from None


def caller_trusted(principal_arns: list[str]) -> bool:
    """Whether the portal's own credentials are among these principals."""
    try:
        return caller_principal_arn() in principal_arns
    except RunnerUnknown:
        return False


def administrators_variables(administrators: dict[str, dict], runners: list[str] | None = None) -> dict:
    """The inputs of the administrators workspace for these declared administrators (`runners`: the
    runner_principal_arns() the caller read already)."""
    return {
        "name_prefix": prefix(),
        "administrators": {t: {"name_patterns": list(a["name_patterns"])} for t, a in sorted(administrators.items())},
        "state_bucket_name": settings.STATE_BUCKET,
        "state_key_prefixes": {t: STATE_KEY_PREFIXES[t] for t in sorted(administrators)},
        "shared_state_keys": list(shared_state_keys()),
        "runner_principal_arns": runner_principal_arns() if runners is None else runners,
        # moto sees "*" as the resource of most calls; see infra_modules/iam-service-admins.
        "emulator_wildcard_resources": settings.ON_EMULATOR,
        # moto neither keeps a user's boundary nor implements PutUserPermissionsBoundary.
        "user_permissions_boundary": not settings.ON_EMULATOR,
    }


def kept(path: str, fields: dict, row: Workspace | None) -> Workspace:
    """The workspace at `path` with these fields, `row` being what the database holds (None: no
    row): written only when they differ. The pages that show the platform ask this on every view;
    writing each row every time held its lock and cost ten queries a view."""
    stored = {**fields, "variables": json.loads(json.dumps(fields["variables"]))}  # tuples as JSON keeps them
    if row is not None and all(getattr(row, name) == value for name, value in stored.items()):
        return row
    return Workspace.objects.update_or_create(path=path, defaults=fields)[0]


def administrators_workspace() -> Workspace:
    """The administrators' workspace, with the declared administrators and today's settings."""
    row = Workspace.objects.filter(path=iam_admins_path()).first()
    applied = last_applied_variables(row) if row else None
    variables = administrators_variables(administrators_in(row, applied), runners=trusted_runners(applied))
    return kept(iam_admins_path(), {"module": "iam-service-admins", "variables": variables, "apply_order": 1}, row)


# The cluster's instance type and size: platform settings an admin changes through a planned, approved
# change of the cluster workspace (portal.capacity). What is in effect is what that workspace last
# applied; before its first apply, the configured defaults (PORTAL_CLUSTER_*).
CLUSTER_SIZING = ("instance_type", "min_size", "max_size", "desired_capacity")
# What a cluster applied before these were inputs of the workspace runs: the ecs-cluster module's
# defaults of the time, without ENI trunking.
CLUSTER_SIZING_BEFORE_INPUTS = {"instance_type": "t3.small", "min_size": 1, "max_size": 3, "desired_capacity": 1, "awsvpc_trunking": False}


def default_cluster_sizing() -> dict:
    return {name: settings.CLUSTER_DEFAULTS[name] for name in CLUSTER_SIZING}


def applied_cluster_inputs() -> dict:
    """The cluster's sizing and ENI trunking as last applied (CLUSTER_SIZING and `awsvpc_trunking`), or
    the configured defaults before the cluster workspace's first apply."""
    workspace = Workspace.objects.filter(path=cluster_path()).first()
    applied = last_applied_variables(workspace) if workspace else None
    if applied is None:
        return {**default_cluster_sizing(), "awsvpc_trunking": settings.CLUSTER_AWSVPC_TRUNKING}
    return {name: applied.get(name, before) for name, before in CLUSTER_SIZING_BEFORE_INPUTS.items()}


def declared_cluster_sizing(applied: dict | None = None) -> dict:
    """The sizing the next plan of the cluster keeps: what is applied (`applied`: the
    applied_cluster_inputs() the caller read already)."""
    applied = applied or applied_cluster_inputs()
    return {name: applied[name] for name in CLUSTER_SIZING}


def cluster_variables(sizing: dict) -> dict:
    """The cluster workspace's inputs with this sizing; ENI trunking follows the setting (an
    account-wide choice, see the README)."""
    return {
        "name": prefix(),
        "state": remote_state_config(),
        "network_state_key": state_key(network_path()),
        "roles_state_key": state_key(workload_roles_path()),
        "deletion_protection": settings.PLATFORM_DELETION_PROTECTION,
        "instance_refresh_min_healthy_percentage": settings.PLATFORM_INSTANCE_REFRESH_MIN_HEALTHY_PERCENT,
        **{name: sizing[name] for name in CLUSTER_SIZING},
        "awsvpc_trunking": settings.CLUSTER_AWSVPC_TRUNKING,
        "certificate_arn": settings.LOAD_BALANCER_CERTIFICATE_ARN,
        "internal": settings.LOAD_BALANCER_INTERNAL,
        "access_logs_bucket": access_logs_bucket() if settings.LOAD_BALANCER_ACCESS_LOGS else None,
    }


def platform_needs() -> dict[str, set[str]]:
    """What each platform workspace needs applied before it is planned: the workspaces whose outputs
    it reads (terraform_remote_state) or whose resources AWS checks when it creates its own. Those
    that need nothing still pending are provisioned side by side (portal.platform.provisioning).

    Every run acts with an administrator, whose policies the administrators' workspace applies, so
    that one comes first. The network's flow logs write with a role of the workloads' roles. The
    cluster reads the network and the roles, and its load balancer's access logs need the bucket
    and its policy in place: AWS checks that the load balancer may write there when the attribute
    is set (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html)."""
    admins, roles, network = iam_admins_path(), workload_roles_path(), network_path()
    access_logs = [access_logs_path()] if settings.LOAD_BALANCER_ACCESS_LOGS else []
    return {
        admins: set(),
        roles: {admins},
        **{path: {admins} for path in access_logs},
        network: {admins, roles} if settings.PLATFORM_FLOW_LOGS else {admins},
        cluster_path(): {admins, roles, network, *access_logs},
    }


def platform_early_needs() -> dict[str, set[str]]:
    """The needs of platform_needs() a workspace may start on while they are still being applied,
    once what it uses of them is in place (portal.platform.provisioning.ready_before_applied): the
    network uses of the roles only its flow logs' role, which it names (flow_logs_role_arn); the
    cluster of the access log bucket only the bucket's policy. The cluster reads the roles' and the
    network's outputs, which their state holds once their apply has ended."""
    early = {network_path(): {workload_roles_path()}} if settings.PLATFORM_FLOW_LOGS else {}
    if settings.LOAD_BALANCER_ACCESS_LOGS:
        early[cluster_path()] = {access_logs_path()}
    return early


def sync_platform_workspaces(cluster_inputs: dict | None = None) -> list[Workspace]:
    """The shared platform after the state bucket, in apply order: the administrators (made by the
    bootstrap, then run by the iam administrator), the workloads' roles, the load balancer's access
    log bucket, network, cluster (`cluster_inputs`: the applied_cluster_inputs() the caller read)."""
    access_logs = settings.LOAD_BALANCER_ACCESS_LOGS
    wanted = [
        (
            workload_roles_path(),
            "workload-roles",
            workload_roles_variables(granted_service_secrets()),
        ),
        *(
            [
                (
                    access_logs_path(),
                    "access-logs-bucket",
                    {
                        "bucket_name": access_logs_bucket(),
                        "log_prefixes": [prefix()],  # the load balancer's name, its access_logs prefix
                        "require_tls": not settings.AWS_ENDPOINT_URL.startswith("http://"),
                        "force_destroy": not settings.PLATFORM_DELETION_PROTECTION,
                    },
                )
            ]
            if access_logs
            else []
        ),
        (
            network_path(),
            "network",
            {
                "name": prefix(),
                "nat_mode": settings.PLATFORM_NAT_MODE,
                "enable_flow_logs": settings.PLATFORM_FLOW_LOGS,
                "alb_ingress_cidrs": settings.LOAD_BALANCER_INGRESS_CIDRS,
                "flow_logs_role_arn": flow_logs_role_arn() if settings.PLATFORM_FLOW_LOGS else None,
            },
        ),
        (cluster_path(), "ecs-cluster", cluster_variables(declared_cluster_sizing(cluster_inputs))),
    ]
    rows = Workspace.objects.in_bulk([path for path, _, _ in wanted], field_name="path")
    return [administrators_workspace()] + [
        kept(path, {"module": module, "variables": variables, "apply_order": order}, rows.get(path))
        for order, (path, module, variables) in enumerate(wanted, start=2)
    ]
