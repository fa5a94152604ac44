"""The README's test command, timed the way issue 22 counts it, and where its time goes.

Runs `bin/test --durations=0 [PYTEST ARGS]` in this tree, or in a fresh clone of REF with --clone
(`bin/setup-venv` first, as a new machine does; its time is printed apart). While it runs, every
process's CPU time is sampled every half second. Then it prints:

- the wall time of the command;
- the tests' own times (setup, call and teardown added up) per tier and for the slowest modules:
  their sum over the processes against the wall time says how well the spread is balanced;
- the CPU time by kind of process (terraform, the AWS provider, the pytest processes with their
  in-process emulators, checkov, the RQ workers, PostgreSQL, Chromium, the rest), against what the
  cores had in that time. A suite that uses half its CPU waits rather than computes;
- terraform's CPU and its AWS provider's together, by terraform's subcommand (plan, show, test...).

    .venv/bin/python benchmarks/test_suite.py [--clone] [--ref HEAD] [--top 12] [-- PYTEST ARGS]

e.g. `benchmarks/test_suite.py -- tests/unit` for a quick look, or `benchmarks/test_suite.py --clone`
for the whole command as CI runs it (about 17 minutes on this 2-core machine). The processes a
sample misses (started and ended within half a second) are not counted: the CPU figures are a floor.
"""

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
DURATION = re.compile(r"^([\d.]+)s (setup|call|teardown)\s+(\S+)", re.MULTILINE)


def kind(process: psutil.Process) -> str:
    """What a process is, for the CPU table; "" for one that is gone."""
    try:
        name, argv = process.name(), process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return ""
    command = " ".join(argv[:4])
    if name.startswith("terraform-provider") or "terraform-provider" in command:
        return "AWS provider"
    if name == "terraform":
        return "terraform"
    if "checkov_resident" in command:
        return "checkov, resident (with its scans)"
    if "checkov" in command:
        return "checkov, a process of its own"
    if "rqworker" in command:
        return "RQ workers"
    if "gunicorn" in command:
        return "gunicorn"
    # pytest, and pytest-xdist's processes (`python -c "import sys;exec(eval(sys.stdin.readline()))"`),
    # which hold the session's in-process emulator.
    if "pytest" in command or "sys.stdin.readline" in command:
        return "pytest processes (with their emulators)"
    if name.startswith("postgres"):
        return "PostgreSQL"
    if "redis" in name:
        return "Redis"
    if "chrom" in name or "headless_shell" in name:
        return "Chromium"
    return "other"


def terraform_command(process: psutil.Process, what: str) -> str:
    """The terraform subcommand a terraform process runs, or its provider serves ("" otherwise)."""
    try:
        if what == "AWS provider":
            process = process.parent()
        elif what != "terraform":
            return ""
        argv = process.cmdline() if process else []
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return "unknown"
    return next((argument for argument in argv[1:] if not argument.startswith("-")), "unknown")


class CpuSampler(threading.Thread):
    """CPU time per kind of process: for a process alive at the start, what it used since; for one
    started later, all it used."""

    def __init__(self, interval: float = 0.5):
        super().__init__(daemon=True)
        self.interval = interval
        self.stopping = threading.Event()
        self.seen: dict[tuple[int, float], tuple[float, str]] = {}
        self.used: collections.Counter = collections.Counter()
        self.processes: collections.Counter = collections.Counter()  # how many of each kind were seen
        self.by_command: collections.Counter = collections.Counter()  # terraform's and its providers' CPU by subcommand
        self.sample(first=True)

    def sample(self, first: bool = False) -> None:
        for process in psutil.process_iter():
            try:
                times = process.cpu_times()
                key = (process.pid, process.create_time())
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            spent = times.user + times.system
            if key not in self.seen:
                what = kind(process)
                if not what:
                    continue
                self.seen[key] = (spent, what, terraform_command(process, what))
                self.processes[what] += 1
                if not first:
                    self.count(what, self.seen[key][2], spent)
                continue
            before, what, command = self.seen[key]
            self.count(what, command, spent - before)
            self.seen[key] = (spent, what, command)

    def count(self, what: str, command: str, seconds: float) -> None:
        self.used[what] += seconds
        if command:
            self.by_command[command] += seconds

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            self.sample()


def fresh_clone(ref: str) -> Path:
    directory = Path(tempfile.mkdtemp(prefix="portal-test-suite-"))
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(directory / "clone")], check=True)
    clone = directory / "clone"
    subprocess.run(["git", "checkout", "--quiet", ref], cwd=clone, check=True)
    return clone


