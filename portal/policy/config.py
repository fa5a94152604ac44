"""The policy settings, parsed and checked when the settings load (portal/settings.py): a typo in a
severity or a check id should stop the portal at start, not let a plan through."""

import re

from django.core.exceptions import ImproperlyConfigured

from portal.core import setting_readers as read

SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
CHECK_ID = re.compile(r"\ACKV2?_[A-Z0-9]+_\d+\Z")

# The portal's own mapping (checkov without a Prisma Cloud key reports no severity): the checks a
# reviewer should not wave through. Every check not named here has POLICY_DEFAULT_SEVERITY. The
# portal's modules pass all of these; a plan that fails one was written or changed by hand.
DEFAULT_SEVERITIES = {
    "CKV_AWS_20": "CRITICAL",  # S3 bucket readable by everyone (ACL)
    "CKV_AWS_57": "CRITICAL",  # S3 bucket writable by everyone (ACL)
    "CKV_AWS_24": "CRITICAL",  # SSH (22) open to 0.0.0.0/0
    "CKV_AWS_25": "CRITICAL",  # RDP (3389) open to 0.0.0.0/0
    "CKV_AWS_41": "CRITICAL",  # AWS access keys written in a provider block
    "CKV_AWS_46": "HIGH",  # secrets in EC2 user data
    "CKV_AWS_51": "HIGH",  # ECR tags mutable: a tag could name another image than the one reviewed
    "CKV_AWS_163": "HIGH",  # ECR images not scanned on push
    "CKV_AWS_53": "HIGH",  # S3 public access block: public ACLs not blocked
    "CKV_AWS_54": "HIGH",  # ... public policies not blocked
    "CKV_AWS_55": "HIGH",  # ... public ACLs not ignored
    "CKV_AWS_56": "HIGH",  # ... public buckets not restricted
    "CKV_AWS_79": "HIGH",  # instance metadata v1 (no session tokens)
}

# Checks skipped everywhere, with the reason shown on the run page. Empty: the modules' own skips
# (their `#checkov:skip=` comments) are honoured where they were written, see portal.policy.skips.
DEFAULT_SKIPS: dict[str, str] = {}


def severity(name: str, default: str) -> str:
    """PORTAL_POLICY_DEFAULT_SEVERITY: one of SEVERITIES, in any case."""
    return read.choice(name, default, SEVERITIES, ignore_case=True)


def severities(name: str) -> dict[str, str]:
    """PORTAL_POLICY_SEVERITIES: a JSON object of check id -> severity, added to (and overriding) the
    portal's defaults."""
    mapping = read.json_mapping(name, example='{"CKV_AWS_51": "HIGH"}')
    try:
        return {**DEFAULT_SEVERITIES, **{_check_id(name, check): _severity(value) for check, value in mapping.items()}}
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None


def blocking(name: str, default: str) -> frozenset[str]:
    """PORTAL_POLICY_BLOCKING: comma-separated severities that block approval; empty blocks none."""
    return frozenset(
        read.comma_list(
            name,
            default,
            item=_severity,
            accepts_item=f"severities ({', '.join(SEVERITIES)})",
            refused="HIGH,SEVERE",
        )
    )


def skips(name: str) -> dict[str, str]:
    """PORTAL_POLICY_SKIPS: a JSON object of check id -> the reason it does not apply (required)."""
    mapping = read.json_mapping(name, DEFAULT_SKIPS, example='{"CKV_AWS_51": "why it does not apply here"}')
    for check, reason in mapping.items():
        _check_id(name, check)
        if not isinstance(reason, str) or len(reason.strip()) < 10:
            raise ImproperlyConfigured(f"{name}: {check} needs a reason of at least 10 characters.")
    return {check: reason.strip() for check, reason in mapping.items()}


def _severity(value) -> str:
    """A severity in any case, given back in capitals; ValueError naming it otherwise."""
    word = str(value).strip().upper()
    if word not in SEVERITIES:
        raise ValueError(f"{str(value)!r} is not a severity: one of {', '.join(SEVERITIES)}.")
    return word


def _check_id(name: str, check: str) -> str:
    if not CHECK_ID.match(check):
        raise ImproperlyConfigured(f"{name}: {check!r} is not a checkov check id (e.g. CKV_AWS_51, CKV2_AWS_5).")
    return check
