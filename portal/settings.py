"""Settings read from the environment, with defaults that match `bin/portal` (the local stack)."""

import ipaddress
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

from portal.access import sso_settings
from portal.capacity import defaults as cluster_capacity_defaults
from portal.notifications.targets import parse_networks
from portal.params import ascii_int
from portal.policy import config as policy_config

BASE_DIR = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("PORTAL_STATE_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


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
DEBUG = env_bool("DJANGO_DEBUG", False)
DEVELOPMENT_SECRET_KEY = "local-development-only-not-a-secret"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set: the portal does not serve with its built-in development key unless "
        "DJANGO_DEBUG=1 (bin/portal sets it for the local stack). Set DJANGO_SECRET_KEY to a long random value."
    )
# By default, also the host the web server listens on when it is a particular one
# (PORTAL_WEB_ADDRESS=192.168.1.5:8000, see portal/gunicorn_conf.py), so that the portal answers at
# the address bin/portal prints.
WEB_ADDRESS = os.environ.get("PORTAL_WEB_ADDRESS", "127.0.0.1:8000")
_default_hosts = ["127.0.0.1", "localhost", "testserver"]
_web_host = "" if WEB_ADDRESS.startswith(("unix:", "fd://")) else WEB_ADDRESS.rpartition(":")[0].strip("[]")
if _web_host not in ("", "0.0.0.0", "::", *_default_hosts):
    _default_hosts.append(_web_host)
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", ",".join(_default_hosts)).split(",")

# Served over HTTPS (PORTAL_HTTPS=1, e.g. behind a TLS-terminating proxy that sets X-Forwarded-Proto):
# cookies only over TLS, HSTS, and plain HTTP redirected.
HTTPS = env_bool("PORTAL_HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("PORTAL_HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
# Preloading commits the whole domain to HTTPS in every browser, for months: its owner's decision.
SECURE_HSTS_PRELOAD = HTTPS and env_bool("PORTAL_HSTS_PRELOAD", False)
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
    "portal.administrators",
    "portal.api",
    "portal.notifications",
    "portal.drift",
    "portal.liverepo",
    "portal.audit",
    "portal.policy",
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
            ],
        },
    },
]
WSGI_APPLICATION = "portal.wsgi.application"

