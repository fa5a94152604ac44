"""What AWS accepts for a service declaration, as Django validators.

The same rules are enforced again by the Terraform modules; here they give the person at the form a
clear message before anything is rendered.
"""

import re
from datetime import datetime, timedelta
from itertools import pairwise

from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinLengthValidator,
    MinValueValidator,
    RegexValidator,
)

# The name becomes part of the ECR repository, ECS service, log group and IAM role names
# (`<prefix>-<name>-execution` must fit IAM's 64 characters). Target group names (32 characters) are
# shortened by the ecs-service module itself.
NAME_MIN_LENGTH, NAME_MAX_LENGTH = 3, 32
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*\Z")
name_validators = [
    RegexValidator(
        NAME_PATTERN,
        "Use lowercase letters, digits and single hyphens; start with a letter and end with a letter or digit (e.g. sourcing-data-service).",
    ),
    MinLengthValidator(NAME_MIN_LENGTH, f"Use at least {NAME_MIN_LENGTH} characters."),
    MaxLengthValidator(NAME_MAX_LENGTH, f"Use at most {NAME_MAX_LENGTH} characters."),
]
NAME_TAKEN = "A service with this name is already registered."

# Names that are pages of the portal (/services/register/): a service of that name could never be
# reached. A test keeps this list in step with the URLs.
RESERVED_NAMES = frozenset({"register"})


def not_reserved(name: str) -> None:
    if name in RESERVED_NAMES:
        raise ValidationError(f"'{name}' is reserved: it is the address of a page of the portal.", code="reserved")


name_validators.append(not_reserved)


def is_well_formed_name(text: str) -> bool:
    """Whether text could be a service's name at all: checked before a name from a URL reaches a
    query (PostgreSQL refuses NUL bytes outright)."""
    return NAME_MIN_LENGTH <= len(text) <= NAME_MAX_LENGTH and bool(NAME_PATTERN.match(text))


port_validators = [
    MinValueValidator(1, "A port is between 1 and 65535."),
    MaxValueValidator(65535, "A port is between 1 and 65535."),
]

# ECS task size on EC2: 128 CPU units (0.125 vCPU) to 196608 (192 vCPU).
CPU_MIN, CPU_MAX = 128, 196608
cpu_validators = [
    MinValueValidator(CPU_MIN, f"ECS needs at least {CPU_MIN} CPU units (0.125 vCPU)."),
    MaxValueValidator(CPU_MAX, f"ECS accepts at most {CPU_MAX} CPU units (192 vCPU)."),
]

# Memory in MiB. ECS refuses a container under 6 MiB; below 128 MiB no real service starts.
MEMORY_MIN, MEMORY_MAX = 128, 786432
memory_validators = [
    MinValueValidator(MEMORY_MIN, f"Give the service at least {MEMORY_MIN} MiB of memory."),
    MaxValueValidator(MEMORY_MAX, f"ECS accepts at most {MEMORY_MAX} MiB (768 GiB)."),
]

# The task sizes the pages offer, CPU units => memory in MiB: the pairs Fargate accepts. The
# ecs-service module (EC2 launch type) accepts any cpu and memory within the ranges above, and so does
# the API (its clients send such values today); every pair here is within them. The pages offer only
# these, so a size picked in the form is one both launch types run.
TASK_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}


def vcpus(cpu: int) -> str:
    """CPU units as vCPUs: 256 -> '0.25 vCPU', 2048 -> '2 vCPU'."""
    return f"{cpu / 1024:g} vCPU"


def validate_task_size(cpu: int, memory: int, sizes: dict[int, tuple[int, ...]] = TASK_SIZES) -> None:
    """Refuses a cpu that is not offered (the error names cpu) or a memory the cpu is not offered
    with (names memory), each saying what to choose instead."""
    if cpu not in sizes:
        raise ValidationError({"cpu": ValidationError(f"Choose a task size ECS accepts: {listed(sorted(sizes), 'CPU units')}.", code="task_size")})
    if memory not in sizes[cpu]:
        raise ValidationError(
            {"memory": ValidationError(f"With {cpu} CPU units ({vcpus(cpu)}), choose {listed(sorted(sizes[cpu]), 'MiB')}.", code="task_size")}
        )


