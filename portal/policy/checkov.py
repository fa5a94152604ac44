"""Run checkov on a plan's JSON (`terraform show -json`), as a subprocess of its own venv.

The JSON holds every input in clear, so it is on disk only while checkov reads it: in the
workspace's `.plans/` folder (0700, the saved plan's), as a 0600 file, removed in `finally`."""

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from portal.runner.terraform import TerraformError


class PolicyCheckFailed(TerraformError):
    """checkov could not run or said something unreadable: the plan fails (fail closed)."""


@dataclass(frozen=True)
class Result:
    check_id: str
    check_name: str
    resource_address: str
    guideline: str


@dataclass(frozen=True)
class Scan:
    failed: list[Result]
    passed: int
    seconds: float


HOW_TO_FIX = "run bin/setup-venv (it installs checkov in .venv/checkov) or set PORTAL_CHECKOV to a checkov program"


def scan(plan: dict, folder: Path, name: str) -> Scan:
    """checkov's failed checks on `plan`, written for it as `folder/name`."""
    program = Path(settings.POLICY_CHECKOV)
    if not os.access(program, os.X_OK):
        raise PolicyCheckFailed(f"The policy check could not run: {program} is not an executable checkov; {HOW_TO_FIX}")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = folder / name
    started = time.monotonic()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(plan, handle)
        completed = run_checkov(program, path, folder)
    finally:
        path.unlink(missing_ok=True)
    return Scan(**parse(completed.stdout), seconds=time.monotonic() - started)


def run_checkov(program: Path, path: Path, folder: Path) -> subprocess.CompletedProcess:
    argv = [str(program), "-f", str(path), "--framework", "terraform_plan", "-o", "json", "--quiet", "--compact", "--skip-download"]
    # Only what checkov needs from the environment: not the worker's AWS credentials or database URL.
    environment = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if name in os.environ}
    try:
        completed = subprocess.run(argv, cwd=folder, env=environment, capture_output=True, text=True, timeout=settings.POLICY_CHECKOV_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise PolicyCheckFailed(
            f"The policy check could not run: checkov did not finish in {settings.POLICY_CHECKOV_TIMEOUT} s (PORTAL_CHECKOV_TIMEOUT); raise it or plan again"
        ) from None
    except OSError as exc:
        raise PolicyCheckFailed(f"The policy check could not run: {exc.strerror}; {HOW_TO_FIX}") from None
    # 0: every check passed; 1: some failed. Anything else is checkov failing.
    if completed.returncode not in (0, 1):
        raise PolicyCheckFailed(f"The policy check could not run: checkov exited with code {completed.returncode}")
    return completed


def parse(stdout: str) -> dict:
    """checkov's JSON report: one object for one framework, or only its summary when the plan had
    no resource to check."""
    try:
        report = json.loads(stdout)
    except ValueError:
        raise PolicyCheckFailed("The policy check could not run: checkov's output is not JSON") from None
    if isinstance(report, list):  # several frameworks: ours is the only one asked for
        report = next((part for part in report if part.get("check_type") == "terraform_plan"), None)
    if not isinstance(report, dict) or not ("results" in report or "passed" in report):
        raise PolicyCheckFailed("The policy check could not run: checkov's report has no results")
    if "results" not in report:
        return {"failed": [], "passed": int(report.get("passed", 0))}
    if report.get("summary", {}).get("parsing_errors"):
        raise PolicyCheckFailed("The policy check could not run: checkov could not parse the plan")
    results = report["results"]
    failed = [
        Result(
            check_id=str(check["check_id"]),
            check_name=str(check.get("check_name") or ""),
            resource_address=str(check.get("resource_address") or check.get("resource") or ""),
            guideline=str(check.get("guideline") or ""),
        )
        for check in results.get("failed_checks", [])
    ]
    return {"failed": failed, "passed": len(results.get("passed_checks", []))}
