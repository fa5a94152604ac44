"""One way to read a setting from the environment. Each reader returns the typed value or refuses the
setting when the settings load, with ImproperlyConfigured naming the setting, the value it got and
what it accepts: a typo in a boolean must stop the portal at start, not read as false.

No Django settings here (they are what is being read) and no models: portal/settings.py, the
gunicorn configuration and bin/portal call these before anything else is loaded.

Every reader records what it read in REGISTRY, with a value the setting refuses, so that
tests/test_setting_readers.py tries each typed setting with a bad value without a list of its own.
"""

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

from portal.core.params import ascii_int

TRUE = ("true", "1", "yes", "on")
FALSE = ("false", "0", "no", "off")
BOOLEAN = "true or false, or 1/0, yes/no, on/off"
# A setting whose name holds one of these words never has its value repeated in a message.
SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN", "KEY")


@dataclass(frozen=True)
class Setting:
    """What a reader read: the setting's name, the reader, what it accepts, a value it refuses (None:
    every value is taken, e.g. a free-form name), and whether its value is never repeated."""

    name: str
    reader: str
    accepts: str
    refused: str | None
    secret: bool = False


REGISTRY: dict[str, Setting] = {}


def is_secret(name: str) -> bool:
    return any(word in name.upper() for word in SECRET_WORDS)


def shown(name: str, value: str, *, secret: bool = False) -> str:
    """The value as a message quotes it: never a secret's, and never a page of it."""
    if secret or is_secret(name):
        return "a value not repeated here"
    return repr(value if len(value) <= 80 else value[:80] + "...")


def refuse(name: str, value: str, accepts: str, *, why: str = "", secret: bool = False) -> ImproperlyConfigured:
    """The refusal every reader raises: `NAME must be <accepts> (got <value>). <why>`. Checks that
    belong to one setting's meaning (portal.policy.config, portal.access.sso_settings) use it too."""
    message = f"{name} must be {accepts} (got {shown(name, value, secret=secret)})."
    return ImproperlyConfigured(f"{message} {why}" if why else message)


def _record(name: str, reader: str, accepts: str, refused: str | None, secret: bool = False) -> None:
    REGISTRY[name] = Setting(name, reader, accepts, refused, secret or is_secret(name))


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    return (os.environ if environ is None else environ).get(name)


def boolean(name: str, default: bool, *, why: str = "", environ: Mapping[str, str] | None = None) -> bool:
    """true/false, 1/0, yes/no, on/off in any case, spaces around ignored; unset: the default.
    Anything else (an empty value included) is refused."""
    _record(name, "boolean", BOOLEAN, "treu")
    value = _raw(name, environ)
    if value is None:
        return default
    word = value.strip().lower()
    if word in TRUE:
        return True
    if word in FALSE:
        return False
    raise refuse(name, value, BOOLEAN, why=why)


def whole_number_accepts(minimum: int | None, maximum: int | None, unit: str = "", minimum_name: str = "", maximum_name: str = "") -> str:
    """'a whole number of seconds from 1 to 3600', 'a whole number, at least 1'."""
    what = f"a whole number of {unit}" if unit else "a whole number"
    low = f"{minimum_name} ({minimum})" if minimum_name else str(minimum)
    high = f"{maximum_name} ({maximum})" if maximum_name else str(maximum)
    if minimum is not None and maximum is not None:
        return f"{what} from {low} to {high}"
    if minimum is not None:
        return f"{what}, at least {low}"
    if maximum is not None:
        return f"{what}, at most {high}"
    return what


