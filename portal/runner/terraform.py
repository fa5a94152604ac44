"""The one place that runs the terraform binary.

python-terraform builds the command line (an argv list, never a shell string); we run it ourselves
because its `synchronous=False` mode is broken with Terraform 1.x and we need the output line by line
while the command runs.

Every command runs in a process group of its own and is supervised: past its timeout, or when the
run is cancelled, the group gets an interrupt (terraform then writes its state and releases its
lock), and is killed if it has not stopped after the grace period. Whatever ends the command (its
own exit, an exception in the worker, the worker's death) ends the group with it: the kernel
interrupts terraform when the process that started it dies (PR_SET_PDEATHSIG).
"""

import ctypes
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import psutil
from django.conf import settings
from python_terraform import IsFlagged
from python_terraform import Terraform as CommandBuilder

from portal.core.hcl import hcl_object
from portal.core.masking import mask_secrets, secret_values
from portal.runner import providers
from portal.workspaces.identities import RunIdentity
from portal.workspaces.rendering import RENDERED_FILES
from portal.workspaces.terraform_config import cli_config_text, write_cli_config

FLUSH_SECONDS = 0.3
WATCH_SECONDS = 0.5
INIT_MARKER = "portal-init.sha256"


class TerraformError(Exception):
    pass


class TerraformStopped(TerraformError):
    """The portal stopped the command: `reason` is "cancelled" or "timed_out"; `killed` when it
    had to be killed after the grace period (its state lock may then be left behind)."""

    def __init__(self, command: str, reason: str, killed: bool):
        self.reason = reason
        self.killed = killed
        what = "was cancelled" if reason == "cancelled" else f"ran past its timeout of {settings.TERRAFORM_COMMAND_TIMEOUT} s"
        how = f"it did not stop within {settings.TERRAFORM_INTERRUPT_GRACE} s of the interrupt and was killed" if killed else "it was interrupted and stopped"
        super().__init__(f"terraform {command} {what}; {how}")


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
        GOGC=str(settings.TERRAFORM_GOGC),  # terraform passes its environment on to the provider plugins
    )
    if settings.AWS_ENDPOINT_URL:
        env["AWS_ENDPOINT_URL"] = settings.AWS_ENDPOINT_URL
    return env


def backend_config(state_key: str, identity: RunIdentity | None = None) -> dict[str, str]:
    """The S3 backend's settings; with an identity, it reads and writes the state as the type's state
    role, narrowed by the run's session policy to this key and its lockfile."""
    config = {
        "bucket": settings.STATE_BUCKET,
        "key": state_key,
        "region": settings.AWS_REGION,
        "use_lockfile": "true",
    }
    if settings.AWS_ENDPOINT_URL:
        # The emulator serves buckets by path, not by virtual host name.
        config["use_path_style"] = "true"
    if identity is not None:
        config["assume_role"] = hcl_object(identity.backend_assume_role())
    return config


# --- processes -------------------------------------------------------------------------------------
if sys.platform.startswith("linux"):
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
    PR_SET_PDEATHSIG = 1

    def _interrupt_when_parent_dies() -> None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGINT)
else:  # pragma: no cover - the portal's workers run on Linux
    _interrupt_when_parent_dies = None


def _before_exec(niceness: int) -> Callable[[], None] | None:
    """What the child does between fork and exec: asks for a SIGINT when its parent dies, and lowers
    its CPU priority by `niceness` (inherited by the provider plugins it starts)."""
    if not niceness:
        return _interrupt_when_parent_dies

    def prepare() -> None:
        if _interrupt_when_parent_dies is not None:
            _interrupt_when_parent_dies()
        os.nice(niceness)
        # The child has just made a session of its own (start_new_session), and with Linux's
        # autogroups (sched(7)) each session is a scheduling group whose nice counts against
        # the other groups', while a process's own nice counts only inside its group: without
        # this, the nice above would not yield to a plan in another session.
        try:
            Path("/proc/self/autogroup").write_text(str(niceness))
        except OSError:  # no autogroups in this kernel: the process's nice is what counts
            pass

    return prepare


