"""`terraform test` of every shared module (mocked AWS provider, offline)."""

import subprocess

import pytest
from django.conf import settings

from portal.runs.terraform import terraform_environment

MODULES = sorted(p.name for p in settings.INFRA_MODULES_DIR.iterdir() if (p / "tests").is_dir())


@pytest.mark.parametrize("module", MODULES)
def test_module_passes_terraform_test(module):
    directory = settings.INFRA_MODULES_DIR / module
    env = terraform_environment()
    env.pop("AWS_ENDPOINT_URL")  # the tests mock the provider; nothing may reach an endpoint

    init = subprocess.run(["terraform", "init", "-input=false", "-backend=false", "-no-color"],
                          cwd=directory, env=env, capture_output=True, text=True)
    assert init.returncode == 0, init.stdout + init.stderr
    result = subprocess.run(["terraform", "test", "-no-color"], cwd=directory, env=env,
                            capture_output=True, text=True)

    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failed" in result.stdout


def test_modules_are_formatted():
    result = subprocess.run(["terraform", "fmt", "-check", "-recursive", str(settings.INFRA_MODULES_DIR)],
                            capture_output=True, text=True)
    assert result.returncode == 0, f"terraform fmt would change: {result.stdout}"
