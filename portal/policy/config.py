"""The policy settings, parsed and checked when the settings load (portal/settings.py): a typo in a
severity or a check id should stop the portal at start, not let a plan through."""

import json
import re

from django.core.exceptions import ImproperlyConfigured

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


def severity(name: str, value: str) -> str:
    value = value.strip().upper()
    if value not in SEVERITIES:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(SEVERITIES)} (got {value!r}).")
    return value


def severities(name: str, raw: str | None) -> dict[str, str]:
    """PORTAL_POLICY_SEVERITIES: a JSON object of check id -> severity, added to (and overriding) the
    portal's defaults."""
    if not raw:
        return dict(DEFAULT_SEVERITIES)
    mapping = _json_object(name, raw)
    return {**DEFAULT_SEVERITIES, **{_check_id(name, check): severity(name, str(value)) for check, value in mapping.items()}}


def blocking(name: str, raw: str) -> frozenset[str]:
    """PORTAL_POLICY_BLOCKING: comma-separated severities that block approval; empty blocks none."""
    return frozenset(severity(name, part) for part in raw.split(",") if part.strip())


def skips(name: str, raw: str | None) -> dict[str, str]:
    """PORTAL_POLICY_SKIPS: a JSON object of check id -> the reason it does not apply (required)."""
    if not raw:
        return dict(DEFAULT_SKIPS)
    mapping = _json_object(name, raw)
    for check, reason in mapping.items():
        _check_id(name, check)
        if not isinstance(reason, str) or len(reason.strip()) < 10:
            raise ImproperlyConfigured(f"{name}: {check} needs a reason of at least 10 characters.")
    return {check: reason.strip() for check, reason in mapping.items()}


def _json_object(name: str, raw: str) -> dict:
    try:
        mapping = json.loads(raw)
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict):
        raise ImproperlyConfigured(f'{name} must be a JSON object, e.g. {{"CKV_AWS_51": "HIGH"}}.')
    return mapping


def _check_id(name: str, check: str) -> str:
    if not CHECK_ID.match(check):
        raise ImproperlyConfigured(f"{name}: {check!r} is not a checkov check id (e.g. CKV_AWS_51, CKV2_AWS_5).")
    return check
