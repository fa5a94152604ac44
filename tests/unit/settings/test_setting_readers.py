"""One way to read a setting (portal/core/setting_readers.py): each reader takes what it documents, refuses
anything else with the setting's name, the value it got (never a secret's) and what it accepts; and
every typed setting of the settings module and of gunicorn's configuration stops them at start when
it is wrong. No database, no services: the readers read a dict, the start checks a subprocess."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.core import setting_readers as read
from tests.conftest import ROOT


def refusal(reader, *args, **kwargs) -> str:
    with pytest.raises(ImproperlyConfigured) as refused:
        reader(*args, **kwargs)
    return str(refused.value)


# --- boolean ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, expected",
    [
        ("true", True),
        ("TRUE", True),
        ("True", True),
        (" yes ", True),
        ("1", True),
        ("on", True),
        ("false", False),
        ("FALSE", False),
        ("0", False),
        ("no", False),
        ("Off", False),
        (" off\n", False),
    ],
)
def test_a_boolean_takes_true_false_1_0_yes_no_on_off_in_any_case(value, expected):
    assert read.boolean("PORTAL_X", not expected, environ={"PORTAL_X": value}) is expected


@pytest.mark.parametrize("default", [True, False])
def test_an_unset_boolean_is_its_default(default):
    assert read.boolean("PORTAL_X", default, environ={}) is default


@pytest.mark.parametrize("value", ["treu", "", "2", "y", "enabled", "true false"])
def test_a_boolean_that_is_none_of_them_is_refused_not_read_as_false(value):
    says = refusal(read.boolean, "PORTAL_CATALOGUE_OPEN", True, environ={"PORTAL_CATALOGUE_OPEN": value})

    assert says.startswith(f"PORTAL_CATALOGUE_OPEN must be true or false, or 1/0, yes/no, on/off (got {value!r}).")


# --- integer, seconds, days ---------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [("0", 0), ("7", 7), ("100", 100), ("007", 7)])
def test_an_integer_takes_a_whole_number_within_its_bounds(value, expected):
    assert read.integer("PORTAL_X", 5, minimum=0, maximum=100, environ={"PORTAL_X": value}) == expected


@pytest.mark.parametrize("value", ["", " ", "five", "²", "١", "1e3", "1.5", "-1", "+3", "101", "9" * 5000])
def test_an_integer_that_is_not_a_whole_number_within_bounds_is_refused_saying_the_bounds(value):
    says = refusal(read.integer, "PORTAL_X", 5, minimum=0, maximum=100, environ={"PORTAL_X": value})

    assert says.startswith("PORTAL_X must be a whole number from 0 to 100 (got ")
    assert len(says) < 300, "a long value is cut, not repeated whole"


def test_an_integer_says_its_unit_and_open_bounds():
    assert "PORTAL_X must be a whole number of seconds, at least 1 (got '0')." in refusal(read.seconds, "PORTAL_X", 5, environ={"PORTAL_X": "0"})
    assert "PORTAL_X must be a whole number, at most 10 (got '11')." in refusal(
        read.integer, "PORTAL_X", 5, minimum=None, maximum=10, environ={"PORTAL_X": "11"}
    )
    assert read.seconds("PORTAL_X", 5, minimum=0, environ={"PORTAL_X": "0"}) == 0
    assert read.days("PORTAL_X", 90, environ={}) == 90


def test_a_bound_taken_from_another_setting_is_named_and_checks_the_default_too():
    says = refusal(read.days, "PORTAL_TOKEN_DEFAULT_DAYS", 90, maximum=30, maximum_name="PORTAL_TOKEN_MAX_DAYS", environ={})

    assert says.startswith("PORTAL_TOKEN_DEFAULT_DAYS must be a whole number from 1 to PORTAL_TOKEN_MAX_DAYS (30) (unset, its default is 90).")


# --- choice -------------------------------------------------------------------------------------
def test_a_choice_takes_one_of_its_spellings_exactly_unless_case_is_ignored():
    assert read.choice("PORTAL_NAT_MODE", "single", ("single", "per_az"), environ={"PORTAL_NAT_MODE": "per_az"}) == "per_az"
    assert read.choice("PORTAL_NAT_MODE", "single", ("single", "per_az"), environ={}) == "single"
    assert read.choice("PORTAL_LOG_LEVEL", "INFO", ("INFO", "DEBUG"), ignore_case=True, environ={"PORTAL_LOG_LEVEL": "debug"}) == "DEBUG"
    says = refusal(read.choice, "PORTAL_NAT_MODE", "single", ("single", "per_az"), environ={"PORTAL_NAT_MODE": "Single"})

    assert says == "PORTAL_NAT_MODE must be one of single, per_az (got 'Single')."


# --- text ---------------------------------------------------------------------------------------
def test_text_is_taken_as_given_unless_empty_where_a_value_is_needed_or_off_its_pattern():
    assert read.text("RQ_QUEUE", "terraform", allow_empty=False, environ={}) == "terraform"
    assert read.text("PORTAL_X", "", environ={"PORTAL_X": ""}) == ""
    assert read.text("PORTAL_X", "", strip=True, environ={"PORTAL_X": "  a b "}) == "a b"
    assert read.text("PORTAL_AWS_ACCOUNT_ID", "", pattern="[0-9]{12}", environ={"PORTAL_AWS_ACCOUNT_ID": "123456789012"}) == "123456789012"

    assert refusal(read.text, "RQ_QUEUE", "terraform", allow_empty=False, environ={"RQ_QUEUE": ""}) == ("RQ_QUEUE must be a value that is not empty (got '').")
    assert (
        refusal(
            read.text,
            "PORTAL_AWS_ACCOUNT_ID",
            "",
            pattern="[0-9]{12}",
            accepts="12 digits, or empty",
            environ={"PORTAL_AWS_ACCOUNT_ID": "1234"},
        )
        == "PORTAL_AWS_ACCOUNT_ID must be 12 digits, or empty (got '1234')."
    )
    assert "PORTAL_X must be an ARN" in refusal(read.text, "PORTAL_X", "", check=lambda v: v.startswith("arn:"), accepts="an ARN", environ={"PORTAL_X": "role"})


# --- url ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["redis://127.0.0.1:56379/0", "rediss://cache.example:6380/1", "unix:///run/redis.sock"])
def test_a_url_takes_its_schemes(value):
    assert read.url("REDIS_URL", "redis://x/0", schemes=("redis", "rediss", "unix"), environ={"REDIS_URL": value}) == value


@pytest.mark.parametrize("value", ["127.0.0.1:6379", "http://127.0.0.1:6379", "redis://host:port/0", "redis://a b/0", ""])
def test_a_url_of_another_scheme_a_bad_port_or_spaces_is_refused(value):
    says = refusal(read.url, "REDIS_URL", "redis://x/0", schemes=("redis", "rediss"), environ={"REDIS_URL": value})

    assert says.startswith(f"REDIS_URL must be a redis:// URL or a rediss:// URL (got {value!r}).")


def test_an_empty_url_may_mean_none_where_allowed():
    assert read.url("AWS_ENDPOINT_URL", "", schemes=("http", "https"), allow_empty=True, environ={}) == ""


# --- path ---------------------------------------------------------------------------------------
def test_a_path_is_a_path_absolute_where_asked_and_empty_only_where_optional():
    assert read.path("PORTAL_STATE_DIR", Path("/srv/var"), environ={}) == Path("/srv/var")
    assert read.path("PORTAL_STATE_DIR", "/x", environ={"PORTAL_STATE_DIR": "var"}) == Path("var")
    assert read.path("PORTAL_NOTIFICATIONS_CA_BUNDLE", "", optional=True, environ={}) is None

    assert refusal(read.path, "PORTAL_STATE_DIR", "/x", environ={"PORTAL_STATE_DIR": ""}) == "PORTAL_STATE_DIR must be a path (got '')."
    assert refusal(read.path, "PORTAL_CHECKOV", "/x", absolute=True, environ={"PORTAL_CHECKOV": "bin/checkov"}) == (
        "PORTAL_CHECKOV must be an absolute path (got 'bin/checkov')."
    )


# --- lists and mappings -------------------------------------------------------------------------
def test_a_comma_list_strips_its_items_and_drops_empty_ones():
    assert read.comma_list("DJANGO_ALLOWED_HOSTS", "a", environ={"DJANGO_ALLOWED_HOSTS": " a.example, ,b.example,"}) == ["a.example", "b.example"]
    assert read.comma_list("PORTAL_X", "", environ={}) == []


def test_a_comma_list_names_the_entry_it_refuses_and_says_its_count():
    def ipv4(part):
        if not part[0].isdigit():
            raise ValueError(f"{part!r} is not an IPv4 range.")
        return True

    entry = refusal(read.comma_list, "PORTAL_X", "", item=ipv4, accepts_item="IPv4 ranges", environ={"PORTAL_X": "10.0.0.0/8,intranet"})
    count = refusal(read.comma_list, "PORTAL_X", "", item=ipv4, accepts_item="IPv4 ranges", minimum=1, maximum=2, environ={"PORTAL_X": "1,2,3"})
    empty = refusal(read.comma_list, "PORTAL_X", "", minimum=1, maximum=2, environ={"PORTAL_X": " , "})

    assert entry == ("PORTAL_X: 'intranet' is not an IPv4 range. PORTAL_X must be IPv4 ranges, comma-separated (got '10.0.0.0/8,intranet').")
    assert count == "PORTAL_X must be IPv4 ranges, comma-separated, 1 to 2 (got '1,2,3')."
    assert empty.startswith("PORTAL_X must be values, comma-separated, 1 to 2")


def test_whole_numbers_are_comma_separated_whole_numbers():
    assert read.whole_numbers("PORTAL_X", "10,60", unit="seconds", environ={}) == [10, 60]
    assert read.whole_numbers("PORTAL_X", "10,60", unit="seconds", environ={"PORTAL_X": ""}) == []
    says = refusal(read.whole_numbers, "PORTAL_X", "10", unit="seconds", environ={"PORTAL_X": "10,soon"})

    assert says.startswith("PORTAL_X: 'soon' is not a whole number of seconds, at least 0.")


def test_a_json_mapping_is_a_json_object_or_its_default_when_unset_or_empty():
    assert read.json_mapping("PORTAL_X", {"a": 1}, environ={}) == {"a": 1}
    assert read.json_mapping("PORTAL_X", environ={"PORTAL_X": "  "}) == {}
    assert read.json_mapping("PORTAL_X", environ={"PORTAL_X": '{"b": 2}'}) == {"b": 2}

    assert refusal(read.json_mapping, "PORTAL_X", environ={"PORTAL_X": "{not json"}).startswith("PORTAL_X is not valid JSON (")
    assert refusal(read.json_mapping, "PORTAL_X", environ={"PORTAL_X": "[1]"}) == ('PORTAL_X must be a JSON object, e.g. {"name": "value"} (got \'[1]\').')


# --- secrets ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["DJANGO_SECRET_KEY", "PORTAL_OIDC_CLIENT_SECRET", "A_PASSWORD", "AN_API_TOKEN", "SOME_KEY"])
@pytest.mark.parametrize(
    "reader, kwargs",
    [
        (read.text, {"default": "x", "pattern": "[a-z]{64}"}),
        (read.boolean, {"default": False}),
        (read.integer, {"default": 1}),
        (read.choice, {"default": "a", "choices": ("a",)}),
        (read.url, {"default": "https://x", "schemes": ("https",)}),
        (read.comma_list, {"default": "", "item": lambda part: False}),
        (read.json_mapping, {}),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_the_value_of_a_secret_is_never_repeated(name, reader, kwargs):
    says = refusal(reader, name, **kwargs, environ={name: "hunter2-[s3cr3t"})

    assert name in says and "hunter2" not in says and "s3cr3t" not in says


def test_a_value_said_to_be_secret_is_not_repeated_whatever_its_name():
    says = refusal(
        read.url, "DATABASE_URL", "postgresql://x/y", schemes=("postgresql",), secret=True, environ={"DATABASE_URL": "mysql://portal:pa55word@db/portal"}
    )

    assert "DATABASE_URL must be a postgresql:// URL" in says and "pa55word" not in says


# --- the registry -------------------------------------------------------------------------------
def test_every_reader_records_what_it_read_and_a_value_it_refuses():
    read.boolean("PORTAL_REGISTRY_EXAMPLE", True, environ={})
    recorded = read.REGISTRY["PORTAL_REGISTRY_EXAMPLE"]

    assert (recorded.reader, recorded.accepts, recorded.refused) == ("boolean", read.BOOLEAN, "treu")
    read.REGISTRY.pop("PORTAL_REGISTRY_EXAMPLE")


# --- every setting, at start --------------------------------------------------------------------
# The settings module and gunicorn's configuration, each loaded in a process of its own; with single
# sign-on on, so that its settings are read (and recorded) too.
LOADED = {"portal.settings": "import portal.settings", "portal.gunicorn_conf": "import portal.gunicorn_conf"}
LIST_SETTINGS = (
    "import json, dataclasses; {load}; from portal.core import setting_readers as r; print(json.dumps([dataclasses.asdict(s) for s in r.REGISTRY.values()]))"
)


def start_environment(**changes) -> dict:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PORTAL_", "DJANGO_"))}
    env.update(
        DJANGO_DEBUG="1",
        PORTAL_OIDC_ISSUER="http://127.0.0.1:9/realms/art",
        PORTAL_OIDC_CLIENT_ID="portal",
        PORTAL_OIDC_CLIENT_SECRET="sso-client-s3cret",
    )
    env.update(changes)
    return env


def load(module: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", LOADED[module]], check=False, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


def typed_settings() -> list:
    """(module, setting) for every setting its readers recorded with a value they refuse."""
    found = []
    for module, statement in LOADED.items():
        listed = subprocess.run(
            [sys.executable, "-c", LIST_SETTINGS.format(load=statement)],
            check=False,
            env=start_environment(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr
        found += [(module, read.Setting(**setting)) for setting in json.loads(listed.stdout)]
    return found


TYPED_SETTINGS = typed_settings()


def test_the_settings_load_with_every_part_on():
    for module in LOADED:
        loaded = load(module, start_environment())
        assert loaded.returncode == 0, loaded.stderr


def test_the_start_check_covers_the_settings_it_should():
    names = {setting.name for _, setting in TYPED_SETTINGS if setting.refused is not None}

    # A few of each kind, as a guard that the registry is read at all.
    assert {
        "DJANGO_DEBUG",
        "PORTAL_CATALOGUE_OPEN",
        "PORTAL_HSTS_SECONDS",
        "PORTAL_NAT_MODE",
        "PORTAL_LOG_LEVEL",
        "PORTAL_AWS_PARTITION",
        "DATABASE_URL",
        "PORTAL_CHECKOV",
        "PORTAL_POLICY_SEVERITIES",
        "PORTAL_OIDC_GROUP_MAP",
        "PORTAL_CLUSTER_MAX_SIZE",
        "PORTAL_WEB_WORKERS",
    } <= names
    assert len(names) >= 70


@pytest.mark.parametrize(
    "module, setting",
    [case for case in TYPED_SETTINGS if case[1].refused is not None],
    ids=lambda value: getattr(value, "name", value),
)
def test_a_bad_value_of_any_typed_setting_stops_the_portal_at_start_naming_the_setting(module, setting):
    refused = load(module, start_environment(**{setting.name: setting.refused}))

    assert refused.returncode != 0
    last_line = refused.stderr.strip().splitlines()[-1]
    assert setting.name in last_line, refused.stderr
    assert "ImproperlyConfigured" in last_line or module == "portal.gunicorn_conf", refused.stderr
    assert "sso-client-s3cret" not in refused.stderr
    if setting.secret:
        assert not setting.refused or setting.refused not in refused.stderr


def test_the_settings_read_the_environment_through_the_readers_only():
    """No os.environ.get / os.getenv / os.environ[...] left in the settings module: each setting has one
    reader, and the start check above finds it."""
    tree = ast.parse((ROOT / "portal" / "settings.py").read_text())
    direct = [
        ast.unparse(node)
        for node in ast.walk(tree)
        if (isinstance(node, ast.Attribute) and ast.unparse(node) in ("os.environ.get", "os.getenv", "os.environ.setdefault"))
        or (isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ")
    ]
    assert direct == []


def test_every_setting_read_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    # The single sign-on table shortens the endpoints after the first: `PORTAL_OIDC_AUTHORIZATION_ENDPOINT` / `_TOKEN_ENDPOINT`.
    missing = {
        setting.name for _, setting in TYPED_SETTINGS if f"`{setting.name}`" not in readme and f"`{setting.name.removeprefix('PORTAL_OIDC')}`" not in readme
    }
    assert missing == set()


@pytest.mark.parametrize(
    "name, value, says",
    [
        ("PORTAL_WORKERS", "two", "PORTAL_WORKERS must be a whole number, at least 1 (got 'two')."),
        ("PORTAL_PROVISION_ATTEMPTS", "11", "PORTAL_PROVISION_ATTEMPTS must be a whole number from 1 to 10 (got '11')."),
    ],
)
def test_bin_portal_refuses_a_bad_count_before_it_starts_anything(monkeypatch, name, value, says):
    from portal import devstack

    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        devstack.worker_count() if name == "PORTAL_WORKERS" else devstack.provision_attempts()
    assert str(stopped.value) == says