def listed(values: list[int], unit: str) -> str:
    """[512, 1024, 2048] -> '512, 1024 or 2048 MiB'; a long even run as '4096 to 16384 MiB in steps of 1024'."""
    steps = {b - a for a, b in pairwise(values)}
    if len(values) > 4 and len(steps) == 1:
        return f"{values[0]} to {values[-1]} {unit} in steps of {steps.pop()}"
    return " or ".join(filter(None, [", ".join(map(str, values[:-1])), str(values[-1])])) + f" {unit}"


# What one platform holds. Each service has a target group and a listener rule on the platform's one
# Application Load Balancer, which takes at most 100 target groups (a quota AWS does not raise) and,
# by default, 100 rules besides the default one ("Quotas for your Application Load Balancers"). Past
# it, a platform of its own (another PORTAL_SERVICE_NAME_PREFIX), not a bigger one. The listener rule
# priorities 1 to 100 are the slots: one per live service.
LOAD_BALANCER_SERVICE_SLOTS = 100
PLATFORM_FULL = (
    "The platform holds {slots} services, as many as its load balancer can route to (one target group and one "
    "listener rule each; an Application Load Balancer takes at most 100 target groups, a quota AWS does not "
    "raise). Decommission a service you no longer need, or ask an admin for a second platform (its own "
    "PORTAL_SERVICE_NAME_PREFIX)."
)

# An ECS service runs at most 5000 tasks.
DESIRED_COUNT_MAX = 5000
desired_count_validators = [
    MinValueValidator(0, "The desired count cannot be negative."),
    MaxValueValidator(DESIRED_COUNT_MAX, f"An ECS service runs at most {DESIRED_COUNT_MAX} tasks."),
]

# Characters an ALB accepts in a health check path, and its longest.
HEALTH_CHECK_PATH_MAX_LENGTH = 1024
health_check_path_validators = [
    RegexValidator(
        r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*\Z",
        "Start with / and use only URL path characters (letters, digits and -._~!$&'()*+,;=:@%%/).",
    ),
]

# Docker image tag grammar.
image_tag_validators = [
    RegexValidator(
        r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z",
        "An image tag is 1 to 128 letters, digits, '_', '.' or '-', and does not start with '.' or '-'.",
    ),
]

# Container secrets: references only (a secret's ARN), never a value. The ecs-service and
# workload-roles modules check the same grammar; the execution role is granted exactly these ARNs.
SECRETS_MAX = 50
SECRET_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}\Z")
SECRET_ARN_PATTERN = re.compile(
    r"^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+"
    r"|ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9/_.-]+)\Z"
)


def validate_secrets(secrets) -> None:
    """Every problem at once, naming the variable, and never echoing what was given as a value:
    it may be the secret itself, pasted by mistake."""
    if not isinstance(secrets, dict):
        raise ValidationError("Give the secrets as variable name => ARN pairs.", code="invalid")
    problems = []
    if len(secrets) > SECRETS_MAX:
        problems.append(ValidationError(f"Give at most {SECRETS_MAX} secrets.", code="max_secrets"))
    for name, arn in secrets.items():
        shown = name if isinstance(name, str) and SECRET_NAME_PATTERN.match(name) else None
        if shown is None:
            problems.append(
                ValidationError(
                    "A secret's name must be a variable name: letters, digits and underscores, not starting with a digit.",
                    code="secret_name",
                )
            )
        elif not isinstance(arn, str) or not SECRET_ARN_PATTERN.match(arn):
            problems.append(
                ValidationError(
                    f"{shown}: give the ARN of a Secrets Manager secret (arn:aws:secretsmanager:<region>:<account>:"
                    "secret:<name>) or of an SSM parameter (arn:aws:ssm:<region>:<account>:parameter/<name>), "
                    "never the secret's value.",
                    code="secret_arn",
                )
            )
    if problems:
        raise ValidationError(problems)


# --- environments that end ----------------------------------------------------------------------
# An end date this close is refused: the portal must have time to warn before it decommissions.
ENDS_AT_LEAST_AHEAD = timedelta(hours=1)
ENDS_AT_MOST_AHEAD = timedelta(days=365)


def end_refusal(ends_at: datetime, now: datetime) -> str | None:
    """Why `ends_at` cannot be a service's end; None when it can."""
    if ends_at < now + ENDS_AT_LEAST_AHEAD:
        return "The end must be at least an hour from now: the portal warns the team before it decommissions the service."
    if ends_at > now + ENDS_AT_MOST_AHEAD:
        return "The end must be within a year; a service that lives longer is registered without one."
    return None
