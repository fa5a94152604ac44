"""Least privilege, proven on the emulator with IAM enforcement on (moto's `reset-auth`, the
runtime form of INITIAL_NO_AUTH_ACTION_COUNT): the portal and its worker hold only the runner's
credentials, which may do nothing but assume the administrators' roles. The platform and a
service apply through those roles, an admin changes an administrator through a planned, approved
change, and every identity is tried against what it must and must not do.

What moto's evaluation cannot check (conditions, permissions boundaries, session policies, resource
ARNs other than S3 objects and IAM roles, and what AWS checks on the side of a call) the test
evaluates as AWS would at its end, on every call the flow made (tests/iam/); see the README, "What
the IAM evaluation checks, and what only AWS can"."""

import os
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import boto3
import django_rq
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from django.conf import settings
from rq import Queue, Worker

from portal.catalog.onboarding import register_service
from portal.changes.workflow import approve
from portal.core import aws
from portal.platform.provisioning import provision_platform, wait_for
from portal.runs.models import Run, RunStatus
from portal.workspaces import identities
from portal.workspaces.layout import declared_administrators, iam_admins_path, last_applied_variables, workload_roles_path
from portal.workspaces.models import Workspace
from tests.conftest import ROOT, SESSION_WORKERS, wait_until
from tests.environment import RECORDER
from tests.forget_platform import forget_the_platform
from tests.iam import rendering
from tests.iam.evaluation import Evaluation
from tests.iam.identities import Identities
from tests.iam.world import World
from tests.processes import stop_processes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
QUEUE = f"{settings.RQ_QUEUE}-least-privilege"
BUCKET = settings.STATE_BUCKET
PREFIX = settings.SERVICE_NAME_PREFIX


@contextmanager
def iam_enforced():
    previous = requests.post(f"{ENDPOINT}/moto-api/reset-auth", data=b"0", timeout=10).json()
    try:
        yield
    finally:
        restore = previous["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]
        requests.post(f"{ENDPOINT}/moto-api/reset-auth", data=str(restore).encode(), timeout=10)


def session_of(key_id: str, secret: str, token: str | None = None) -> boto3.Session:
    return boto3.Session(aws_access_key_id=key_id, aws_secret_access_key=secret, aws_session_token=token, region_name=settings.AWS_REGION)


def client_of(session: boto3.Session, service: str):
    return session.client(service, endpoint_url=ENDPOINT, config=Config(retries={"max_attempts": 1}))


def assumed(runner: boto3.Session, role_arn: str) -> boto3.Session:
    credentials = client_of(runner, "sts").assume_role(RoleArn=role_arn, RoleSessionName="matrix")["Credentials"]
    return session_of(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])


@pytest.fixture
def aws_shaped(settings, monkeypatch):
    """The service rendered as the portal renders it for AWS, where the emulator (with
    portal/emulator.py's mends) can apply it: autoscaling on CPU, tasks placed by the capacity
    provider, a health check grace period. In this process and in the worker's."""
    for name, value in {
        "PORTAL_SERVICE_AUTOSCALING": "true",
        "PORTAL_SERVICE_CAPACITY_PROVIDER": "true",
        "PORTAL_SERVICE_HEALTH_CHECK_GRACE_SECONDS": "30",
    }.items():
        monkeypatch.setenv(name, value)
    settings.SERVICE_AUTOSCALING = True
    settings.SERVICE_CAPACITY_PROVIDER = True
    settings.SERVICE_HEALTH_CHECK_GRACE_SECONDS = 30


@pytest.fixture
def service_secrets() -> dict[str, str]:
    """What a team gives its service: a Secrets Manager secret under a customer managed KMS key, and
    an SSM parameter, made with the emulator's own credentials before the runs start."""
    owner = session_of("emulator", "emulator-secret")
    key = client_of(owner, "kms").create_key(Description="art-service team key")["KeyMetadata"]["Arn"]
    secret = client_of(owner, "secretsmanager").create_secret(Name=f"{PREFIX}/least-privilege/db-password", SecretString="not-a-real-password", KmsKeyId=key)[
        "ARN"
    ]
    client_of(owner, "ssm").put_parameter(Name=f"/{PREFIX}/least-privilege/api-token", Value="not-a-real-token", Type="String")
    parameter = f"arn:aws:ssm:{settings.AWS_REGION}:{identities.account_id()}:parameter/{PREFIX}/least-privilege/api-token"
    return {"DB_PASSWORD": secret, "API_TOKEN": parameter}


