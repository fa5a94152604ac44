"""`terraform test` of every shared module (mocked AWS provider, offline)."""

import json
import subprocess

import pytest
from django.conf import settings

from portal.runner.terraform import terraform_environment

MODULES = sorted(p.name for p in settings.INFRA_MODULES_DIR.iterdir() if (p / "tests").is_dir())


@pytest.mark.parametrize("module", MODULES)
def test_module_passes_terraform_test(module):
    directory = settings.INFRA_MODULES_DIR / module
    env = terraform_environment()
    env.pop("AWS_ENDPOINT_URL")  # the tests mock the provider; nothing may reach an endpoint

    init = subprocess.run(["terraform", "init", "-input=false", "-backend=false", "-no-color"], cwd=directory, env=env, capture_output=True, text=True)
    assert init.returncode == 0, init.stdout + init.stderr
    result = subprocess.run(["terraform", "test", "-no-color"], cwd=directory, env=env, capture_output=True, text=True)

    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failed" in result.stdout


def test_modules_are_formatted():
    result = subprocess.run(["terraform", "fmt", "-check", "-recursive", str(settings.INFRA_MODULES_DIR)], capture_output=True, text=True)
    assert result.returncode == 0, f"terraform fmt would change: {result.stdout}"


CHECKOV = settings.BASE_DIR / ".venv" / "checkov" / "bin" / "checkov"


@pytest.fixture(scope="module")
def checkov_report() -> dict:
    """One checkov scan of every module, which each module's test reads its own part of: checkov's
    start is most of a scan's time (2.1 s of CPU for one module, 2.2 s for all eight together), and a
    scan of the folder reports each check with the file it was made on."""
    result = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(settings.INFRA_MODULES_DIR),
            "--framework",
            "terraform",
            "--skip-path",
            "tests",
            "--skip-path",
            "examples",
            "--skip-download",
            "--compact",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip().startswith("{"), f"checkov gave no report (exit code {result.returncode}): {result.stdout[-2000:]} {result.stderr[-2000:]}"
    return json.loads(result.stdout)["results"]


def of_module(checks: list[dict], module: str) -> list[dict]:
    """The checks made on the module's own files ("/<module>/main.tf" in a scan of the folder)."""
    return [check for check in checks if check["file_path"].split("/")[1] == module]


@pytest.mark.parametrize("module", MODULES)
def test_module_passes_checkov_and_every_skip_has_a_reason(module, checkov_report):
    directory = settings.INFRA_MODULES_DIR / module
    failed = [f"{c['check_id']} ({c['check_name']}) on {c['resource']}" for c in of_module(checkov_report["failed_checks"], module)]
    unparsed = [path for path in checkov_report["parsing_errors"] if f"/{module}/" in path]

    assert not failed and not unparsed, f"checkov failed: {failed}; files it could not parse: {unparsed}"
    assert of_module(checkov_report["passed_checks"] + checkov_report["skipped_checks"], module), "checkov checked none of the module's resources"

    for source in directory.glob("*.tf"):
        for line in source.read_text().splitlines():
            if "checkov:skip=" in line:
                check, _, reason = line.split("checkov:skip=", 1)[1].partition(":")
                assert len(reason.strip()) > 10, f"{source.name}: skip of {check} has no reason"
