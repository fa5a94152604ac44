"""The cluster's settings for its first provisioning, read from the environment and refused at start
when wrong (portal/settings.py calls these). No Django here: the settings are not loaded yet."""

from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

from portal.capacity.instance_types import INSTANCE_TYPES

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
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def offered_instance_types() -> str:
    return ", ".join(sorted(INSTANCE_TYPES, key=lambda name: (name.split(".")[0], INSTANCE_TYPES[name].vcpus, INSTANCE_TYPES[name].memory_mib)))


def cluster_defaults(environ: Mapping[str, str]) -> dict:
    """instance_type, min_size, max_size, desired_capacity from PORTAL_CLUSTER_*."""
    instance_type = environ.get("PORTAL_CLUSTER_INSTANCE_TYPE", DEFAULT_INSTANCE_TYPE)
    if instance_type not in INSTANCE_TYPES:
        raise ImproperlyConfigured(
            f"PORTAL_CLUSTER_INSTANCE_TYPE must be one of the instance types the portal knows "
            f"(portal/capacity/instance_types.csv): {offered_instance_types()}; got {instance_type[:40]!r}."
        )
    defaults = {"instance_type": instance_type}
    for setting, name, default, smallest in SIZES:
        text = environ.get(setting, str(default))
        if not (text.isascii() and text.isdigit() and smallest <= int(text) <= MAX_INSTANCES):
            raise ImproperlyConfigured(
                f"{setting} must be a whole number of instances from {smallest} to {MAX_INSTANCES}; got {text[:40]!r}."
            )
        defaults[name] = int(text)
    if not defaults["min_size"] <= defaults["desired_capacity"] <= defaults["max_size"]:
        raise ImproperlyConfigured(
            "PORTAL_CLUSTER_MIN_SIZE <= PORTAL_CLUSTER_DESIRED_CAPACITY <= PORTAL_CLUSTER_MAX_SIZE must hold; got "
            f"{defaults['min_size']}, {defaults['desired_capacity']} and {defaults['max_size']}."
        )
    return defaults


def awsvpc_trunking(environ: Mapping[str, str], *, on_emulator: bool) -> bool:
    """PORTAL_CLUSTER_AWSVPC_TRUNKING: on by default against AWS, off on the emulator, which has no
    PutAccountSettingDefault."""
    text = environ.get("PORTAL_CLUSTER_AWSVPC_TRUNKING")
    if text is None:
        return not on_emulator
    if text.lower() not in TRUE | FALSE:
        raise ImproperlyConfigured(f"PORTAL_CLUSTER_AWSVPC_TRUNKING must be true or false (or 1/0, yes/no, on/off); got {text[:40]!r}.")
    on = text.lower() in TRUE
    if on and on_emulator:
        raise ImproperlyConfigured(
            "PORTAL_CLUSTER_AWSVPC_TRUNKING cannot be on against the emulator (AWS_ENDPOINT_URL is set): it has no "
            "PutAccountSettingDefault, so the cluster's apply would fail. Leave it unset or false there."
        )
    return on
