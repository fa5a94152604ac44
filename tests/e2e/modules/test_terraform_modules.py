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


@pytest.mark.parametrize("module", MODULES)
def test_module_passes_checkov_and_every_skip_has_a_reason(module):
    directory = settings.INFRA_MODULES_DIR / module
    result = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(directory),
            "--framework",
            "terraform",
            "--skip-path",
            "tests",
            "--skip-path",
            "examples",
            "--skip-download",
            "--compact",
            "--quiet",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
    )
    report = json.loads(result.stdout) if result.stdout.strip().startswith(("{", "[")) else {}
    failed = [c["check_id"] for c in report.get("results", {}).get("failed_checks", [])]

    assert result.returncode == 0 and not failed, f"checkov failed: {failed or result.stdout[-2000:]}"
    for source in directory.glob("*.tf"):
        for line in source.read_text().splitlines():
            if "checkov:skip=" in line:
                check, _, reason = line.split("checkov:skip=", 1)[1].partition(":")
                assert len(reason.strip()) > 10, f"{source.name}: skip of {check} has no reason"