def stop_services_under(tree: Path) -> None:
    """Stop what bin/test started from the clone (PostgreSQL, Redis, the emulator, in sessions of
    their own), so that the clone can go: SIGINT is PostgreSQL's fast shutdown, and ends the others."""
    started_there = []
    for process in psutil.process_iter():
        try:
            if any(str(tree) in argument for argument in process.cmdline()):
                started_there.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    for process in started_there:
        try:
            process.send_signal(2)
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(started_there, timeout=30)
    for process in alive:
        process.kill()


def tests_own_times(log: str) -> tuple[collections.Counter, collections.Counter]:
    tiers, modules = collections.Counter(), collections.Counter()
    for seconds, _, node in DURATION.findall(log):
        module = node.split("::")[0]
        modules[module] += float(seconds)
        parts = module.split("/")
        tiers[parts[1] if len(parts) > 2 else module] += float(seconds)
    return tiers, modules


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clone", action="store_true", help="run in a fresh clone of --ref, after its bin/setup-venv")
    parser.add_argument("--ref", default="HEAD", help="what --clone checks out (default HEAD)")
    parser.add_argument("--top", type=int, default=12, help="how many of the slowest modules to list (default 12)")
    parser.add_argument("pytest_args", nargs="*", help="after --: what bin/test passes to pytest (default: every test)")
    options = parser.parse_args()
    if options.top < 0:
        parser.error("--top must be 0 or more")

    tree = ROOT
    if options.clone:
        tree = fresh_clone(subprocess.run(["git", "rev-parse", options.ref], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip())
        started = time.monotonic()
        subprocess.run(["bin/setup-venv"], cwd=tree, check=True, stdout=subprocess.DEVNULL)
        print(f"bin/setup-venv in the fresh clone {tree}: {time.monotonic() - started:.0f} s")

    log_path = Path(tempfile.mkstemp(prefix="portal-test-suite-", suffix=".log")[1])
    sampler = CpuSampler()
    system_before = psutil.cpu_times()
    sampler.start()
    started = time.monotonic()
    with open(log_path, "w") as log_file:
        command = ["bin/test", "--durations=0", "-p", "no:cacheprovider", *options.pytest_args]
        status = subprocess.run(command, cwd=tree, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode
    wall = time.monotonic() - started
    sampler.stopping.set()
    sampler.join()
    system_after = psutil.cpu_times()

    log = log_path.read_text(errors="replace")
    summary = [line for line in log.splitlines() if re.match(r"^=+ .*(passed|failed|error|no tests ran).* =+$", line)]
    print(f"{' '.join(command)}: exit {status}, {wall:.0f} s ({wall / 60:.1f} min); the whole output in {log_path}")
    print(f"  {summary[-1].strip('= ') if summary else 'no pytest summary line'}")

    tiers, modules = tests_own_times(log)
    total = sum(tiers.values())
    print(f"\nThe tests' own times (setup + call + teardown): {total:.0f} s in all")
    for tier, seconds in tiers.most_common():
        print(f"  {tier:<13} {seconds:8.0f} s")
    if options.top:
        print(f"  the {min(options.top, len(modules))} slowest modules:")
        for module, seconds in modules.most_common(options.top):
            print(f"    {seconds:8.0f} s  {module}")

    spent_by_system = sum(system_after) - sum(system_before)
    idle = (system_after.idle - system_before.idle) + (getattr(system_after, "iowait", 0) - getattr(system_before, "iowait", 0))
    cores = psutil.cpu_count() or 1
    print(f"\nCPU over the run: {cores} cores x {wall:.0f} s = {cores * wall:.0f} CPU-seconds; busy {100 * (1 - idle / spent_by_system):.0f}% of them")
    print("  sampled by kind of process (a floor: a process that lived under half a second is missed):")
    for what, seconds in sampler.used.most_common():
        if seconds >= 0.5:
            print(f"    {seconds:8.0f} s  {what} ({sampler.processes[what]} processes)")
    print("  terraform and its AWS provider together, by terraform's subcommand:")
    for command, seconds in sampler.by_command.most_common():
        if seconds >= 0.5:
            print(f"    {seconds:8.0f} s  {command}")
    if options.clone:
        stop_services_under(tree)
        shutil.rmtree(tree.parent, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