DATABASES = {
    "default": database_from_url(
        os.environ.get("DATABASE_URL", "postgresql://portal@127.0.0.1:55432/portal")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:56379/0")
RQ_QUEUE = os.environ.get("RQ_QUEUE", "terraform")

def seconds_setting(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    seconds = ascii_int(value)
    if seconds is None or seconds < 1:
        raise ImproperlyConfigured(f"{name} must be a whole number of seconds, at least 1 (got {value!r}).")
    return seconds


# Policy checks on every plan (README, "Policy checks"): checkov on the plan's JSON, in its own venv.
POLICY_CHECKOV = Path(os.environ.get("PORTAL_CHECKOV", BASE_DIR / ".venv" / "checkov" / "bin" / "checkov"))
if not POLICY_CHECKOV.is_absolute():
    raise ImproperlyConfigured(f"PORTAL_CHECKOV must be an absolute path to the checkov program (got {str(POLICY_CHECKOV)!r}).")
POLICY_CHECKOV_TIMEOUT = seconds_setting("PORTAL_CHECKOV_TIMEOUT", 300)
POLICY_SEVERITIES = policy_config.severities("PORTAL_POLICY_SEVERITIES", os.environ.get("PORTAL_POLICY_SEVERITIES"))
POLICY_DEFAULT_SEVERITY = policy_config.severity("PORTAL_POLICY_DEFAULT_SEVERITY", os.environ.get("PORTAL_POLICY_DEFAULT_SEVERITY", "MEDIUM"))
POLICY_BLOCKING = policy_config.blocking("PORTAL_POLICY_BLOCKING", os.environ.get("PORTAL_POLICY_BLOCKING", "HIGH,CRITICAL"))
POLICY_SKIPS = policy_config.skips("PORTAL_POLICY_SKIPS", os.environ.get("PORTAL_POLICY_SKIPS"))

# Runs that survive faults (README, "Runs that survive faults"). Each terraform command is
# interrupted past its timeout, then killed after the grace period if it has not stopped.
TERRAFORM_COMMAND_TIMEOUT = seconds_setting("PORTAL_TERRAFORM_COMMAND_TIMEOUT", 3600)
TERRAFORM_INTERRUPT_GRACE = seconds_setting("PORTAL_TERRAFORM_INTERRUPT_GRACE", 60)
# A running run's worker writes a heartbeat this often; silent for RUN_DEAD_AFTER, it is dead.
RUN_HEARTBEAT_INTERVAL = seconds_setting("PORTAL_RUN_HEARTBEAT_INTERVAL", 5)
RUN_DEAD_AFTER = seconds_setting("PORTAL_RUN_DEAD_AFTER", 30)
# How often each worker's recovery pass runs, and how long a waiting run may lack its job.
RUN_RECOVERY_INTERVAL = seconds_setting("PORTAL_RUN_RECOVERY_INTERVAL", 15)
RUN_REQUEUE_AFTER = seconds_setting("PORTAL_RUN_REQUEUE_AFTER", 15)

# The audit trail's source address: REMOTE_ADDR, or behind this many reverse proxies of our own the
# address the outermost one saw in X-Forwarded-For (0: the header is never believed).
PORTAL_TRUSTED_PROXY_COUNT = ascii_int(os.environ.get("PORTAL_TRUSTED_PROXY_COUNT", "0"))
if PORTAL_TRUSTED_PROXY_COUNT is None or PORTAL_TRUSTED_PROXY_COUNT > 10:
    raise ImproperlyConfigured(
        "PORTAL_TRUSTED_PROXY_COUNT must be a whole number from 0 to 10 (the reverse proxies in front of the "
        f"portal that append to X-Forwarded-For; got {os.environ.get('PORTAL_TRUSTED_PROXY_COUNT')!r})."
    )

# RQ's own job timeout is only a backstop behind the per-command timeouts: a step runs at most
# init, plan or apply, and show or output.
RQ_QUEUES = {
    RQ_QUEUE: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3 * (TERRAFORM_COMMAND_TIMEOUT + TERRAFORM_INTERRUPT_GRACE) + 300}
}
RQ = {"WORKER_CLASS": "portal.runs.worker.RunWorker"}
# Webhooks (README, "Notifications"): delivered on a queue of their own by a worker of their own, each
# POST timed out after NOTIFICATIONS_TIMEOUT, retried after each of the intervals in turn, then failed.
NOTIFICATIONS_QUEUE = os.environ.get("PORTAL_NOTIFICATIONS_QUEUE", "notifications")
NOTIFICATIONS_TIMEOUT = seconds_setting("PORTAL_NOTIFICATIONS_TIMEOUT", 5)
NOTIFICATIONS_RETRY_INTERVALS = [
    ascii_int(part) for part in os.environ.get("PORTAL_NOTIFICATIONS_RETRY_INTERVALS", "10,60,300,1800").split(",") if part
]
if any(seconds is None or seconds < 0 for seconds in NOTIFICATIONS_RETRY_INTERVALS):
    raise ImproperlyConfigured("PORTAL_NOTIFICATIONS_RETRY_INTERVALS must be whole numbers of seconds, comma-separated.")
# Webhooks reach only public addresses, and these networks on purpose (an internal receiver, the
# tests' loopback one): CIDRs, comma-separated; a wrong entry stops the portal at start.
try:
    NOTIFICATIONS_ALLOWED_NETWORKS = parse_networks(os.environ.get("PORTAL_NOTIFICATIONS_ALLOWED_NETWORKS", ""))
except ValueError as exc:
    raise ImproperlyConfigured(f"PORTAL_NOTIFICATIONS_ALLOWED_NETWORKS: {exc}") from None
# A PEM bundle of CAs for HTTPS receivers (an internal receiver's own CA); empty: the system's.
NOTIFICATIONS_CA_BUNDLE = os.environ.get("PORTAL_NOTIFICATIONS_CA_BUNDLE", "")
RQ_QUEUES[NOTIFICATIONS_QUEUE] = {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3 * NOTIFICATIONS_TIMEOUT + 30}
# Drift detection (README, "Drift detection"): every applied workspace gets a refresh-only plan each
# DRIFT_INTERVAL seconds (0: never), on a queue the terraform workers take only when theirs is empty.
DRIFT_QUEUE = os.environ.get("PORTAL_DRIFT_QUEUE", f"{RQ_QUEUE}-low")
DRIFT_INTERVAL = ascii_int(os.environ.get("PORTAL_DRIFT_INTERVAL", "3600"))
if DRIFT_INTERVAL is None or DRIFT_INTERVAL < 0:
    raise ImproperlyConfigured(
        "PORTAL_DRIFT_INTERVAL must be a whole number of seconds (0 turns drift detection off; "
        f"got {os.environ.get('PORTAL_DRIFT_INTERVAL')!r})."
    )
RQ_QUEUES[DRIFT_QUEUE] = RQ_QUEUES[RQ_QUEUE]

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
_catalogue_open = os.environ.get("PORTAL_CATALOGUE_OPEN", "true").strip().lower()
if _catalogue_open not in {"true", "false", "1", "0", "yes", "no", "on", "off"}:
    raise ImproperlyConfigured(
        f"PORTAL_CATALOGUE_OPEN must be true or false (got {os.environ.get('PORTAL_CATALOGUE_OPEN')!r}): whether "
        "every role reads every team's services."
    )
PORTAL_CATALOGUE_OPEN = _catalogue_open in {"true", "1", "yes", "on"}

LOGIN_FAILURE_LIMIT = ascii_int(os.environ.get("PORTAL_LOGIN_FAILURE_LIMIT", "5"))
LOGIN_ADDRESS_FAILURE_LIMIT = ascii_int(os.environ.get("PORTAL_LOGIN_ADDRESS_FAILURE_LIMIT", "20"))
LOGIN_LOCKOUT_SECONDS = seconds_setting("PORTAL_LOGIN_LOCKOUT_SECONDS", 900)
if LOGIN_FAILURE_LIMIT is None or not 1 <= LOGIN_FAILURE_LIMIT <= 100:
    raise ImproperlyConfigured(
        "PORTAL_LOGIN_FAILURE_LIMIT must be a whole number from 1 to 100 (failed logins of one account "
        f"before it is locked out; got {os.environ.get('PORTAL_LOGIN_FAILURE_LIMIT')!r})."
    )
if LOGIN_ADDRESS_FAILURE_LIMIT is None or not LOGIN_FAILURE_LIMIT <= LOGIN_ADDRESS_FAILURE_LIMIT <= 10000:
    raise ImproperlyConfigured(
        "PORTAL_LOGIN_ADDRESS_FAILURE_LIMIT must be a whole number from PORTAL_LOGIN_FAILURE_LIMIT to 10000 "
        "(failed logins from one address, whatever the accounts, before the address is locked out; got "
        f"{os.environ.get('PORTAL_LOGIN_ADDRESS_FAILURE_LIMIT')!r})."
    )
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
TOKEN_MAX_DAYS = ascii_int(os.environ.get("PORTAL_TOKEN_MAX_DAYS", "365"))
TOKEN_DEFAULT_DAYS = ascii_int(os.environ.get("PORTAL_TOKEN_DEFAULT_DAYS", "90"))
if TOKEN_MAX_DAYS is None or not 1 <= TOKEN_MAX_DAYS <= 3650:
    raise ImproperlyConfigured(
        "PORTAL_TOKEN_MAX_DAYS must be a whole number from 1 to 3650 (the longest an API token may last, in "
        f"days; got {os.environ.get('PORTAL_TOKEN_MAX_DAYS')!r})."
    )
if TOKEN_DEFAULT_DAYS is None or not 1 <= TOKEN_DEFAULT_DAYS <= TOKEN_MAX_DAYS:
    raise ImproperlyConfigured(
        "PORTAL_TOKEN_DEFAULT_DAYS must be a whole number from 1 to PORTAL_TOKEN_MAX_DAYS "
        f"({TOKEN_MAX_DAYS}): how long an API token lasts unless its issuer says (got "
        f"{os.environ.get('PORTAL_TOKEN_DEFAULT_DAYS')!r})."
    )

# Every place a password is set (createsuperuser, changepassword, the admin site) asks these.
PASSWORD_MIN_LENGTH = ascii_int(os.environ.get("PORTAL_PASSWORD_MIN_LENGTH", "12"))
if PASSWORD_MIN_LENGTH is None or not 8 <= PASSWORD_MIN_LENGTH <= 128:
    raise ImproperlyConfigured(
        f"PORTAL_PASSWORD_MIN_LENGTH must be a whole number from 8 to 128 (got {os.environ.get('PORTAL_PASSWORD_MIN_LENGTH')!r})."
    )
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
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# `manage.py collectstatic` gathers every app's static files here (bin/portal runs it before it starts
# the web server, the Docker image when it is built); WhiteNoise serves them from the web process.
STATIC_ROOT = Path(os.environ.get("PORTAL_STATIC_ROOT", STATE_DIR / "static"))
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
AWS_ENDPOINT_URL = os.environ.get("AWS_ENDPOINT_URL", "")
AWS_REGION = os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "eu-west-1"))