@pytest.fixture
def as_runner(state_bucket, runner_credentials, monkeypatch):
    """This process and its worker act with the runner's credentials only."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, runner_credentials[name])
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    aws._sessions.clear()
    yield
    aws._sessions.clear()
    boto3.DEFAULT_SESSION = None


@pytest.fixture
def runner_worker(as_runner, monkeypatch, tmp_path):
    """A real worker with the runner's credentials, on a queue of its own."""
    from django.db import connection

    redis = django_rq.get_connection(settings.RQ_QUEUE)
    queue = Queue(QUEUE, connection=redis)
    monkeypatch.setattr(django_rq, "get_queue", lambda *args, **kwargs: queue)
    db = connection.settings_dict
    env = {
        **os.environ,
        "RQ_QUEUE": QUEUE,
        "DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    names = [f"least-privilege-{os.getpid()}-{number}" for number in range(1, SESSION_WORKERS + 1)]  # as many as bin/portal's
    workers = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "rqworker", QUEUE, "--name", name],
            env=env,
            cwd=ROOT,
            stdout=open(Path(tmp_path) / f"{name}.log", "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for name in names
    ]
    wait_until(lambda: set(names) <= {w.name for w in Worker.all(connection=redis)}, 30, message="the runner's workers")
    yield workers
    # A warm shutdown, as before; one that does not end in time is an error, and the worker is killed
    # with its work-horse and terraform (groups of their own) rather than left running.
    assert stop_processes(workers, grace=60), "the runner's workers did not stop within 60 s of SIGTERM"
    queue.empty()


@pytest.fixture
def leaves_no_platform(aws_shaped, runner_worker):
    """What the flow made is forgotten again (tests/forget_platform.py): later tests of the session
    start from an account without a platform, as tests/e2e/runner/test_provisioning_recovery.py needs."""
    yield
    forget_the_platform()


def failures(runs) -> str:
    return "\n\n".join(f"{r.workspace.path}: {r.status} {r.error}\n{r.log[-3000:]}" for r in runs if r.status == RunStatus.FAILED)


# --- the matrix --------------------------------------------------------------------------------------
def attempt(call) -> str:
    try:
        call()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        # A HEAD response has no body: its 403 is the refusal.
        if code in ("AccessDenied", "AccessDeniedException", "InvalidClientTokenId", "UnauthorizedOperation", "403"):
            return "denied"
        return f"allowed (then {code})"  # authorised; the call itself failed for another reason
    return "allowed"


