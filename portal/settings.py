"""Settings read from the environment, with defaults that match `bin/portal` (the local stack)."""

import ipaddress
import logging
import os
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

from portal.access import sso_settings
from portal.approvals.rules import approval_policy
from portal.capacity import defaults as cluster_capacity_defaults
from portal.core import setting_readers as read
from portal.costs.config import cost_assumptions
from portal.notifications.targets import parse_networks
from portal.policy import config as policy_config

# Every setting below is read by one of portal.core.setting_readers' readers: a value that is not what
# the setting takes stops the portal at start, saying which setting, what it got and what it takes.
BASE_DIR = Path(__file__).resolve().parent.parent
STATE_DIR = read.path("PORTAL_STATE_DIR", BASE_DIR / "var")


def database_from_url(url: str) -> dict:
    parsed = urlparse(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parsed.path.lstrip("/"),
        "USER": parsed.username or "",
        "PASSWORD": parsed.password or "",
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        "CONN_MAX_AGE": 60,
    }


# Off unless the local stack (bin/portal) turns it on: DEBUG pages show settings and tracebacks.
DEBUG = read.boolean("DJANGO_DEBUG", False)
DEVELOPMENT_SECRET_KEY = "local-development-only-not-a-secret"
SECRET_KEY = read.text("DJANGO_SECRET_KEY", DEVELOPMENT_SECRET_KEY, allow_empty=False)
if not DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set: the portal does not serve with its built-in development key unless "
        "DJANGO_DEBUG=1 (bin/portal sets it for the local stack). Set DJANGO_SECRET_KEY to a long random value."
    )
# By default, also the host the web server listens on when it is a particular one
# (PORTAL_WEB_ADDRESS=192.168.1.5:8000, see portal/gunicorn_conf.py), so that the portal answers at
# the address bin/portal prints.
WEB_ADDRESS = read.text("PORTAL_WEB_ADDRESS", "127.0.0.1:8000", allow_empty=False)
_default_hosts = ["127.0.0.1", "localhost", "testserver"]
_web_host = "" if WEB_ADDRESS.startswith(("unix:", "fd://")) else WEB_ADDRESS.rpartition(":")[0].strip("[]")
if _web_host not in ("", "0.0.0.0", "::", *_default_hosts):
    _default_hosts.append(_web_host)
ALLOWED_HOSTS = read.comma_list("DJANGO_ALLOWED_HOSTS", ",".join(_default_hosts), accepts_item="host names")

# Served over HTTPS (PORTAL_HTTPS=1, e.g. behind a TLS-terminating proxy that sets X-Forwarded-Proto):
# cookies only over TLS, HSTS, and plain HTTP redirected.
HTTPS = read.boolean("PORTAL_HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
# Where people reach the portal, for the links it sends away from its pages (a webhook's payload
# links its change and run). Behind a proxy or a load balancer, its public address.
BASE_URL = read.url(
    "PORTAL_BASE_URL",
    f"{'https' if HTTPS else 'http'}://{WEB_ADDRESS if not WEB_ADDRESS.startswith(('unix:', 'fd://', '0.0.0.0')) else '127.0.0.1:8000'}",
    schemes=("http", "https"),
    why="The portal's address as its users reach it, for links in notifications.",
).rstrip("/")
SECURE_SSL_REDIRECT = HTTPS
# Read (and refused when wrong) over plain HTTP too: turning HTTPS on later must not find a typo.
_hsts_seconds = read.seconds("PORTAL_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_SECONDS = _hsts_seconds if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
# Preloading commits the whole domain to HTTPS in every browser, for months: its owner's decision.
SECURE_HSTS_PRELOAD = read.boolean("PORTAL_HSTS_PRELOAD", False) and HTTPS
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_rq",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "portal.catalog",
    "portal.capacity",
    "portal.workspaces",
    "portal.runs",
    "portal.runner",
    "portal.platform",
    "portal.administrators",
    "portal.api",
    "portal.notifications",
    "portal.drift",
    "portal.liverepo",
    "portal.audit",
    "portal.policy",
    "portal.costs",
    "portal.approvals",
    "portal.rollouts",
    "portal.environments",
    # Last: its post_migrate hook grants permissions that the apps above create.
    "portal.access",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from the web process (gunicorn has no static file server), before anything
    # that would touch the session or the database.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.audit.context.AuditOriginMiddleware",
    # What superusers do on django-rq's dashboard, a library's views (portal.audit.queues).
    "portal.audit.queues.QueueDashboardMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a login refused for too many failures into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "portal" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.changes.context_processors.changes_waiting",
            ],
        },
    },
]
WSGI_APPLICATION = "portal.wsgi.application"