# The emulator lacks a few APIs and plain HTTP breaks TLS-only policies; these defaults follow it.
ON_EMULATOR = bool(AWS_ENDPOINT_URL)
# How the private subnets reach the internet. The instances' ECS agent, image pulls from ECR, the
# tasks' logs and secrets all go to AWS endpoints from there, and the network makes no VPC endpoints:
# without a NAT gateway no instance would join the cluster and no task would start.
PLATFORM_NAT_MODE = os.environ.get("PORTAL_NAT_MODE", "single")
if PLATFORM_NAT_MODE not in ("single", "per_az"):
    raise ImproperlyConfigured(
        f"PORTAL_NAT_MODE must be single (one NAT gateway) or per_az (one per zone, survives a zone's outage); "
        f"got {PLATFORM_NAT_MODE!r}. The private subnets need a way out: the instances' ECS agent, image pulls and "
        "the tasks' logs reach AWS's public endpoints through it (the platform makes no VPC endpoints)."
    )
# Load balancer deletion protection: on in real AWS; off on the emulator so tests can tear down.
PLATFORM_DELETION_PROTECTION = env_bool("PORTAL_DELETION_PROTECTION", not ON_EMULATOR)
# A new AMI or launch template rolls through the instances (instance refresh), keeping at least this
# share of the cluster's capacity in service: 50-100, checked by the ecs-cluster module too.
PLATFORM_INSTANCE_REFRESH_MIN_HEALTHY_PERCENT = os.environ.get("PORTAL_INSTANCE_REFRESH_MIN_HEALTHY_PERCENT", "90")
if not (PLATFORM_INSTANCE_REFRESH_MIN_HEALTHY_PERCENT.isascii() and PLATFORM_INSTANCE_REFRESH_MIN_HEALTHY_PERCENT.isdigit()
        and 50 <= int(PLATFORM_INSTANCE_REFRESH_MIN_HEALTHY_PERCENT) <= 100):
    raise ImproperlyConfigured(
        "PORTAL_INSTANCE_REFRESH_MIN_HEALTHY_PERCENT must be a whole number from 50 to 100 (the share of the "
        "cluster's instances kept in service while a new launch template rolls through)."
    )