def matrix(runner: boto3.Session, admin_role_arn, state_role_arn) -> list[tuple[str, str, str, str]]:
    """(identity, action, expected, observed) for every pair tried."""
    ecs, ecr, iam = (assumed(runner, admin_role_arn(t)) for t in ("ecs", "ecr", "iam"))
    ecs_state, ecr_state = assumed(runner, state_role_arn("ecs")), assumed(runner, state_role_arn("ecr"))
    iam_role_name = f"{PREFIX}-iam-admin"
    admin_access = "arn:aws:iam::aws:policy/AdministratorAccess"
    service_key = f"ecs/services/{PREFIX}-matrix-probe/terraform.tfstate"  # an ecs key no workspace uses: the writes below would spoil a real state
    network_key = f"vpc/{PREFIX}-network/terraform.tfstate"
    trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    boundary = identities.policy_arn("admin-boundary")

    def s3(session):
        return client_of(session, "s3")

    tries = [
        (
            "runner",
            "sts:AssumeRole the ecs role",
            "allowed",
            lambda: client_of(runner, "sts").assume_role(RoleArn=admin_role_arn("ecs"), RoleSessionName="matrix"),
        ),
        ("runner", "ecs:ListClusters", "denied", lambda: client_of(runner, "ecs").list_clusters()),
        ("runner", "iam:ListUsers", "denied", lambda: client_of(runner, "iam").list_users()),
        ("runner", "s3:GetObject a state key", "denied", lambda: s3(runner).get_object(Bucket=BUCKET, Key=network_key)),
        ("ecs role", "ecs:ListClusters", "allowed", lambda: client_of(ecs, "ecs").list_clusters()),
        ("ecs role", "iam:CreateUser", "denied", lambda: client_of(ecs, "iam").create_user(UserName=f"{PREFIX}-intruder")),
        ("ecs role", "iam:CreateRole", "denied", lambda: client_of(ecs, "iam").create_role(RoleName=f"{PREFIX}-intruder", AssumeRolePolicyDocument=trust)),
        (
            "ecs role",
            "iam:AttachRolePolicy AdministratorAccess to itself",
            "denied",
            lambda: client_of(ecs, "iam").attach_role_policy(RoleName=f"{PREFIX}-ecs-admin", PolicyArn=admin_access),
        ),
        ("ecs role", "s3:DeleteBucket the state bucket", "denied", lambda: s3(ecs).delete_bucket(Bucket=BUCKET)),
        ("ecs role", "s3:DeleteBucketPolicy the state bucket", "denied", lambda: s3(ecs).delete_bucket_policy(Bucket=BUCKET)),
        ("ecs role", "s3:GetObject a state key", "denied", lambda: s3(ecs).get_object(Bucket=BUCKET, Key=network_key)),
        ("ecs role", "ecr:CreateRepository", "denied", lambda: client_of(ecs, "ecr").create_repository(repositoryName=f"{PREFIX}-intruder")),
        ("ecr role", "ecr:DescribeRepositories", "allowed", lambda: client_of(ecr, "ecr").describe_repositories()),
        ("ecr role", "ecs:CreateCluster", "denied", lambda: client_of(ecr, "ecs").create_cluster(clusterName=f"{PREFIX}-intruder")),
        ("ecr role", "iam:CreateUser", "denied", lambda: client_of(ecr, "iam").create_user(UserName=f"{PREFIX}-intruder")),
        ("iam role", "iam:ListRoles", "allowed", lambda: client_of(iam, "iam").list_roles()),
        (
            "iam role",
            "iam:AttachRolePolicy AdministratorAccess to itself",
            "denied",
            lambda: client_of(iam, "iam").attach_role_policy(RoleName=iam_role_name, PolicyArn=admin_access),
        ),
        (
            "iam role",
            "iam:PutRolePolicy on itself",
            "denied",
            lambda: client_of(iam, "iam").put_role_policy(
                RoleName=iam_role_name,
                PolicyName="more",
                PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
            ),
        ),
        (
            "iam role",
            "iam:DeleteRolePermissionsBoundary of itself",
            "denied",
            lambda: client_of(iam, "iam").delete_role_permissions_boundary(RoleName=iam_role_name),
        ),
        (
            "iam role",
            "iam:PutRolePermissionsBoundary on itself",
            "denied",
            lambda: client_of(iam, "iam").put_role_permissions_boundary(RoleName=iam_role_name, PermissionsBoundary=admin_access),
        ),
        ("iam role", "iam:CreateAccessKey", "denied", lambda: client_of(iam, "iam").create_access_key(UserName=f"{PREFIX}-ecs-admin")),
        ("iam role", "s3:DeleteBucket the state bucket", "denied", lambda: s3(iam).delete_bucket(Bucket=BUCKET)),
        ("ecs state role", "s3:PutObject its type's key", "allowed", lambda: s3(ecs_state).put_object(Bucket=BUCKET, Key=service_key, Body=b"{}")),
        ("ecs state role", "s3:GetObject the network's key (remote state)", "allowed", lambda: s3(ecs_state).get_object(Bucket=BUCKET, Key=network_key)),
        ("ecs state role", "s3:PutObject the network's key", "denied", lambda: s3(ecs_state).put_object(Bucket=BUCKET, Key=network_key, Body=b"{}")),
        ("ecs state role", "s3:DeleteObject its state (not the lockfile)", "denied", lambda: s3(ecs_state).delete_object(Bucket=BUCKET, Key=service_key)),
        ("ecs state role", "s3:DeleteObject its lockfile", "allowed", lambda: s3(ecs_state).delete_object(Bucket=BUCKET, Key=f"{service_key}.tflock")),
        ("ecs state role", "s3:DeleteBucket the state bucket", "denied", lambda: s3(ecs_state).delete_bucket(Bucket=BUCKET)),
        ("ecs state role", "s3:DeleteObjectVersion", "denied", lambda: s3(ecs_state).delete_object(Bucket=BUCKET, Key=network_key, VersionId="null")),
        ("ecr state role", "s3:PutObject an ecs service's key", "denied", lambda: s3(ecr_state).put_object(Bucket=BUCKET, Key=service_key, Body=b"{}")),
        (
            "ecr state role",
            "s3:PutObject the administrators' key",
            "denied",
            lambda: s3(ecr_state).put_object(Bucket=BUCKET, Key=f"iam/service-admins/{PREFIX}/terraform.tfstate", Body=b"{}"),
        ),
        ("ecr state role", "iam:DeletePolicy the boundary", "denied", lambda: client_of(ecr_state, "iam").delete_policy(PolicyArn=boundary)),
    ]
    return [(who, what, expected, attempt(call)) for who, what, expected, call in tries]


