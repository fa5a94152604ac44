"""Run checkov on a plan's JSON (`terraform show -json`), in checkov's own venv: asked of the
resident checkov its RQ worker keeps loaded (checkov_resident.py), once it has loaded, or as a process
of its own where there is none (outside a worker, or the resident is gone or stuck loading).

The JSON holds every input in clear, so it is on disk only while checkov reads it: in the
workspace's `.plans/` folder (0700, the saved plan's), as a 0600 file, removed in `finally`."""

import contextlib
import json
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from portal.runner.terraform import TerraformError, running


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
    """checkov's failed checks on `plan`, written for it as `folder/name`: from the resident checkov
    when one answers, else from a checkov process of its own."""
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
        report = ask_resident(path)
        if report is None:
            report = read_report(run_checkov(program, path, folder).stdout)
    finally:
        path.unlink(missing_ok=True)
    return Scan(**parse(report), seconds=time.monotonic() - started)


def run_checkov(program: Path, path: Path, folder: Path) -> subprocess.CompletedProcess:
    argv = [str(program), "-f", str(path), "--framework", "terraform_plan", "-o", "json", "--quiet", "--compact", "--skip-download"]
    try:
        completed = subprocess.run(argv, cwd=folder, env=checkov_environment(), capture_output=True, text=True, timeout=settings.POLICY_CHECKOV_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise timed_out() from None
    except OSError as exc:
        raise PolicyCheckFailed(f"The policy check could not run: {exc.strerror}; {HOW_TO_FIX}") from None
    # 0: every check passed; 1: some failed. Anything else is checkov failing.
    if completed.returncode not in (0, 1):
        raise PolicyCheckFailed(f"The policy check could not run: checkov exited with code {completed.returncode}")
    return completed


def checkov_environment() -> dict[str, str]:
    """Only what checkov needs from the environment: not the worker's AWS credentials or database URL."""
    return {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if name in os.environ}


def timed_out() -> PolicyCheckFailed:
    return PolicyCheckFailed(
        f"The policy check could not run: checkov did not finish in {settings.POLICY_CHECKOV_TIMEOUT} s (PORTAL_CHECKOV_TIMEOUT); raise it or plan again"
    )


def read_report(stdout: str):
    try:
        return json.loads(stdout)
    except ValueError:
        raise PolicyCheckFailed("The policy check could not run: checkov's output is not JSON") from None


def parse(report) -> dict:
    """checkov's JSON report: one object for one framework, or only its summary when the plan had
    no resource to check."""
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


# --- the resident checkov ----------------------------------------------------------------------------
logger = logging.getLogger(__name__)
RESIDENT_PROGRAM = Path(__file__).with_name("checkov_resident.py")


@dataclass
class Resident:
    process: subprocess.Popen
    address: str
    started_at: float = field(default_factory=time.monotonic)


# Set in an RQ worker (start_resident) and inherited by the work-horses it forks, which ask it.
RESIDENT: Resident | None = None


def interpreter(program: Path) -> str | None:
    """The Python `program` runs on when it is a Python console script, as pip installs checkov: its
    `#!` line names one interpreter and nothing else. None for anything else (a wrapper script)."""
    try:
        with open(program, "rb") as handle:
            first = handle.readline(1000)
    except OSError:
        return None
    words = first[2:].decode(errors="replace").split() if first.startswith(b"#!") else []
    if len(words) != 1 or not Path(words[0]).name.startswith("python") or not os.access(words[0], os.X_OK):
        return None
    return words[0]


def start_resident() -> Resident | None:
    """Start this worker's resident checkov, loading in the background (a plan meanwhile waits for it,
    ask_resident). None when PORTAL_CHECKOV is not a Python console script."""
    global RESIDENT
    python = interpreter(Path(settings.POLICY_CHECKOV))
    if RESIDENT is not None or python is None:
        return RESIDENT
    # A folder of its own under the system's temporary directory (0700): a Unix socket's path must
    # stay short (108 bytes), which the state directory's may not.
    folder = tempfile.mkdtemp(prefix="portal-checkov-")
    address = os.path.join(folder, "socket")
    # What it says while loading (an import that fails) goes to a 0600 file beside its socket; its
    # scans say nothing (checkov's warnings can quote a plan's values).
    with open(os.open(os.path.join(folder, "errors"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as errors:
        # -I: its own folder is not put on sys.path (checkov.py there would shadow checkov).
        process = subprocess.Popen(
            [python, "-I", str(RESIDENT_PROGRAM), address, str(os.getpid())],
            env=checkov_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    RESIDENT = Resident(process, address)
    return RESIDENT


# A resident that died is started again on the worker's maintenance pass, at most this often: one
# that cannot load (a broken checkov install) is not restarted in a loop, and plans meanwhile run
# checkov as a process of their own.
RESTART_AFTER = 60.0


def keep_resident() -> Resident | None:
    """In the worker, on its maintenance pass: if its resident has ended (crashed, killed, out of
    memory), say so, reap it and start another, at most once every RESTART_AFTER seconds."""
    global RESIDENT
    if RESIDENT is None or RESIDENT.process.poll() is None:
        return RESIDENT
    if time.monotonic() - RESIDENT.started_at < RESTART_AFTER:
        return RESIDENT
    errors = os.path.join(os.path.dirname(RESIDENT.address), "errors")
    logger.warning("The resident checkov ended (exit code %s; see %s); starting another.", RESIDENT.process.returncode, errors)
    gone, RESIDENT = RESIDENT, None
    # Its errors file is left for the operator; the socket goes (nothing listens on it).
    with contextlib.suppress(OSError):
        os.unlink(gone.address)
    return start_resident()


def stop_resident() -> None:
    global RESIDENT
    if RESIDENT is None:
        return
    resident, RESIDENT = RESIDENT, None
    resident.process.terminate()
    try:
        resident.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        resident.process.kill()
        resident.process.wait()
    shutil.rmtree(os.path.dirname(resident.address), ignore_errors=True)


# A resident still loading is waited for, up to this long after it started: it is already paying
# the two to three seconds of CPU that importing checkov costs, which a checkov of its own would pay
# again beside it (a new worker's first plans did). One not listening by then is taken as stuck.
RESIDENT_LOADS_WITHIN = 30.0


def connected(connection: socket.socket, resident: Resident) -> bool:
    """Connect to the resident, once it listens if it is still loading; False when it is gone or
    stuck loading."""
    while True:
        try:
            connection.connect(resident.address)
            return True
        except OSError:
            # A work-horse cannot wait() on its worker's child: it asks the kernel, for which a
            # resident that died is a zombie, not running, until the worker's maintenance reaps it.
            if not running(resident.process.pid):
                logger.warning("The resident checkov is gone (see %s); running checkov afresh.", os.path.join(os.path.dirname(resident.address), "errors"))
                return False
            if time.monotonic() - resident.started_at >= RESIDENT_LOADS_WITHIN:
                return False
            time.sleep(0.1)


def ask_resident(path: Path):
    """The resident checkov's report on the plan JSON at `path`, once it has loaded; None when there is
    no resident or it does not answer (gone, stuck loading): the caller then runs checkov itself."""
    if RESIDENT is None:
        return None
    timeout = settings.POLICY_CHECKOV_TIMEOUT
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        if not connected(connection, RESIDENT):
            return None
        deadline = time.monotonic() + timeout
        chunks = []
        try:
            connection.sendall(json.dumps({"path": str(path), "timeout": timeout}).encode() + b"\n")
            while chunk := connection.recv(1 << 16):
                chunks.append(chunk)
                connection.settimeout(max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            raise timed_out() from None
        except OSError as exc:
            logger.warning("The resident checkov did not answer (%s); running checkov afresh.", exc.strerror)
            return None
    if not chunks:
        logger.warning("The resident checkov ended without an answer; running checkov afresh.")
        return None
    report = read_report(b"".join(chunks).decode())
    if isinstance(report, dict) and "error" in report:
        raise PolicyCheckFailed(f"The policy check could not run: checkov failed ({report['error']})")
    return report