PLATFORM_INSTANCE_REFRESH_MIN_HEALTHY_PERCENT = int(PLATFORM_INSTANCE_REFRESH_MIN_HEALTHY_PERCENT)
# The load balancer (README, "First deploy on AWS"). On AWS it serves HTTPS with this ACM
# certificate (of AWS_REGION), HTTP redirecting to it; without one the portal refuses to start there
# unless plain HTTP is chosen on purpose. The emulator serves plain HTTP and has no certificate.
LOAD_BALANCER_CERTIFICATE_ARN = os.environ.get("PORTAL_LOAD_BALANCER_CERTIFICATE_ARN", "") or None
LOAD_BALANCER_PLAIN_HTTP = env_bool("PORTAL_LOAD_BALANCER_PLAIN_HTTP", ON_EMULATOR)
if LOAD_BALANCER_CERTIFICATE_ARN and not (
    LOAD_BALANCER_CERTIFICATE_ARN.startswith("arn:aws") and ":acm:" in LOAD_BALANCER_CERTIFICATE_ARN
):
    raise ImproperlyConfigured(
        "PORTAL_LOAD_BALANCER_CERTIFICATE_ARN must be the ARN of an ACM certificate "
        "(arn:aws:acm:<region>:<account>:certificate/<id>), in AWS_REGION."
    )
if not LOAD_BALANCER_CERTIFICATE_ARN and not LOAD_BALANCER_PLAIN_HTTP:
    raise ImproperlyConfigured(
        "PORTAL_LOAD_BALANCER_CERTIFICATE_ARN is not set: on AWS the services' load balancer serves HTTPS, and "
        "needs an ACM certificate in AWS_REGION for the names people use. Set it, or set "
        "PORTAL_LOAD_BALANCER_PLAIN_HTTP=true to serve the services over plain HTTP on purpose."
    )