def test_the_platform_and_a_service_apply_through_the_roles_and_each_identity_is_held_to_its_part(
    aws_shaped, service_secrets, runner_worker, runner_credentials, make_user, service_form_data, leaves_no_platform, tmp_path
):
    admin, other_admin = make_user("admin", "admins"), make_user("other-admin", "admins")
    developer = make_user("developer", "developers")

    with iam_enforced():
        # The portal's own credentials cannot act, even to read the state they bootstrapped.
        runner = session_of(runner_credentials["AWS_ACCESS_KEY_ID"], runner_credentials["AWS_SECRET_ACCESS_KEY"])
        assert attempt(lambda: client_of(runner, "s3").head_object(Bucket=BUCKET, Key=f"iam/service-admins/{PREFIX}/terraform.tfstate")) == "denied"

        # The platform, each workspace as its type: administrators and workload roles as iam,
        # network as vpc, cluster as ecs.
        started = RECORDER.mark()
        changes = provision_platform(requester=admin, approver=other_admin)
        runs = [run for change in changes for run in change.runs.all()]
        assert not failures(runs), failures(runs)
        assert {run.workspace.path: run.identity_type for run in runs if run.role_arn} == {
            f"iam/service-admins/{PREFIX}": "iam",
            f"iam/workload-roles/{PREFIX}": "iam",
            f"s3/access-logs/{PREFIX}": "s3",
            f"vpc/{PREFIX}-network": "vpc",
            f"ecs/clusters/{PREFIX}-cluster": "ecs",
        }

        # A service with secrets: the grant of its own execution role as iam (a platform workspace:
        # an admin approves), its repository as ecr, the service itself as ecs.
        _, onboarding = register_service(developer, **{**service_form_data, "name": "least-privilege", "secrets": service_secrets})
        wait_for(onboarding, {RunStatus.AWAITING_APPROVAL}, timeout=300)
        approve(onboarding, other_admin)
        wait_for(onboarding, {RunStatus.APPLIED}, timeout=600)
        grant_run, repository_run, service_run = onboarding.runs_in_order()
        assert (grant_run.identity_type, repository_run.identity_type, service_run.identity_type) == ("iam", "ecr", "ecs")
        assert repository_run.role_arn == identities.role_arn("ecr") and "Apply complete!" in repository_run.log
        assert f"Acting as the ecs administrator: {identities.role_arn('ecs')} (session portal-run-{service_run.pk})" in service_run.log

        # An admin retires an administrator no workspace uses; another admin approves; the iam role
        # applies it, deleting that type's user, group, roles and policies.
        from portal.administrators.roster import propose_change

        wanted = {t: a for t, a in declared_administrators().items() if t != "logs"}
        retire = propose_change(admin, wanted, "Retire the logs administrator")
        wait_for(retire.change, {RunStatus.AWAITING_APPROVAL}, timeout=300)
        approve(retire.change, other_admin)
        wait_for(retire.change, {RunStatus.APPLIED}, timeout=300)
        assert Run.objects.get(pk=retire.pk).identity_type == "iam"
        assert "logs" not in declared_administrators()
        as_iam = client_of(assumed(runner, identities.role_arn("iam")), "iam")
        left = {role["RoleName"] for role in as_iam.list_roles(PathPrefix=identities.admin_path())["Roles"]}
        assert f"{PREFIX}-ecr-admin" in left and not {f"{PREFIX}-logs-admin", f"{PREFIX}-logs-state"} & left

        # The flow ends here; the matrix below makes refused calls on purpose.
        flow = dict(
            calls=RECORDER.since(started, RECORDER.mark()),
            administrators=last_applied_variables(Workspace.objects.get(path=iam_admins_path())),
            workload_roles=last_applied_variables(Workspace.objects.get(path=workload_roles_path())),
        )
        tried = matrix(runner, lambda t: identities.role_arn(t, "admin"), lambda t: identities.role_arn(t, "state"))

    width = max(len(who) + len(what) for who, what, _, _ in tried) + 3
    print("\nidentity x action on the emulator (expected / observed):")
    for who, what, expected, observed in tried:
        print(f"  {(who + ': ' + what).ljust(width)} {expected:8} {observed}")
    # Before the platform is destroyed again (leaves_no_platform): the evaluation reads what the
    # calls made (launch templates, tags, policies) from the emulator.
    evaluate_as_aws(flow, tmp_path)
    unexpected = [row for row in tried if not row[3].startswith(row[2])]
    assert not unexpected, unexpected