def spawn(argv: list[str], workdir: Path, niceness: int = 0, **streams) -> subprocess.Popen:
    return subprocess.Popen(
        argv,
        cwd=workdir,
        env=terraform_environment(),
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group: signals reach its providers too
        preexec_fn=_before_exec(niceness),
        **streams,
    )


def signal_group(pgid: int, signum: int) -> bool:
    """Send a signal to a process group; False when the group is gone."""
    try:
        os.killpg(pgid, signum)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:  # a reused id that is not ours
        return False


def group_alive(pgid: int) -> bool:
    return signal_group(pgid, 0)


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat from the third (the state) on, or None when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def running(pid: int, started: int | None = None) -> bool:
    """Whether a process runs: a zombie (an orphan that exited, waiting for whoever adopted it to
    reap it) does not. With `started` (its `started_at`), whether that very process runs, and not
    another that was given its id since."""
    fields = _stat(pid)
    if not fields or fields[0] in ("Z", "X"):
        return False
    return started is None or int(fields[19]) == started


def started_at(pid: int) -> int | None:
    """When a process started, in clock ticks since the machine booted (/proc/<pid>/stat, field 22);
    None when it is gone. A process id comes back once the kernel has used the others (32,768 by
    default, `kernel.pid_max`), to another process: its start tells the two apart."""
    fields = _stat(pid)
    return int(fields[19]) if fields else None


def group_members(pgid: int) -> list[int]:
    """The processes of a process group."""
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid:
                members.append(process.pid)
        except ProcessLookupError:
            continue
    return members


def command_name(pid: int) -> str:
    """The file name of the program a process runs, from its command line ("" when it is gone or a
    zombie). Not psutil's name(), which the kernel cuts to 15 characters ("terraform-provi")."""
    try:
        argv = psutil.Process(pid).cmdline()
    except psutil.Error:
        return ""
    return Path(argv[0]).name if argv else ""


def orphaned_providers(under: Path, terraform_name: str) -> list[int]:
    """Provider plugins working under `under` whose terraform is gone. A plugin is a child of the
    terraform that started it and stops when that terraform exits in order; one whose parent is no
    longer a terraform (it was reparented, to init or to a container's first process) waits for a
    client that will never come. Found by what they are rather than by a record: a drift check's
    terraform, unlike a run's, is recorded nowhere."""
    return [
        process.info["pid"]
        for process in working_under(under)
        if Path(process.info["cmdline"][0]).name.startswith("terraform-provider-") and command_name(process.info["ppid"]) != terraform_name
    ]


def working_under(folder: Path) -> list[psutil.Process]:
    """The running processes whose working directory is under `folder` (terraform and its providers
    in the workspaces), with `pid`, `ppid`, `cmdline` and `cwd` read into `info`; a zombie, a process
    whose command line is not set up yet (just after `execve`) or one this user may not read is left
    out."""
    root = Path(os.path.realpath(folder))
    found = []
    for process in psutil.process_iter(["pid", "ppid", "cmdline", "cwd", "status"]):
        argv, cwd = process.info["cmdline"], process.info["cwd"]  # None where access is denied
        if argv and cwd and process.info["status"] != psutil.STATUS_ZOMBIE and Path(os.path.realpath(cwd)).is_relative_to(root):
            found.append(process)
    return found


def reap_group(pgid: int) -> bool:
    """Kill what is left of a terraform's process group once terraform itself has stopped: the
    provider plugins that a terraform killed, or one that exited on a second interrupt, leaves
    running (each an AWS provider process of its own, resident until killed). Only a group whose
    leader has stopped and whose members are all terraform's: while a group has members, Linux
    gives its id to no new process, so it is still the group terraform led. True when something was
    killed."""
    if running(pgid):
        return False
    members = [pid for pid in group_members(pgid) if running(pid)]
    if not members or not all(command_name(pid).startswith("terraform") for pid in members):
        return False
    return signal_group(pgid, signal.SIGKILL)


