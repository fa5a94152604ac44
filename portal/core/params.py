"""Query parameters the pages and the API read, parsed strictly: a malformed one is a bad request
(400) that says what is expected, never a 500 and never a silent default."""

import re

from django.core.exceptions import BadRequest

UNSIGNED, SIGNED = re.compile(r"[0-9]{1,15}", re.ASCII), re.compile(r"[+-]?[0-9]{1,15}", re.ASCII)


def ascii_int(text: str, *, signed: bool = False) -> int | None:
    """The int that text writes with the digits 0-9 only, else None. str.isdigit() and int() take
    '²' and Arabic-Indic digits, and int() raises on 5000 digits."""
    return int(text) if (SIGNED if signed else UNSIGNED).fullmatch(text) else None


class InvalidParameter(BadRequest):
    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def whole_number(params, name: str, *, default: int, minimum: int = 0, maximum: int = 10**12) -> int:
    """The parameter as an int in [minimum, maximum], written with the digits 0-9 only."""
    text = params.get(name)
    if text is None:
        return default
    number = ascii_int(text)
    if number is None or not minimum <= number <= maximum:
        raise InvalidParameter(name, f"give a whole number from {minimum} to {maximum}, written with the digits 0-9.")
    return int(text)
