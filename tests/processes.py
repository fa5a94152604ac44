"""Stopping what the tests start, children included, and finding what outlived them.

A process of the portal's often leads a group of its own (the RQ worker, its work-horse, terraform,
whose providers are in terraform's group), so killing one group leaves the others running: a worker
killed with its group left terraform and its provider behind, reparented to init, where no test could
see them. Here a process is stopped with every descendant seen while it stops, group by group."""

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil


def _tree(pid: int) -> list[psutil.Process]:
    try:
        process = psutil.Process(pid)
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _signal_all(processes: dict[int, psutil.Process], signum: int) -> None:
    groups = set()
    for process in processes.values():
        try:
            groups.add(os.getpgid(process.pid))
        except ProcessLookupError:
            continue
    for group in groups - {os.getpgrp()}:  # never the test session's own group
        try:
            os.killpg(group, signum)
        except (ProcessLookupError, PermissionError):
            pass
    for process in processes.values():
        try:
            process.send_signal(signum)
        except psutil.Error:
            pass


def _running(processes: dict[int, psutil.Process]) -> list[psutil.Process]:
    alive = []
    for process in processes.values():
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.NoSuchProcess:
            pass
    return alive


WORKERS_MARK = "PORTAL_TEST_WORKERS"  # set in the environment of the workers a fixture starts


def marked(mark: str, value: str) -> list[psutil.Process]:
    """Every process (not this one) whose environment carries `mark=value`: a process's children
    inherit it, so this finds them after their parent died and init adopted them."""
    found = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            if process.environ().get(mark) == value:
                found.append(process)
        except psutil.Error:
            continue
    return found


def working_in(folder: str) -> list[dict]:
    """Running processes whose working directory is under `folder`: terraform and its providers in
    the session's workspaces, which the runner starts with an environment of its own (no session
    mark), so that a provider an interrupted terraform left behind is found all the same."""
    from portal.runner.terraform import working_under  # here: this module is loaded before Django is set up

    left = []
    for process in working_under(Path(folder)):
        try:
            left.append({"pid": process.pid, "pgid": os.getpgid(process.pid), "cmdline": " ".join(process.info["cmdline"])[:200]})
        except ProcessLookupError:  # ended since
            continue
    return left


def stop_processes(roots, grace: float = 0, mark: tuple[str, str] | None = None) -> bool:
    """SIGTERM to each root (a Popen or a pid) and up to `grace` seconds to end with its children (a
    warm shutdown); then SIGKILL to every process seen in their trees and to their groups, and wait.
    With `mark` (name, value), every process carrying it in its environment counts as theirs too, the
    orphans among them. True when nothing was left to kill after the grace."""
    popens = [root for root in roots if isinstance(root, subprocess.Popen)]
    pids = [root.pid if isinstance(root, subprocess.Popen) else root for root in roots]
    seen: dict[int, psutil.Process] = {}

    def look() -> None:  # a child reparented to init is no longer in a tree: keep every one seen
        for pid in pids:
            seen.update({process.pid: process for process in _tree(pid)})
        if mark:
            seen.update({process.pid: process for process in marked(*mark)})

    look()
    if grace:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _running(seen):
            look()
            time.sleep(0.2)
    look()
    ended_in_grace = not _running(seen)
    _signal_all(seen, signal.SIGKILL)
    for popen in popens:
        popen.wait()
    psutil.wait_procs(_running(seen), timeout=10)
    return ended_in_grace


def leftover_processes(mark: str, value: str, settle: float = 0) -> list[dict]:
    """Running processes (not this one) whose environment carries `mark=value`: the session's children,
    however far they were reparented. Waits up to `settle` seconds for ones that are ending."""
    deadline = time.monotonic() + settle
    while True:
        left = []
        for process in marked(mark, value):
            try:
                if process.status() == psutil.STATUS_ZOMBIE:
                    continue
                left.append({"pid": process.pid, "pgid": os.getpgid(process.pid), "cmdline": " ".join(process.cmdline())[:200]})
            except (psutil.Error, ProcessLookupError):
                continue
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.5)