DATABASES = {
    "default": database_from_url(
        # Not repeated in a refusal: it may carry the database's password.
        read.url("DATABASE_URL", "postgresql://portal@127.0.0.1:55432/portal", schemes=("postgresql", "postgres"), secret=True)
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = read.url("REDIS_URL", "redis://127.0.0.1:56379/0", schemes=("redis", "rediss", "unix"), secret=True)
RQ_QUEUE = read.text("RQ_QUEUE", "terraform", allow_empty=False)


# Policy checks on every plan (README, "Policy checks"): checkov on the plan's JSON, in its own venv.
POLICY_CHECKOV = read.path("PORTAL_CHECKOV", BASE_DIR / ".venv" / "checkov" / "bin" / "checkov", absolute=True, why="The checkov program.")
POLICY_CHECKOV_TIMEOUT = read.seconds("PORTAL_CHECKOV_TIMEOUT", 300)
POLICY_SEVERITIES = policy_config.severities("PORTAL_POLICY_SEVERITIES")
POLICY_DEFAULT_SEVERITY = policy_config.severity("PORTAL_POLICY_DEFAULT_SEVERITY", "MEDIUM")
POLICY_BLOCKING = policy_config.blocking("PORTAL_POLICY_BLOCKING", "HIGH,CRITICAL")
POLICY_SKIPS = policy_config.skips("PORTAL_POLICY_SKIPS")

# The cost before the approval (README, "Cost estimates"): every plan priced from the region's table
# in portal/costs/prices/; a change adding more than this many USD a month waits for an admin.
COST_HOLD_ABOVE = read.integer("PORTAL_COST_HOLD_ABOVE", 500, unit="USD a month")
COST_ASSUMPTIONS = cost_assumptions("PORTAL_COST_ASSUMPTIONS")
# How many approvals a change needs, decided from its plans (portal/approvals/rules.py): unset, one
# approval for every change, as always; e.g. {"image_deploys": 0, "two_approvals_for": ["aws_lb"]}.
APPROVAL_POLICY = approval_policy("PORTAL_APPROVAL_POLICY")
# Environments that end (portal/environments/): their team's webhooks hear `service_ending` this many
# hours before the end; the workers look for ends every so many seconds between jobs.
ENVIRONMENT_WARN_BEFORE = timedelta(hours=read.integer("PORTAL_ENVIRONMENT_WARN_HOURS", 24, minimum=1, maximum=24 * 30, unit="hours"))
ENVIRONMENT_SWEEP_INTERVAL = read.integer("PORTAL_ENVIRONMENT_SWEEP_INTERVAL", 60, minimum=5, maximum=3600, unit="seconds")
# Module rollouts (portal/rollouts/): the services behind a module's version are planned in waves of
# these sizes, the last repeated (a first wave of one service, then larger ones).
ROLLOUT_WAVE_SIZES = read.whole_numbers("PORTAL_ROLLOUT_WAVES", "1,5,10", minimum=1, unit="services")
if not ROLLOUT_WAVE_SIZES:
    raise read.refuse("PORTAL_ROLLOUT_WAVES", "", "whole numbers of services, at least 1, comma-separated (e.g. 1,5,10)")

# Runs that survive faults (README, "Runs that survive faults"). Each terraform command is
# interrupted past its timeout, then killed after the grace period if it has not stopped.
TERRAFORM_COMMAND_TIMEOUT = read.seconds("PORTAL_TERRAFORM_COMMAND_TIMEOUT", 3600)
TERRAFORM_INTERRUPT_GRACE = read.seconds("PORTAL_TERRAFORM_INTERRUPT_GRACE", 60)
# Go's garbage collector target (GOGC) for terraform and its provider plugins: each command loads the
# AWS provider's whole schema, and at Go's default (100) the collector takes a share of the CPU that
# runs planning side by side need. 400 lets the heap grow to five times what is live (README, "Speed").
TERRAFORM_GOGC = read.integer("PORTAL_TERRAFORM_GOGC", 400, minimum=100, maximum=1000, why="It is GOGC for terraform and its providers; 100 is Go's default.")
# A running run's worker writes a heartbeat this often; silent for RUN_DEAD_AFTER, it is dead.
RUN_HEARTBEAT_INTERVAL = read.seconds("PORTAL_RUN_HEARTBEAT_INTERVAL", 5)
RUN_DEAD_AFTER = read.seconds("PORTAL_RUN_DEAD_AFTER", 30)
# How often each worker's recovery pass runs, and how long a waiting run may lack its job.
RUN_RECOVERY_INTERVAL = read.seconds("PORTAL_RUN_RECOVERY_INTERVAL", 15)
RUN_REQUEUE_AFTER = read.seconds("PORTAL_RUN_REQUEUE_AFTER", 15)

# The audit trail's source address: REMOTE_ADDR, or behind this many reverse proxies of our own the
# address the outermost one saw in X-Forwarded-For (0: the header is never believed).
PORTAL_TRUSTED_PROXY_COUNT = read.integer(
    "PORTAL_TRUSTED_PROXY_COUNT",
    0,
    minimum=0,
    maximum=10,
    why="The reverse proxies in front of the portal that append to X-Forwarded-For.",
)

# RQ's own job timeout is only a backstop behind the per-command timeouts: a step runs at most
# init, plan or apply, and show or output.
RQ_QUEUES = {RQ_QUEUE: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3 * (TERRAFORM_COMMAND_TIMEOUT + TERRAFORM_INTERRUPT_GRACE) + 300}}
RQ = {"WORKER_CLASS": "portal.runner.worker.RunWorker"}
# Webhooks (README, "Notifications"): delivered on a queue of their own by a worker of their own, each
# POST timed out after NOTIFICATIONS_TIMEOUT, retried after each of the intervals in turn, then failed.
NOTIFICATIONS_QUEUE = read.text("PORTAL_NOTIFICATIONS_QUEUE", "notifications", allow_empty=False)
NOTIFICATIONS_TIMEOUT = read.seconds("PORTAL_NOTIFICATIONS_TIMEOUT", 5)
NOTIFICATIONS_RETRY_INTERVALS = read.whole_numbers("PORTAL_NOTIFICATIONS_RETRY_INTERVALS", "10,60,300,1800", unit="seconds")
# Webhooks reach only public addresses, and these networks on purpose (an internal receiver, the
# tests' loopback one): CIDRs, comma-separated; a wrong entry stops the portal at start.
NOTIFICATIONS_ALLOWED_NETWORKS = tuple(
    read.comma_list(
        "PORTAL_NOTIFICATIONS_ALLOWED_NETWORKS",
        "",
        item=lambda entry: parse_networks(entry)[0],
        accepts_item="networks in CIDR form (10.20.0.0/16, fd00::/8)",
        refused="127.0.0.0/8,intranet",
    )
)
# A PEM bundle of CAs for HTTPS receivers (an internal receiver's own CA); empty: the system's.
NOTIFICATIONS_CA_BUNDLE = str(read.path("PORTAL_NOTIFICATIONS_CA_BUNDLE", "", optional=True) or "")
RQ_QUEUES[NOTIFICATIONS_QUEUE] = {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3 * NOTIFICATIONS_TIMEOUT + 30}
# Drift detection (README, "Drift detection"): every applied workspace gets a drift check (a plan, never applied) each
# DRIFT_INTERVAL seconds (0: never), on a queue the terraform workers take only when theirs is empty.
DRIFT_QUEUE = read.text("PORTAL_DRIFT_QUEUE", f"{RQ_QUEUE}-low", allow_empty=False)
DRIFT_INTERVAL = read.seconds("PORTAL_DRIFT_INTERVAL", 3600, minimum=0, why="0 turns drift detection off.")
RQ_QUEUES[DRIFT_QUEUE] = RQ_QUEUES[RQ_QUEUE]
# A change naming an image tag that is not in the service's existing repository (README, "Images"):
# held with a message on the image tag (hold), or planned with a warning on its change page (warn).
IMAGE_CHECK = read.choice(
    "PORTAL_IMAGE_CHECK",
    "hold",
    ("hold", "warn"),
    accepts="hold (a missing tag is refused before planning) or warn (planned, with a warning on the change page)",
    why="ECS pulls an image only when it starts a task: a tag that is not in the repository fails every task it starts.",
)

# Logins that resist guessing (README, "Logging in"). django-axes counts failed logins in PostgreSQL;
# its backend comes first and refuses a locked-out account or address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Single sign-on (README, "Single sign-on"): OpenID Connect beside the local accounts, on when
# PORTAL_OIDC_ISSUER is set; the provider's groups give teams and roles (PORTAL_OIDC_GROUP_MAP).
# mozilla-django-oidc's OIDC_* settings are read from this object (portal.access.sso.setting).
PORTAL_OIDC = sso_settings.from_environment(os.environ)
if PORTAL_OIDC is not None:
    AUTHENTICATION_BACKENDS.append("portal.access.sso.SingleSignOnBackend")
# Teams (portal.access.permissions): whether every role may read another team's services (a
# catalogue people search). Their runs' logs and plans stay the team's whatever this says.
PORTAL_CATALOGUE_OPEN = read.boolean("PORTAL_CATALOGUE_OPEN", True, why="Whether every role reads every team's services.")

LOGIN_FAILURE_LIMIT = read.integer(
    "PORTAL_LOGIN_FAILURE_LIMIT",
    5,
    minimum=1,
    maximum=100,
    why="Failed logins of one account before it is locked out.",
)
LOGIN_ADDRESS_FAILURE_LIMIT = read.integer(
    "PORTAL_LOGIN_ADDRESS_FAILURE_LIMIT",
    20,
    minimum=LOGIN_FAILURE_LIMIT,
    minimum_name="PORTAL_LOGIN_FAILURE_LIMIT",
    maximum=10000,
    why="Failed logins from one address, whatever the accounts, before the address is locked out.",
)
LOGIN_LOCKOUT_SECONDS = read.seconds("PORTAL_LOGIN_LOCKOUT_SECONDS", 900)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "portal.access.login.LoginAttempts"  # the address's own, higher limit; see there
AXES_COOLOFF_TIME = timedelta(seconds=LOGIN_LOCKOUT_SECONDS)
AXES_RESET_ON_SUCCESS = True
# A guess made while locked out starts the lockout again: who keeps guessing stays locked out.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
AXES_CLIENT_IP_CALLABLE = "portal.audit.context.request_address"  # the audit trail's address, proxies and all
AXES_LOCKOUT_CALLABLE = "portal.access.login.locked_out"
# Logins are in the audit trail already; axes keeps only the failures it counts.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# API tokens (README, "API tokens"): each ends; issued for PORTAL_TOKEN_DEFAULT_DAYS unless the issuer
# asks for fewer or more days, never more than PORTAL_TOKEN_MAX_DAYS.
TOKEN_MAX_DAYS = read.days("PORTAL_TOKEN_MAX_DAYS", 365, maximum=3650, why="The longest an API token may last, in days.")
TOKEN_DEFAULT_DAYS = read.days(
    "PORTAL_TOKEN_DEFAULT_DAYS",
    90,
    maximum=TOKEN_MAX_DAYS,
    maximum_name="PORTAL_TOKEN_MAX_DAYS",
    why="How long an API token lasts unless its issuer says, in days.",
)

# Every place a password is set (createsuperuser, changepassword, the admin site) asks these.
PASSWORD_MIN_LENGTH = read.integer("PORTAL_PASSWORD_MIN_LENGTH", 12, minimum=8, maximum=128)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "catalog:service-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# The portal speaks English only: without translation machinery a page's every value is rendered
# without asking which language is active (a tenth of the time of a long list).
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
# `manage.py collectstatic` gathers every app's static files here (bin/portal runs it before it starts
# the web server, the Docker image when it is built); WhiteNoise serves them from the web process.
STATIC_ROOT = read.path("PORTAL_STATIC_ROOT", STATE_DIR / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Names carry a hash of the content (admin/css/base.6f8c....css), so browsers may keep them for
    # good (WhiteNoise says so: max-age ten years, immutable), plus a gzip copy of each text file. It
    # reads the manifest collectstatic writes: with DEBUG off, a page that names a static file fails
    # until collectstatic has run, rather than pointing browsers at names that are not served.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- AWS and Terraform -----------------------------------------------------------------------------
# Unset AWS_ENDPOINT_URL to talk to real AWS; locally it points at the emulator (moto server).
AWS_ENDPOINT_URL = read.url("AWS_ENDPOINT_URL", "", schemes=("http", "https"), allow_empty=True)
# boto3 reads AWS_DEFAULT_REGION; AWS_REGION, when set, wins (as the AWS CLI has it).
_REGION = r"[a-z]{2}(-[a-z]+)+-[0-9]+"
AWS_REGION = read.text(
    "AWS_REGION",
    read.text("AWS_DEFAULT_REGION", "eu-west-1", pattern=_REGION, accepts="an AWS region such as eu-west-1"),
    pattern=_REGION,
    accepts="an AWS region such as eu-west-1",
)

# The emulator lacks a few APIs and plain HTTP breaks TLS-only policies; these defaults follow it.
ON_EMULATOR = bool(AWS_ENDPOINT_URL)
# How the private subnets reach the internet. The instances' ECS agent, image pulls from ECR, the
# tasks' logs and secrets all go to AWS endpoints from there, and the network makes no VPC endpoints:
# without a NAT gateway no instance would join the cluster and no task would start.
PLATFORM_NAT_MODE = read.choice(
    "PORTAL_NAT_MODE",
    "single",
    ("single", "per_az"),
    accepts="single (one NAT gateway) or per_az (one per zone, survives a zone's outage)",
    why="The private subnets need a way out: the instances' ECS agent, image pulls and the tasks' logs reach AWS's "
    "public endpoints through it (the platform makes no VPC endpoints).",
)
# Load balancer deletion protection: on in real AWS; off on the emulator so tests can tear down.
PLATFORM_DELETION_PROTECTION = read.boolean("PORTAL_DELETION_PROTECTION", not ON_EMULATOR)
# A new AMI or launch template rolls through the instances (instance refresh), keeping at least this
# share of the cluster's capacity in service: 50-100, checked by the ecs-cluster module too.
PLATFORM_INSTANCE_REFRESH_MIN_HEALTHY_PERCENT = read.integer(
    "PORTAL_INSTANCE_REFRESH_MIN_HEALTHY_PERCENT",
    90,
    minimum=50,
    maximum=100,
    why="The share of the cluster's instances kept in service while a new launch template rolls through.",
)
# The load balancer (README, "First deploy on AWS"). On AWS it serves HTTPS with this ACM
# certificate (of AWS_REGION), HTTP redirecting to it; without one the portal refuses to start there
# unless plain HTTP is chosen on purpose. The emulator serves plain HTTP and has no certificate.
LOAD_BALANCER_CERTIFICATE_ARN = (
    read.text(
        "PORTAL_LOAD_BALANCER_CERTIFICATE_ARN",
        "",
        check=lambda arn: arn.startswith("arn:aws") and ":acm:" in arn,
        accepts="the ARN of an ACM certificate (arn:aws:acm:<region>:<account>:certificate/<id>), in AWS_REGION",
    )
    or None
)
LOAD_BALANCER_PLAIN_HTTP = read.boolean("PORTAL_LOAD_BALANCER_PLAIN_HTTP", ON_EMULATOR)
if not LOAD_BALANCER_CERTIFICATE_ARN and not LOAD_BALANCER_PLAIN_HTTP:
    raise ImproperlyConfigured(
        "PORTAL_LOAD_BALANCER_CERTIFICATE_ARN is not set: on AWS the services' load balancer serves HTTPS, and "
        "needs an ACM certificate in AWS_REGION for the names people use. Set it, or set "
        "PORTAL_LOAD_BALANCER_PLAIN_HTTP=true to serve the services over plain HTTP on purpose."
    )
# An internal load balancer: in the private subnets, reachable from the VPC (and what it is peered
# or connected with) only. Who may reach it: PORTAL_LOAD_BALANCER_INGRESS_CIDRS (comma-separated),
# by default the whole internet for a public one and the VPC's range for an internal one.
LOAD_BALANCER_INTERNAL = read.boolean("PORTAL_LOAD_BALANCER_INTERNAL", False)
PLATFORM_VPC_CIDR = "10.0.0.0/16"  # the network module's default, which the portal keeps


def _ipv4_range(cidr: str) -> bool:
    try:
        ipaddress.IPv4Network(cidr)
    except ValueError:
        raise ValueError(f"{cidr!r} is not an IPv4 range.") from None
    return True  # kept as written: terraform gets the ranges the admin wrote


LOAD_BALANCER_INGRESS_CIDRS = read.comma_list(
    "PORTAL_LOAD_BALANCER_INGRESS_CIDRS",
    PLATFORM_VPC_CIDR if LOAD_BALANCER_INTERNAL else "0.0.0.0/0",
    item=_ipv4_range,
    accepts_item="IPv4 ranges such as 203.0.113.0/24",
    minimum=1,
    maximum=30,
    refused="10.0.0.0/8,not-a-range",
    why="It must name 1 to 30 ranges: each opens ports 80 and 443, and a security group takes 60 inbound rules.",
)
# Access logs of the load balancer (an S3 bucket of their own) and VPC flow logs: on, on AWS and on
# the emulator alike.
LOAD_BALANCER_ACCESS_LOGS = read.boolean("PORTAL_LOAD_BALANCER_ACCESS_LOGS", True)
PLATFORM_FLOW_LOGS = read.boolean("PORTAL_FLOW_LOGS", True)
# The ECS cluster's instance type and size for its first provisioning (PORTAL_CLUSTER_*); afterwards
# admins change them on the Platform page. ENI trunking is an account-wide setting. README, "Cluster capacity".
CLUSTER_DEFAULTS = cluster_capacity_defaults.cluster_defaults(os.environ)
CLUSTER_AWSVPC_TRUNKING = cluster_capacity_defaults.awsvpc_trunking(os.environ, on_emulator=ON_EMULATOR)
# Service autoscaling on CPU; the emulator lacks application-autoscaling's ListTagsForResource.
SERVICE_AUTOSCALING = read.boolean("PORTAL_SERVICE_AUTOSCALING", not ON_EMULATOR)
# moto stores neither a service's capacity provider strategy nor its health check grace period, so
# plans would never settle to "no changes" on it: use the EC2 launch type and no grace period there.
SERVICE_CAPACITY_PROVIDER = read.boolean("PORTAL_SERVICE_CAPACITY_PROVIDER", not ON_EMULATOR)
SERVICE_HEALTH_CHECK_GRACE_SECONDS = read.seconds("PORTAL_SERVICE_HEALTH_CHECK_GRACE_SECONDS", 0 if ON_EMULATOR else 30, minimum=0)
# Healthy deploys (README, "Healthy deploys"): after a service workspace applies, its run waits up to
# this many seconds for the ECS deployment to settle and the target group to report healthy targets
# (0: no wait, the log says health was not checked). The emulator runs no tasks, so nothing it reports
# about a deployment is a result: there the wait is off unless asked for.
DEPLOY_HEALTH_TIMEOUT = read.seconds("PORTAL_DEPLOY_HEALTH_TIMEOUT", 0 if ON_EMULATOR else 600, minimum=0, maximum=3600, why="0: no wait.")
DEPLOY_HEALTH_POLL_INTERVAL = read.seconds("PORTAL_DEPLOY_HEALTH_POLL_INTERVAL", 10)
# A service with tasks wanted is healthy only once at least one target is registered and healthy.
# Off, no registered target passes (registered ones must still be healthy): for the emulator, where
# no task runs and so no target ever registers.
DEPLOY_HEALTH_REQUIRE_TARGETS = read.boolean("PORTAL_DEPLOY_HEALTH_REQUIRE_TARGETS", not ON_EMULATOR)
# The administrators made by the one-time bootstrap; afterwards admins change them in the portal.
# The service types (portal.workspaces.identities.TYPES, which imports models: checked there).
IAM_ADMIN_SERVICE_TYPES = read.comma_list(
    "PORTAL_IAM_ADMIN_SERVICE_TYPES",
    "ecs,ecr,s3,vpc,iam,logs,elb,autoscaling",
    item=lambda name: re.fullmatch(r"[a-z0-9]+", name) is not None,
    accepts_item="service types such as ecs or s3",
    refused="ecs,not a type",
)
AWS_PARTITION = read.choice(
    "PORTAL_AWS_PARTITION",
    "aws",
    ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"),
    why="The partition of the roles' ARNs (arn:<partition>:iam::...).",
)
# The account the administrator roles live in; empty: asked of STS with the portal's credentials.
AWS_ACCOUNT_ID = read.text("PORTAL_AWS_ACCOUNT_ID", "", pattern=r"[0-9]{12}", accepts="12 digits, or empty")
# Who may assume the administrator and state roles: the portal's own principal (comma-separated
# ARNs). Empty: the identity that runs the bootstrap.
RUNNER_PRINCIPAL_ARNS = read.comma_list(
    "PORTAL_RUNNER_PRINCIPAL_ARNS",
    "",
    item=lambda arn: arn.startswith("arn:") and " " not in arn,
    accepts_item="ARNs (arn:aws:iam::<account>:role/<name>)",
    refused="portal-role",
)

# Every service's resources are named `<prefix>-<service name>`.
SERVICE_NAME_PREFIX = read.text("PORTAL_SERVICE_NAME_PREFIX", "art-service", allow_empty=False)
STATE_BUCKET = read.text("PORTAL_STATE_BUCKET", f"{SERVICE_NAME_PREFIX}-terraform-state", allow_empty=False)

INFRA_MODULES_DIR = BASE_DIR / "infra_modules"
WORKSPACES_DIR = read.path("PORTAL_WORKSPACES_DIR", STATE_DIR / "workspaces")
TERRAFORM_BIN = read.text("TERRAFORM_BIN", "terraform", allow_empty=False)

# The live repository (portal.liverepo): every applied change is committed there, one folder per
# state key. A local repository (bare or not; made when missing), pushed to the remote when one is set.
LIVE_REPOSITORY = read.path("PORTAL_LIVE_REPOSITORY", STATE_DIR / "live-repository")


def _git_remote(remote: str) -> bool:
    return not (
        remote.startswith("-")
        or any(c.isspace() or not c.isprintable() for c in remote)
        or not (
            urlparse(remote).scheme in {"https", "http", "ssh", "git", "file"}
            or remote.startswith("/")
            or (":" in remote and "://" not in remote)  # scp-like git@host:path
        )
    )


LIVE_REPOSITORY_REMOTE = read.text(
    "PORTAL_LIVE_REPOSITORY_REMOTE",
    "",
    check=_git_remote,
    accepts="a git URL (https://, ssh://, git://, file://, user@host:path) or an absolute path, without spaces, and must not start with '-'",
    secret=True,  # not repeated: it may carry a token
    refused="--upload-pack=touch /tmp/x",
)
TERRAFORM_PLUGIN_CACHE_DIR = read.path("TF_PLUGIN_CACHE_DIR", STATE_DIR / "terraform-plugin-cache")
# A filesystem mirror of providers (offline machines). Empty: look in the usual places, else use
# the public registry.
TERRAFORM_PROVIDER_MIRROR = str(read.path("PORTAL_TERRAFORM_PROVIDER_MIRROR", "", optional=True) or "")
TERRAFORM_PROVIDER_MIRROR_CANDIDATES = [
    "/opt/tf-plugins",
    "/usr/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    str(Path.home() / ".terraform.d" / "plugins"),
]

# Environment variables whose values must never reach a stored log line (the passwords inside
# DATABASE_URL and REDIS_URL are masked too, see portal.core.masking).
SECRET_ENV_NAMES = ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "DJANGO_SECRET_KEY"]

# The only environment variables terraform is started with: what the AWS provider and the S3 backend
# read, and what a process needs to run. Nothing of the portal's own (DATABASE_URL, DJANGO_SECRET_KEY).
TERRAFORM_ENV_ALLOWED = [
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CA_BUNDLE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_EC2_METADATA_DISABLED",
    "TF_LOG",
    "TF_LOG_PATH",
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    # logging's own names, in any case (logging takes upper case only).
    "root": {
        "handlers": ["console"],
        "level": read.choice(
            "PORTAL_LOG_LEVEL",
            "INFO",
            logging.getLevelNamesMapping(),
            ignore_case=True,
            accepts="a logging level: DEBUG, INFO, WARNING, ERROR or CRITICAL",
        ),
    },
}

REST_FRAMEWORK = {
    # Token first: its scheme makes an anonymous request get 401. Sessions serve the browsable API.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's JSON, encoded by orjson (portal/api/renderers.py); the browsable API for people.
    "DEFAULT_RENDERER_CLASSES": ["portal.api.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.errors.handle",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "art service infrastructure portal",
    "DESCRIPTION": "Register services, deploy image tags, follow and approve Terraform runs.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The enums' hook (drf-spectacular's default), then the 415 that DRF answers before any view runs.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "portal.api.errors.document_unsupported_media_type"],
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "portal.runs.models.RunStatus",
        "LifecycleEnum": "portal.catalog.models.Lifecycle",
        "WebhookEventEnum": "portal.notifications.models.Event",
    },
}