def integer(
    name: str,
    default: int,
    *,
    minimum: int | None = 0,
    maximum: int | None = None,
    unit: str = "",
    minimum_name: str = "",
    maximum_name: str = "",
    why: str = "",
    environ: Mapping[str, str] | None = None,
) -> int:
    """A whole number written with the digits 0-9 only (not '²', not '1e3', not empty) within
    [minimum, maximum]; unset: the default. minimum_name/maximum_name say which setting a bound
    comes from."""
    accepts = whole_number_accepts(minimum, maximum, unit, minimum_name, maximum_name)
    _record(name, "integer", accepts, "many")
    value = _raw(name, environ)
    # The default is checked too: a bound may come from another setting (PORTAL_TOKEN_MAX_DAYS=30
    # leaves no room for PORTAL_TOKEN_DEFAULT_DAYS' 90).
    number = default if value is None else ascii_int(value)
    if number is None or (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        if value is None:
            raise ImproperlyConfigured(f"{name} must be {accepts} (unset, its default is {default}). Set it. {why}".strip())
        raise refuse(name, value, accepts, why=why)
    return number


def seconds(name: str, default: int, *, minimum: int = 1, maximum: int | None = None, why: str = "", environ: Mapping[str, str] | None = None) -> int:
    """A duration in whole seconds, at least 1 unless said otherwise."""
    return integer(name, default, minimum=minimum, maximum=maximum, unit="seconds", why=why, environ=environ)


def days(
    name: str, default: int, *, minimum: int = 1, maximum: int | None = None, maximum_name: str = "", why: str = "", environ: Mapping[str, str] | None = None
) -> int:
    """A duration in whole days, at least 1 unless said otherwise."""
    return integer(name, default, minimum=minimum, maximum=maximum, maximum_name=maximum_name, why=why, environ=environ)


def choice(
    name: str, default: str, choices: Iterable[str], *, ignore_case: bool = False, accepts: str = "", why: str = "", environ: Mapping[str, str] | None = None
) -> str:
    """One of choices, spelled exactly (or in any case, given back as choices spell it); unset: the
    default. A long list is better said in `accepts`."""
    choices = tuple(choices)
    accepts = accepts or f"one of {', '.join(choices)}"
    _record(name, "choice", accepts, "not-a-choice")
    value = _raw(name, environ)
    if value is None:
        return default
    word = value.strip()
    for spelling in choices:
        if word == spelling or (ignore_case and word.upper() == spelling.upper()):
            return spelling
    raise refuse(name, value, accepts, why=why)


def text(
    name: str,
    default: str,
    *,
    allow_empty: bool = True,
    strip: bool = False,
    pattern: str = "",
    accepts: str = "",
    check: Callable[[str], bool] | None = None,
    secret: bool = False,
    refused: str | None = None,
    why: str = "",
    environ: Mapping[str, str] | None = None,
) -> str:
    """A string as given (a name, an ARN), or stripped of spaces around it. Refused when empty and
    allow_empty is False, when it does not fullmatch pattern, or when check(value) is false; `accepts`
    says what it takes then. `refused`: a value the setting refuses, where a check right after the
    read (one with a message of its own) refuses it rather than this reader."""
    accepts = accepts or (f"text matching {pattern}" if pattern else "a value that is not empty")
    if refused is None and (pattern or check or not allow_empty):
        # A value the pattern or check refuses, or an empty one: the start test tries it.
        refused = "" if not allow_empty else "?not valid?"
    _record(name, "text", accepts, refused, secret)
    value = _raw(name, environ)
    if value is None:
        value = default
    elif strip:
        value = value.strip()
    if value == "":
        if allow_empty:
            return value
        raise refuse(name, _raw(name, environ) or "", accepts, why=why, secret=secret)
    if (pattern and not re.fullmatch(pattern, value)) or (check and not check(value)):
        raise refuse(name, value, accepts, why=why, secret=secret)
    return value


def url(
    name: str, default: str, *, schemes: Iterable[str], allow_empty: bool = False, secret: bool = False, why: str = "", environ: Mapping[str, str] | None = None
) -> str:
    """A URL with one of schemes and a host (or a path, for file-like schemes such as unix://)."""
    schemes = tuple(schemes)
    accepts = " or ".join(f"{'an' if scheme[0] in 'aeioh' else 'a'} {scheme}:// URL" for scheme in schemes) + (", or empty" if allow_empty else "")
    _record(name, "url", accepts, "not a url", secret)
    value = _raw(name, environ)
    if value is None:
        value = default
    if value == "" and allow_empty:
        return value
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not (parsed.netloc or parsed.path) or any(c.isspace() or not c.isprintable() for c in value):
        raise refuse(name, value, accepts, why=why, secret=secret)
    try:
        parsed.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise refuse(name, value, accepts, why=why, secret=secret) from None
    return value


def path(
    name: str, default: str | Path, *, absolute: bool = False, optional: bool = False, why: str = "", environ: Mapping[str, str] | None = None
) -> Path | None:
    """A filesystem path (absolute if asked); unset: the default. optional: empty means none (None)."""
    accepts = ("an absolute path" if absolute else "a path") + (", or empty for none" if optional else "")
    refused = "relative/path" if absolute else (None if optional else "")
    _record(name, "path", accepts, refused)
    value = _raw(name, environ)
    if value is None:
        value = str(default)
    if value == "" and optional:
        return None
    if value == "" or (absolute and not Path(value).is_absolute()):
        raise refuse(name, value, accepts, why=why)
    return Path(value)


def comma_list(
    name: str,
    default: str,
    *,
    item: Callable[[str], object] | None = None,
    accepts_item: str = "",
    minimum: int = 0,
    maximum: int | None = None,
    refused: str | None = None,
    why: str = "",
    environ: Mapping[str, str] | None = None,
) -> list:
    """Comma-separated values, each stripped, empty ones dropped; unset: the default's. item(part)
    gives each value as the setting means it, and refuses one with ValueError (or by returning
    False); their count must be within [minimum, maximum]."""
    accepts = f"{accepts_item or 'values'}, comma-separated"
    if minimum or maximum is not None:
        accepts += f", {minimum} to {maximum}" if maximum is not None else f", at least {minimum}"
    _record(name, "comma_list", accepts, refused)
    value = _raw(name, environ)
    if value is None:
        value = default
    items = []
    for part in (part.strip() for part in value.split(",")):
        if not part:
            continue
        try:
            parsed = part if item is None else item(part)
        except ValueError as exc:
            reason = str(exc) or f"{shown(name, part)} is not an accepted entry."
        else:
            if parsed is not False:
                items.append(part if parsed is True else parsed)
                continue
            reason = f"{shown(name, part)} is not an accepted entry."
        # The entry first: in a long list, which one is wrong is what the reader looks for.
        raise ImproperlyConfigured(f"{name}: {reason} {refuse(name, value, accepts, why=why)}")
    if len(items) < minimum or (maximum is not None and len(items) > maximum):
        raise refuse(name, value, accepts, why=why)
    return items


def whole_numbers(name: str, default: str, *, minimum: int = 0, unit: str = "", why: str = "", environ: Mapping[str, str] | None = None) -> list[int]:
    """Comma-separated whole numbers (e.g. retry intervals in seconds); empty: none."""

    def number(part: str) -> int:
        parsed = ascii_int(part)
        if parsed is None or parsed < minimum:
            raise ValueError(f"{part!r} is not a whole number{f' of {unit}' if unit else ''}, at least {minimum}.")
        return parsed

    each = f"whole numbers of {unit}" if unit else "whole numbers"
    return comma_list(name, default, item=number, accepts_item=f"{each}, at least {minimum}", refused="10,soon", why=why, environ=environ)


def json_mapping(
    name: str, default: dict | None = None, *, example: str = '{"name": "value"}', why: str = "", environ: Mapping[str, str] | None = None
) -> dict:
    """A JSON object (what its values mean is for the caller to check); unset or empty: the default."""
    accepts = f"a JSON object, e.g. {example}"
    _record(name, "json_mapping", accepts, '["not", "an", "object"]')
    value = _raw(name, environ)
    if value is None or not value.strip():
        return dict(default or {})
    try:
        mapping = json.loads(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not valid JSON ({exc}). {refuse(name, value, accepts, why=why)}") from None
    if not isinstance(mapping, dict):
        raise refuse(name, value, accepts, why=why)
    return mapping
