"""The cluster's settings for its first provisioning, read from the environment and refused at start
when wrong (portal/settings.py calls these). No Django here: the settings are not loaded yet."""

from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

from portal.capacity.instance_types import INSTANCE_TYPES
from portal.core import setting_readers as read

# A bound on the group, not an AWS limit (a cluster holds 5,000 container instances): a typo of a
# zero too many would otherwise cost that many instances. Past it, more clusters (README, "Scale").
MAX_INSTANCES = 100

SIZES = (
    # (setting, input, default, smallest)
    ("PORTAL_CLUSTER_MIN_SIZE", "min_size", 1, 0),
    ("PORTAL_CLUSTER_MAX_SIZE", "max_size", 3, 1),
    ("PORTAL_CLUSTER_DESIRED_CAPACITY", "desired_capacity", 1, 0),
)
DEFAULT_INSTANCE_TYPE = "m6i.large"


def offered_instance_types() -> str:
    return ", ".join(sorted(INSTANCE_TYPES, key=lambda name: (name.split(".")[0], INSTANCE_TYPES[name].vcpus, INSTANCE_TYPES[name].memory_mib)))


def cluster_defaults(environ: Mapping[str, str]) -> dict:
    """instance_type, min_size, max_size, desired_capacity from PORTAL_CLUSTER_*."""
    defaults = {
        "instance_type": read.choice(
            "PORTAL_CLUSTER_INSTANCE_TYPE",
            DEFAULT_INSTANCE_TYPE,
            INSTANCE_TYPES,
            accepts=f"one of the instance types the portal knows (portal/capacity/instance_types.csv): {offered_instance_types()}",
            environ=environ,
        )
    }
    for setting, name, default, smallest in SIZES:
        defaults[name] = read.integer(setting, default, minimum=smallest, maximum=MAX_INSTANCES, unit="instances", environ=environ)
    if not defaults["min_size"] <= defaults["desired_capacity"] <= defaults["max_size"]:
        raise ImproperlyConfigured(
            "PORTAL_CLUSTER_MIN_SIZE <= PORTAL_CLUSTER_DESIRED_CAPACITY <= PORTAL_CLUSTER_MAX_SIZE must hold; got "
            f"{defaults['min_size']}, {defaults['desired_capacity']} and {defaults['max_size']}."
        )
    return defaults


def awsvpc_trunking(environ: Mapping[str, str], *, on_emulator: bool) -> bool:
    """PORTAL_CLUSTER_AWSVPC_TRUNKING: on by default against AWS, off on the emulator, which has no
    PutAccountSettingDefault."""
    on = read.boolean("PORTAL_CLUSTER_AWSVPC_TRUNKING", not on_emulator, environ=environ)
    if on and on_emulator:
        raise ImproperlyConfigured(
            "PORTAL_CLUSTER_AWSVPC_TRUNKING cannot be on against the emulator (AWS_ENDPOINT_URL is set): it has no "
            "PutAccountSettingDefault, so the cluster's apply would fail. Leave it unset or false there."
        )
    return on
