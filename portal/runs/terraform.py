"""The one place that runs the terraform binary.

python-terraform builds the command line (an argv list, never a shell string); we run it ourselves
because its `synchronous=False` mode is broken with Terraform 1.x and we need the output line by line
while the command runs.
"""

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from python_terraform import IsFlagged
from python_terraform import Terraform as CommandBuilder

from portal.runs.masking import mask_secrets, secret_values
from portal.workspaces.terraform_config import write_cli_config

FLUSH_SECONDS = 0.3


class TerraformError(Exception):
    pass


def terraform_environment() -> dict[str, str]:
    """An allow-listed environment: terraform gets what the AWS provider needs, never the portal's
    own secrets (a provider or module could read and print any variable it is given)."""
    env = {name: os.environ[name] for name in settings.TERRAFORM_ENV_ALLOWED if name in os.environ}
    env.update(
        TF_CLI_CONFIG_FILE=str(write_cli_config()),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        AWS_REGION=settings.AWS_REGION,
        AWS_DEFAULT_REGION=settings.AWS_REGION,
    )
    if settings.AWS_ENDPOINT_URL:
        env["AWS_ENDPOINT_URL"] = settings.AWS_ENDPOINT_URL
    return env


def backend_config(state_key: str) -> dict[str, str]:
    config = {
        "bucket": settings.STATE_BUCKET,
        "key": state_key,
        "region": settings.AWS_REGION,
        "use_lockfile": "true",
    }
    if settings.AWS_ENDPOINT_URL:
        # The emulator serves buckets by path, not by virtual host name.
        config["use_path_style"] = "true"
    return config


class Terraform:
    def __init__(self, workdir: Path, on_output: Callable[[str], None]):
        self.workdir = workdir
        self.on_output = on_output
        self.builder = CommandBuilder(working_dir=str(workdir), terraform_bin_path=settings.TERRAFORM_BIN)

    def command(self, command: str, *args: str, **options) -> list[str]:
        options.setdefault("no_color", IsFlagged)
        return self.builder.generate_cmd_string(command, *args, **options)

    def run(self, command: str, *args: str, **options) -> None:
        """Run a command, streaming its masked output; raise TerraformError when it fails."""
        argv = self.command(command, *args, **options)
        secrets = secret_values()
        self.on_output(f"$ terraform {' '.join(argv[1:])}\n")
        process = subprocess.Popen(
            argv,
            cwd=self.workdir,
            env=terraform_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        pending, last_flush = [], time.monotonic()
        for line in process.stdout:
            pending.append(mask_secrets(line, secrets))
            if time.monotonic() - last_flush >= FLUSH_SECONDS:
                self.on_output("".join(pending))
                pending, last_flush = [], time.monotonic()
        if pending:
            self.on_output("".join(pending))
        if process.wait() != 0:
            raise TerraformError(f"terraform {command} exited with code {process.returncode}")

    def capture(self, command: str, *args: str, **options) -> str:
        """Run a command and return its standard output (for -json output)."""
        result = subprocess.run(
            self.command(command, *args, **options),
            cwd=self.workdir,
            env=terraform_environment(),
            capture_output=True,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        if result.returncode != 0:
            self.on_output(mask_secrets(result.stderr))
            raise TerraformError(f"terraform {command} exited with code {result.returncode}")
        return result.stdout

    def init(self, state_key: str | None) -> None:
        """Initialise against the S3 backend at state_key, or the local backend when None."""
        if state_key is None:
            self.run("init", input=False)
        else:
            self.run("init", input=False, reconfigure=IsFlagged, backend_config=backend_config(state_key))
