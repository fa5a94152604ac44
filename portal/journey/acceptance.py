"""bin/aws-acceptance: the service journey (portal/journey/steps.py) in a real AWS sandbox account.

Under a unique prefix (PORTAL_SERVICE_NAME_PREFIX, and a state bucket of its own), with the portal's
own database, queue and two workers on this machine: the platform is brought up, a service is
onboarded from a public image (copied into its repository without Docker, portal/journey/images.py),
the load balancer answers 200 from it, its size and its image change (the new image's page served),
it is decommissioned and the platform destroyed; then the bootstrap's administrators and state bucket
are removed. Each step prints what it took. Whatever fails, what was made is removed as far as it
can be, and what is left is listed (`--clean-up PREFIX` tries again).

It refuses to run against the emulator or without credentials, with one sentence (`--check` only
says whether it would run).
"""

import argparse
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent.parent
IMAGE = "public.ecr.aws/nginx/nginx:stable-alpine"
SERVICE = "hello"
DECLARATION = {"container_port": 80, "cpu": 256, "memory": 512, "desired_count": 1, "health_check_path": "/", "image_tag": "1.0.0"}
BIGGER = {"cpu": 512, "memory": 1024}
NEW_TAG = "1.1.0"
PREFIX_PATTERN = r"acc-[a-z0-9]{1,8}"


def refusal() -> str | None:
    """Why the run cannot start here, in one sentence; None when it can."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        return (
            f"bin/aws-acceptance runs against real AWS only, and AWS_ENDPOINT_URL is set ({endpoint}), which points "
            "at an emulator: unset it and give credentials for a sandbox account."
        )
    import botocore.session

    if botocore.session.Session().get_credentials() is None:
        return (
            "bin/aws-acceptance needs credentials for a sandbox AWS account (AWS_PROFILE, AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or an SSO login), and none were found."
        )
    return None


def caller(region: str) -> dict:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return boto3.client("sts", region_name=region).get_caller_identity()
    except (BotoCoreError, ClientError) as exc:
        raise SystemExit(f"bin/aws-acceptance: AWS refused the credentials it found ({exc}).") from None


def database_url(prefix: str) -> str:
    from portal.local_services import DEFAULT_DATABASE_URL

    parsed = urlparse(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    return urlunparse(parsed._replace(path=f"/portal_acceptance_{prefix.replace('-', '_')}"))


def environment_for(prefix: str, account: str, region: str) -> dict:
    """The settings of this run, given to this process before Django starts and to its workers."""
    from portal.local_services import DEFAULT_REDIS_URL

    folder = ROOT / "var" / "acceptance" / prefix
    return {
        "PORTAL_SERVICE_NAME_PREFIX": prefix,
        "PORTAL_STATE_BUCKET": f"{prefix}-tf-state-{account}",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "DATABASE_URL": database_url(prefix),
        "REDIS_URL": os.environ.get("REDIS_URL", DEFAULT_REDIS_URL),
        "RQ_QUEUE": f"acceptance-{prefix}",
        "PORTAL_WORKSPACES_DIR": str(folder / "workspaces"),
        "PORTAL_LIVE_REPOSITORY": str(folder / "live-repository"),
        # It destroys what it made: the load balancer must let it (and its access logs go with it).
        "PORTAL_DELETION_PROTECTION": "false",
        # A load balancer made for an hour has no name a certificate could be issued for.
        "PORTAL_LOAD_BALANCER_PLAIN_HTTP": "true",
        "PORTAL_DRIFT_INTERVAL": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }


def start_database_and_queue() -> list[subprocess.Popen]:
    """PostgreSQL and Redis on loopback (started when not running, as bin/portal does), and this run's
    database in them. No emulator: every AWS call of this run goes to AWS."""
    from portal import local_services

    started = []
    local_services.STATE_DIR.mkdir(parents=True, exist_ok=True)
    for service in (local_services.Postgres("postgres", os.environ["DATABASE_URL"]), local_services.Redis("redis", os.environ["REDIS_URL"])):
        child = service.start(detach=False)
        if child is None and isinstance(service, local_services.Postgres):
            service.after_start()  # running already: this run's database may still be missing
        started += [child] if child else []
    return started


def people():
    from django.contrib.auth.models import Group, User

    from portal.access.groups import ensure_groups
    from portal.access.teams import join

    ensure_groups()

    def person(name: str, group: str):
        user, _ = User.objects.get_or_create(username=f"acceptance-{name}")
        user.set_unusable_password()
        user.save()
        user.groups.set([Group.objects.get(name=group)])
        join(user, "acceptance")  # the service it registers is this team's; its approver approves for it
        return user

    return {
        "developer": person("developer", "developers"),
        "approver": person("approver", "approvers"),
        "admin": person("admin", "admins"),
        "platform_approver": person("second-admin", "admins"),
    }


def start_workers(prefix: str, count: int = 2) -> list[subprocess.Popen]:
    folder = ROOT / "var" / "acceptance" / prefix
    folder.mkdir(parents=True, exist_ok=True)
    queue = os.environ["RQ_QUEUE"]
    workers = []
    for number in range(1, count + 1):
        log = open(folder / f"worker-{number}.log", "ab")
        workers.append(
            subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), "rqworker", queue, f"{queue}-low", "--name", f"{prefix}-{number}-{time.time_ns() % 10**9}"],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    return workers


def journey_on_aws(journey, image: str) -> None:
    """The steps, in order; the same Journey the emulator's end-to-end test takes."""
    journey.provision_platform()
    journey.onboard(SERVICE, DECLARATION, image_source=image)
    journey.wait_until_served(DECLARATION["image_tag"])
    journey.check_drift_everywhere()  # freshly applied, on AWS: nothing drifted
    journey.change(**BIGGER)
    journey.wait_until_served(DECLARATION["image_tag"])
    journey.push_image(image, NEW_TAG)
    journey.change(image_tag=NEW_TAG)
    journey.wait_until_served(NEW_TAG)
    journey.decommission()
    journey.destroy_platform()


