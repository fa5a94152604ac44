"""Secrets are masked before a log line, an error or a traceback is stored."""

import os
from urllib.parse import urlparse

from django.conf import settings

MASK = "********"


def secret_values() -> list[str]:
    values = [os.environ.get(name, "") for name in settings.SECRET_ENV_NAMES]
    values += [settings.SECRET_KEY, settings.DATABASES["default"].get("PASSWORD", "")]
    values += [urlparse(url).password or "" for url in (settings.REDIS_URL, os.environ.get("DATABASE_URL", ""))]
    # Longest first, so a secret that contains another is masked whole.
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)


def mask_secrets(text: str, secrets: list[str] | None = None) -> str:
    for value in secrets if secrets is not None else secret_values():
        text = text.replace(value, MASK)
    return text