def stop_group(pgid: int, grace: float, exited: Callable[[], bool] | None = None) -> bool:
    """Interrupt a process group, wait up to `grace` seconds, then kill what is left. True when it
    had to be killed. `exited` tells when the group's leader has stopped (by default: it no longer
    runs; our own child is asked by the caller instead)."""
    exited = exited or (lambda: not running(pgid))
    if not signal_group(pgid, signal.SIGINT):
        return False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if exited():
            signal_group(pgid, signal.SIGKILL)  # a provider plugin left behind
            return False
        time.sleep(0.2)
    signal_group(pgid, signal.SIGKILL)
    return True


class Watchdog:
    """Watches one command from a thread: interrupts it past its deadline or when `stop` is set."""

    def __init__(self, process: subprocess.Popen, stop: threading.Event | None, on_output):
        self.process = process
        self.stop = stop
        self.on_output = on_output
        self.deadline = time.monotonic() + settings.TERRAFORM_COMMAND_TIMEOUT
        self.reason: str | None = None
        self.killed = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="terraform-watchdog", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._done.set()
        self._thread.join()
        if self.process.poll() is None:
            # The worker itself is leaving (an exception, RQ's own timeout): terraform must not outlive it.
            self.killed = stop_group(self.process.pid, settings.TERRAFORM_INTERRUPT_GRACE, self._exited)
            self.process.wait()
        else:
            signal_group(self.process.pid, signal.SIGKILL)  # nothing of the group outlives its command

    def _exited(self) -> bool:
        return self.process.poll() is not None

    def _watch(self) -> None:
        while not self._done.wait(WATCH_SECONDS):
            if self.process.poll() is not None:
                return
            if self.stop is not None and self.stop.is_set():
                self.reason = "cancelled"
            elif time.monotonic() > self.deadline:
                self.reason = "timed_out"
            else:
                continue
            self.on_output(
                f"\n[portal] {'Cancelled' if self.reason == 'cancelled' else 'Timed out'}: interrupting terraform "
                f"so that it writes its state and releases its lock (killed after {settings.TERRAFORM_INTERRUPT_GRACE} s).\n"
            )
            self.killed = stop_group(self.process.pid, settings.TERRAFORM_INTERRUPT_GRACE, self._exited)
            return


