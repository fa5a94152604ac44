"""bin/aws-acceptance (portal/journey/acceptance.py): it refuses, in one sentence, to run against the
emulator or without credentials; and the acceptance run itself, which needs a real sandbox account,
is skipped here with the sentence that says why (set PORTAL_AWS_ACCEPTANCE=1 where credentials exist
to run it: it creates resources and costs money)."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from tests.environment import AWS_NAMES, MACHINE_AWS_ENVIRONMENT

ACCEPTANCE = [sys.executable, "-m", "portal.journey.acceptance"]


def machine_environment(**overrides) -> dict:
    """This machine's environment without the test session's emulator and credentials."""
    env = {name: value for name, value in os.environ.items() if name not in AWS_NAMES}
    return {**env, **MACHINE_AWS_ENVIRONMENT, **overrides}


def run(env: dict, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*ACCEPTANCE, *args], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout)


def test_it_refuses_the_emulator_in_one_sentence():
    env = machine_environment(AWS_ENDPOINT_URL="http://127.0.0.1:55000", AWS_ACCESS_KEY_ID="emulator", AWS_SECRET_ACCESS_KEY="emulator")

    refused = run(env)

    assert refused.returncode == 2
    assert refused.stdout == ""
    assert refused.stderr.strip().splitlines() == [
        "bin/aws-acceptance runs against real AWS only, and AWS_ENDPOINT_URL is set (http://127.0.0.1:55000), which "
        "points at an emulator: unset it and give credentials for a sandbox account."
    ]


def test_it_refuses_a_machine_without_credentials_in_one_sentence(tmp_path):
    env = {name: value for name, value in machine_environment().items() if not name.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",  # no instance role to find here, and no wait for one
    )

    refused = run(env)

    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "bin/aws-acceptance needs credentials for a sandbox AWS account (AWS_PROFILE, AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or an SSO login), and none were found."
    ]
    assert refused.stdout == "", "a refused run starts nothing"


def test_the_script_runs_the_acceptance_module():
    script = (settings.BASE_DIR / "bin" / "aws-acceptance").read_text()
    assert "exec .venv/bin/python -m portal.journey.acceptance \"$@\"" in script
    assert os.access(settings.BASE_DIR / "bin" / "aws-acceptance", os.X_OK)


@pytest.mark.aws
def test_the_acceptance_run_on_aws():
    env = machine_environment(AWS_EC2_METADATA_DISABLED=os.environ.get("AWS_EC2_METADATA_DISABLED", "true"))
    ready = run(env, "--check")
    if ready.returncode != 0:
        pytest.skip(ready.stderr.strip())
    if os.environ.get("PORTAL_AWS_ACCEPTANCE") != "1":
        pytest.skip(f"{ready.stdout.strip()} The acceptance run creates resources and costs money: set PORTAL_AWS_ACCEPTANCE=1 to run it.")

    finished = run(env, timeout=2 * 3600)

    assert finished.returncode == 0, finished.stdout[-5000:] + finished.stderr[-3000:]
    assert "Nothing is left in the account under this prefix." in finished.stdout