# An internal load balancer: in the private subnets, reachable from the VPC (and what it is peered
# or connected with) only. Who may reach it: PORTAL_LOAD_BALANCER_INGRESS_CIDRS (comma-separated),
# by default the whole internet for a public one and the VPC's range for an internal one.
LOAD_BALANCER_INTERNAL = env_bool("PORTAL_LOAD_BALANCER_INTERNAL", False)
PLATFORM_VPC_CIDR = "10.0.0.0/16"  # the network module's default, which the portal keeps
LOAD_BALANCER_INGRESS_CIDRS = [
    cidr.strip()
    for cidr in os.environ.get(
        "PORTAL_LOAD_BALANCER_INGRESS_CIDRS", PLATFORM_VPC_CIDR if LOAD_BALANCER_INTERNAL else "0.0.0.0/0"
    ).split(",")
    if cidr.strip()
]
for _cidr in LOAD_BALANCER_INGRESS_CIDRS:
    try:
        ipaddress.IPv4Network(_cidr)
    except ValueError:
        raise ImproperlyConfigured(
            f"PORTAL_LOAD_BALANCER_INGRESS_CIDRS must be IPv4 ranges such as 203.0.113.0/24, comma-separated (got {_cidr!r})."
        ) from None
if not 1 <= len(LOAD_BALANCER_INGRESS_CIDRS) <= 30:
    raise ImproperlyConfigured(
        "PORTAL_LOAD_BALANCER_INGRESS_CIDRS must name 1 to 30 ranges: each opens ports 80 and 443, and a security "
        "group takes 60 inbound rules."
    )
# Access logs of the load balancer (an S3 bucket of their own) and VPC flow logs: on, on AWS and on
# the emulator alike.
LOAD_BALANCER_ACCESS_LOGS = env_bool("PORTAL_LOAD_BALANCER_ACCESS_LOGS", True)
PLATFORM_FLOW_LOGS = env_bool("PORTAL_FLOW_LOGS", True)
# The ECS cluster's instance type and size for its first provisioning (PORTAL_CLUSTER_*); afterwards
# admins change them on the Platform page. ENI trunking is an account-wide setting. README, "Cluster capacity".
CLUSTER_DEFAULTS = cluster_capacity_defaults.cluster_defaults(os.environ)
CLUSTER_AWSVPC_TRUNKING = cluster_capacity_defaults.awsvpc_trunking(os.environ, on_emulator=ON_EMULATOR)
# Service autoscaling on CPU; the emulator lacks application-autoscaling's ListTagsForResource.
SERVICE_AUTOSCALING = env_bool("PORTAL_SERVICE_AUTOSCALING", not ON_EMULATOR)
# moto stores neither a service's capacity provider strategy nor its health check grace period, so
# plans would never settle to "no changes" on it: use the EC2 launch type and no grace period there.
SERVICE_CAPACITY_PROVIDER = env_bool("PORTAL_SERVICE_CAPACITY_PROVIDER", not ON_EMULATOR)
SERVICE_HEALTH_CHECK_GRACE_SECONDS = int(
    os.environ.get("PORTAL_SERVICE_HEALTH_CHECK_GRACE_SECONDS", "0" if ON_EMULATOR else "30")
)
# Healthy deploys (README, "Healthy deploys"): after a service workspace applies, its run waits up to
# this many seconds for the ECS deployment to settle and the target group to report healthy targets
# (0: no wait, the log says health was not checked). The emulator runs no tasks, so nothing it reports
# about a deployment is a result: there the wait is off unless asked for.
_deploy_health_timeout = os.environ.get("PORTAL_DEPLOY_HEALTH_TIMEOUT", "0" if ON_EMULATOR else "600")
DEPLOY_HEALTH_TIMEOUT = ascii_int(_deploy_health_timeout)
if DEPLOY_HEALTH_TIMEOUT is None or DEPLOY_HEALTH_TIMEOUT > 3600:
    raise ImproperlyConfigured(
        "PORTAL_DEPLOY_HEALTH_TIMEOUT must be a whole number of seconds from 0 (no wait) to 3600 "
        f"(got {_deploy_health_timeout!r})."
    )