class Terraform:
    """Runs terraform commands in one working directory.

    `stop` is set by whoever wants the run stopped (a cancel); `on_process` hears the process group
    of each command as it starts and None when it has ended (the run records it, so that a recovery
    pass can end it if this worker dies); `niceness` lowers the CPU priority of background work
    (the drift checks) below the runs people wait for."""

    def __init__(
        self,
        workdir: Path,
        on_output: Callable[[str], None],
        *,
        stop: threading.Event | None = None,
        on_process: Callable[[int | None], None] | None = None,
        niceness: int = 0,
    ):
        self.workdir = workdir
        self.on_output = on_output
        self.stop = stop
        self.on_process = on_process or (lambda pid: None)
        self.niceness = niceness
        self.builder = CommandBuilder(working_dir=str(workdir), terraform_bin_path=settings.TERRAFORM_BIN)

    def command(self, command: str, *args: str, **options) -> list[str]:
        options.setdefault("no_color", IsFlagged)
        for option, value in options.items():
            if isinstance(value, dict) and option != "backend_config":
                # python-terraform writes any other dict (`var=`) to a file of its own in the system's
                # temporary folder, which only its own cmd() removes: here the values would stay
                # there after the command, secrets among them.
                raise TypeError(f"{option}= takes no dict here: write the values to a file in the working directory and pass var_file=")
        return self.builder.generate_cmd_string(command, *args, **options)

    @contextmanager
    def supervised(self, command: str, argv: list[str], **streams) -> Iterator[subprocess.Popen]:
        if self.stop is not None and self.stop.is_set():
            raise TerraformStopped(command, "cancelled", killed=False)
        process = spawn(argv, self.workdir, self.niceness, **streams)
        self.on_process(process.pid)
        try:
            with Watchdog(process, self.stop, self.on_output) as watchdog:
                yield process
                process.wait()
        finally:
            self.on_process(None)
        if watchdog.reason:
            raise TerraformStopped(command, watchdog.reason, watchdog.killed)

    @contextmanager
    def providers_pinned(self, command: str) -> Iterator[None]:
        """Around a command: init gets the pinned provider versions and has what it linked checked
        against their checksums; every other command runs only with packages that match them
        (portal.runner.providers). Inits that may install into terraform's plugin cache take turns:
        it is not safe for concurrent use. Once the pinned providers are there, inits only link them
        and run side by side."""
        try:
            if command != "init":
                providers.check_packages(self.workdir)
                yield
                return
            with nullcontext() if providers.in_plugin_cache() else plugin_cache_lock():
                providers.before_init(self.workdir)
                yield
                providers.after_init(self.workdir)
        except providers.ProviderMismatch as exc:
            self.on_output(f"[portal] {exc}\n")
            raise TerraformError(str(exc)) from exc

    def run(self, command: str, *args: str, **options) -> str:
        """Run a command, streaming its masked output; return that output; raise TerraformError when
        it fails."""
        argv = self.command(command, *args, **options)
        secrets = secret_values()
        self.on_output(f"$ terraform {' '.join(argv[1:])}\n")
        output = []
        with self.providers_pinned(command), self.supervised(command, argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=1) as process:
            pending, last_flush = [], time.monotonic()
            for line in process.stdout:
                output.append(mask_secrets(line, secrets))
                pending.append(output[-1])
                if time.monotonic() - last_flush >= FLUSH_SECONDS:
                    self.on_output("".join(pending))
                    pending, last_flush = [], time.monotonic()
            if pending:
                self.on_output("".join(pending))
        if process.returncode != 0:
            raise TerraformError(f"terraform {command} exited with code {process.returncode}")
        return "".join(output)

    def capture(self, command: str, *args: str, **options) -> str:
        """Run a command and return its standard output (for -json output)."""
        argv = self.command(command, *args, **options)
        with self.providers_pinned(command), self.supervised(command, argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
            stdout, stderr = process.communicate()
        if process.returncode != 0:
            self.on_output(mask_secrets(stderr))
            raise TerraformError(f"terraform {command} exited with code {process.returncode}")
        return stdout

    def init(self, state_key: str | None, module: str | None = None, identity: RunIdentity | None = None) -> None:
        """Initialise against the S3 backend at state_key, or the local backend when None. Skipped
        when the directory was initialised already with exactly this backend, configuration, module
        and lock file."""
        marker = self.workdir / ".terraform" / INIT_MARKER
        fingerprint = init_fingerprint(self.workdir, state_key, module, identity)
        if state_key is not None and marker.exists() and marker.read_text() == fingerprint:
            self.on_output("$ terraform init: skipped, .terraform already matches this backend key, configuration and lock file\n")
            return
        marker.unlink(missing_ok=True)
        if state_key is None:
            self.run("init", input=False)
        else:
            self.run("init", input=False, reconfigure=IsFlagged, backend_config=backend_config(state_key, identity))
        if state_key is not None:
            marker.write_text(init_fingerprint(self.workdir, state_key, module, identity))


def init_fingerprint(workdir: Path, state_key: str | None, module: str | None, identity=None) -> str:
    """What `terraform init` depends on: the backend settings, the root module, the module it calls,
    the dependency lock file, the portal's pinned providers and the CLI configuration (mirror, cache)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(backend_config(state_key, identity) if state_key else None, sort_keys=True).encode())
    digest.update(cli_config_text().encode())
    digest.update(settings.TERRAFORM_BIN.encode())
    names = [name for name in RENDERED_FILES if name.endswith(".tf")] + [".terraform.lock.hcl"]  # not the values
    files = [workdir / name for name in names] + [providers.portal_lock()]
    if module:
        module_dir = settings.INFRA_MODULES_DIR / module
        files += sorted(path for path in module_dir.rglob("*.tf") if "tests" not in path.relative_to(module_dir).parts)
    for path in files:
        digest.update(str(path.name).encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"-")
    return digest.hexdigest()


@contextmanager
def plugin_cache_lock() -> Iterator[None]:
    settings.TERRAFORM_PLUGIN_CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(settings.TERRAFORM_PLUGIN_CACHE_DIR / ".portal-init.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
