"""HCL values written by the portal: strings and flat objects, quoted so that no value can start a
template (`${...}`, `%{...}`)."""

import json


def hcl_string(value: str) -> str:
    """An HCL string: JSON quoting is HCL's, once its template sequences are escaped."""
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def hcl_object(values: dict[str, str]) -> str:
    """An HCL object of strings."""
    return "{" + ",".join(f"{name}={hcl_string(value)}" for name, value in values.items()) + "}"