def evaluate_as_aws(flow: dict, tmp_path: Path) -> None:
    """Every call the flow made on the emulator, and what AWS checks on the side of them, evaluated
    as AWS would for the identity that made it: its identity policies, its permissions boundary, its
    session policy, the conditions (tests/iam/)."""
    started = time.monotonic()
    documents = rendering.plan_documents("iam-service-admins", iam_admins_path(), flow["administrators"], tmp_path / "admins")
    documents += rendering.plan_documents("workload-roles", workload_roles_path(), flow["workload_roles"], tmp_path / "roles")
    world = World(settings.AWS_REGION, ENDPOINT, RECORDER.since(0))
    role_arns = {name: arn for (kind, name), arn in world.iam_arns.items() if kind == "role"}
    for_aws = rendering.sources(documents, world.account, role_arns)
    # Only the administrators' policies (both of each type) may read otherwise on the emulator than on AWS.
    differing = rendering.differing_from_emulator(documents, world.account, role_arns)
    assert all(".aws_iam_policy.admin[" in address or ".aws_iam_policy.base[" in address for address in differing), differing

    report = Evaluation(flow["calls"], Identities(for_aws), world).run()
    print(f"\n{report.summary()}\nEvaluated in {time.monotonic() - started:.1f} s.")
    for (identity, action, resource, operation, why), count in Counter(
        (row.identity, row.action, row.resource, row.operation, why) for row, why in report.tolerated
    ).items():
        print(f"  tolerated (x{count}): {identity}: {action} on {resource} ({operation}): {why}")
    for row in report.refused_on_emulator:
        print(f"  refused on the emulator too (the caller saw the refusal): {row.identity}: {row.action} on {row.resource} ({row.operation})")
    assert not report.allowed_but_refused_on_emulator, report.allowed_but_refused_on_emulator
    if report.harness_errors:
        pytest.fail("The evaluation could not evaluate these calls (a harness gap):\n" + "\n".join(report.harness_errors), pytrace=False)
    if report.denied:
        pytest.fail(f"AWS would refuse these (identity, action, resource, what is missing):\n{report.denial_text()}", pytrace=False)