DEPLOY_HEALTH_POLL_INTERVAL = seconds_setting("PORTAL_DEPLOY_HEALTH_POLL_INTERVAL", 10)
# A service with tasks wanted is healthy only once at least one target is registered and healthy.
# Off, no registered target passes (registered ones must still be healthy): for the emulator, where
# no task runs and so no target ever registers.
DEPLOY_HEALTH_REQUIRE_TARGETS = env_bool("PORTAL_DEPLOY_HEALTH_REQUIRE_TARGETS", not ON_EMULATOR)
# The administrators made by the one-time bootstrap; afterwards admins change them in the portal.
IAM_ADMIN_SERVICE_TYPES = os.environ.get(
    "PORTAL_IAM_ADMIN_SERVICE_TYPES", "ecs,ecr,s3,vpc,iam,logs,elb,autoscaling"
).split(",")
AWS_PARTITION = os.environ.get("PORTAL_AWS_PARTITION", "aws")
# The account the administrator roles live in; empty: asked of STS with the portal's credentials.
AWS_ACCOUNT_ID = os.environ.get("PORTAL_AWS_ACCOUNT_ID", "")
# Who may assume the administrator and state roles: the portal's own principal (comma-separated
# ARNs). Empty: the identity that runs the bootstrap.
RUNNER_PRINCIPAL_ARNS = [arn for arn in os.environ.get("PORTAL_RUNNER_PRINCIPAL_ARNS", "").split(",") if arn]

# Every service's resources are named `<prefix>-<service name>`.
SERVICE_NAME_PREFIX = os.environ.get("PORTAL_SERVICE_NAME_PREFIX", "art-service")
STATE_BUCKET = os.environ.get("PORTAL_STATE_BUCKET", f"{SERVICE_NAME_PREFIX}-terraform-state")

INFRA_MODULES_DIR = BASE_DIR / "infra_modules"
WORKSPACES_DIR = Path(os.environ.get("PORTAL_WORKSPACES_DIR", STATE_DIR / "workspaces"))
TERRAFORM_BIN = os.environ.get("TERRAFORM_BIN", "terraform")

# The live repository (portal.liverepo): every applied change is committed there, one folder per
# state key. A local repository (bare or not; made when missing), pushed to the remote when one is set.
LIVE_REPOSITORY = Path(os.environ.get("PORTAL_LIVE_REPOSITORY", STATE_DIR / "live-repository"))
LIVE_REPOSITORY_REMOTE = os.environ.get("PORTAL_LIVE_REPOSITORY_REMOTE", "")
if LIVE_REPOSITORY_REMOTE and (
    LIVE_REPOSITORY_REMOTE.startswith("-")
    or any(c.isspace() or not c.isprintable() for c in LIVE_REPOSITORY_REMOTE)
    or not (
        urlparse(LIVE_REPOSITORY_REMOTE).scheme in {"https", "http", "ssh", "git", "file"}
        or LIVE_REPOSITORY_REMOTE.startswith("/")
        or (":" in LIVE_REPOSITORY_REMOTE and "://" not in LIVE_REPOSITORY_REMOTE)  # scp-like git@host:path
    )
):
    # The value is not repeated: it may carry a token.
    raise ImproperlyConfigured(
        "PORTAL_LIVE_REPOSITORY_REMOTE must be a git URL (https://, ssh://, git://, file://, user@host:path) "
        "or an absolute path, without spaces, and must not start with '-'."
    )
TERRAFORM_PLUGIN_CACHE_DIR = Path(
    os.environ.get("TF_PLUGIN_CACHE_DIR", STATE_DIR / "terraform-plugin-cache")
)
# A filesystem mirror of providers (offline machines). Empty: look in the usual places, else use
# the public registry.
TERRAFORM_PROVIDER_MIRROR = os.environ.get("PORTAL_TERRAFORM_PROVIDER_MIRROR", "")
TERRAFORM_PROVIDER_MIRROR_CANDIDATES = [
    "/opt/tf-plugins",
    "/usr/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    str(Path.home() / ".terraform.d" / "plugins"),
]

# Environment variables whose values must never reach a stored log line (the passwords inside
# DATABASE_URL and REDIS_URL are masked too, see portal.runs.masking).
SECRET_ENV_NAMES = ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "DJANGO_SECRET_KEY"]

# The only environment variables terraform is started with: what the AWS provider and the S3 backend
# read, and what a process needs to run. Nothing of the portal's own (DATABASE_URL, DJANGO_SECRET_KEY).
TERRAFORM_ENV_ALLOWED = [
    "PATH", "HOME", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "SSL_CERT_FILE", "SSL_CERT_DIR",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CA_BUNDLE", "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_EC2_METADATA_DISABLED",
    "TF_LOG", "TF_LOG_PATH",
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PORTAL_LOG_LEVEL", "INFO")},
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
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "portal.runs.models.RunStatus",
        "LifecycleEnum": "portal.catalog.models.Lifecycle",
        "WebhookEventEnum": "portal.notifications.models.Event",
    },
}
