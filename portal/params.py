"""Query parameters the pages and the API read, parsed strictly: a malformed one is a bad request
(400) that says what is expected, never a 500 and never a silent default."""

import re

from django.core.exceptions import BadRequest

DIGITS = re.compile(r"[0-9]{1,15}", re.ASCII)


class InvalidParameter(BadRequest):
    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def whole_number(params, name: str, *, default: int, minimum: int = 0, maximum: int = 10**12) -> int:
    """The parameter as an int in [minimum, maximum], written with the digits 0-9 only
    (str.isdigit() accepts '²' and Arabic-Indic digits; int() chokes on 5000 digits)."""
    text = params.get(name)
    if text is None:
        return default
    if not DIGITS.fullmatch(text) or not minimum <= int(text) <= maximum:
        raise InvalidParameter(name, f"give a whole number from {minimum} to {maximum}, written with the digits 0-9.")
    return int(text)
