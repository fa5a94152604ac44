from django.conf import settings
import os

MASK = "********"


def secret_values() -> list[str]:
    values = [os.environ.get(name, "") for name in settings.SECRET_ENV_NAMES]
    # Longest first, so a secret that contains another is masked whole.
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def mask_secrets(text: str, secrets: list[str] | None = None) -> str:
    for value in secrets if secrets is not None else secret_values():
        text = text.replace(value, MASK)
    return text
