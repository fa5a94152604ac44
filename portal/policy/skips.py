"""Checks that do not apply, and why.

The modules' own `#checkov:skip=ID:reason` comments (infra_modules/<module>/*.tf) sit inside the
resource they are about; a plan's JSON has no comments, so checkov on a plan cannot see them. They
are honoured here where they were written: for that resource of that module (a workspace
instantiates its module as `module.this`), not for the check everywhere. PORTAL_POLICY_SKIPS skips
a check everywhere, with its reason."""

import re
from functools import cache
from pathlib import Path

from django.conf import settings

RESOURCE = re.compile(r'^resource\s+"(?P<type>[^"]+)"\s+"(?P<name>[^"]+)"')
SKIP = re.compile(r"#\s*checkov:skip=(?P<check>[A-Z0-9_]+)(?::(?P<reason>.*))?$")
INDEX = re.compile(r"\[[^\]]*\]")


@cache
def module_skips(module: str) -> dict[tuple[str, str], str]:
    """(resource address inside the module, check id) -> reason, from the module's comments."""
    skips = {}
    for path in sorted(Path(settings.INFRA_MODULES_DIR, module).glob("*.tf")):
        resource = None
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if found := RESOURCE.match(stripped):
                resource = f"{found['type']}.{found['name']}"
            elif (found := SKIP.match(stripped)) and resource:
                skips[(resource, found["check"])] = (found["reason"] or "").strip() or "skipped in the module"
    return skips


def reason_skipped(module: str, check_id: str, address: str) -> str | None:
    if check_id in settings.POLICY_SKIPS:
        return settings.POLICY_SKIPS[check_id]
    prefix = "module.this."
    if not address.startswith(prefix):
        return None
    return module_skips(module).get((INDEX.sub("", address[len(prefix) :]), check_id))