def platform_is_up() -> bool:
    """Whether a platform workspace (workload roles, network, cluster) was last applied, not destroyed."""
    from portal.workspaces.models import Workspace

    workspaces = Workspace.objects.filter(module__in=("workload-roles", "network", "ecs-cluster"))
    return any(workspace.runs.last_applied() is not None for workspace in workspaces)


def clean_up(journey) -> bool:
    """Remove what the run made, as far as it can; True when the platform and the bootstrap's
    administrators and bucket are gone (or were never made)."""
    from portal.catalog.models import ENDED_STATUSES, Service
    from portal.journey import leftovers
    from portal.runs.models import Run

    clean = True
    for service in Service.objects.exclude(status__in=ENDED_STATUSES):
        if not Run.objects.filter(workspace__service=service, kind=Run.Kind.APPLY).applied().exists():
            continue  # never applied: nothing of it is in AWS
        journey.service = service
        try:
            journey.decommission()
        except Exception:
            clean = False
    if clean and platform_is_up():
        try:
            journey.destroy_platform()
        except Exception:
            clean = False
    if not clean:
        journey.out(
            "The platform is not destroyed, so its administrators and state bucket are kept: run "
            f"`bin/aws-acceptance --clean-up {os.environ['PORTAL_SERVICE_NAME_PREFIX']}` to try again."
        )
        return False
    left = leftovers.what_is_left()
    if "administrators" in left:
        try:
            with journey.step("Remove the administrators (terraform destroy with the bootstrap's credentials)"):
                log = ROOT / "var" / "acceptance" / os.environ["PORTAL_SERVICE_NAME_PREFIX"] / "administrators-destroy.log"
                with log.open("a") as handle:
                    leftovers.destroy_administrators(handle.write)
        except Exception:
            clean = False
    if "state bucket" in left:
        try:
            with journey.step("Delete the state bucket, every version of every state in it"):
                leftovers.delete_state_bucket()
        except Exception:
            clean = False
    return clean


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/aws-acceptance", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only say whether the run can start here")
    parser.add_argument("--image", default=IMAGE, help=f"public image to onboard (default {IMAGE}); it must serve nginx's html folder on port 80")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "eu-west-1")))
    parser.add_argument("--clean-up", metavar="PREFIX", help="remove what an earlier run under PREFIX left, and list what remains")
    args = parser.parse_args(argv)

    reason = refusal()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    identity = caller(args.region)
    if args.check:
        print(f"Ready: account {identity['Account']}, region {args.region}, as {identity['Arn']}.")
        return 0
    if args.clean_up and not re.fullmatch(PREFIX_PATTERN, args.clean_up):
        print(f"bin/aws-acceptance: --clean-up takes the prefix a run printed ({PREFIX_PATTERN}), not {args.clean_up!r}.", file=sys.stderr)
        return 2
    prefix = args.clean_up or f"acc-{secrets.token_hex(3)}"
    os.environ.update(environment_for(prefix, identity["Account"], args.region))
    print(f"Acceptance run {prefix}: account {identity['Account']}, region {args.region}, as {identity['Arn']}")
    print(f"  state bucket {os.environ['PORTAL_STATE_BUCKET']}, database {urlparse(os.environ['DATABASE_URL']).path[1:]}, logs under var/acceptance/{prefix}/")

    children = start_database_and_queue()
    workers = []
    try:
        import django

        django.setup()
        from django.core.management import call_command

        from portal.journey import leftovers
        from portal.journey.steps import Journey

        call_command("migrate", verbosity=0, interactive=False)
        workers = start_workers(prefix)
        journey = Journey(**people(), timeout=2400)
        finished = False
        if not args.clean_up:
            try:
                journey_on_aws(journey, args.image)
                finished = True
            except Exception as exc:  # every failure is said by its step; now remove what was made
                print(f"\nThe run stopped: {exc}\nRemoving what it made...")
        clean = clean_up(journey)
        left = leftovers.what_is_left()
        print("\n" + journey.report())
        print("\n" + leftovers.described(left))
        return 0 if finished and clean and not left else 1
    finally:
        from portal.local_services import stop_children

        stop_children(workers + children)


if __name__ == "__main__":
    sys.exit(main())
