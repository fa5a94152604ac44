"""Where each test module runs when bin/test spreads them over processes (pytest-xdist,
`--dist loadscope`: a module to a process, so that its fixtures start once). Loaded as a plugin
(`-p tests.scheduling` in pytest.ini): xdist asks for the scheduler in the controlling process,
which collects no tests and so sees no markers, only the tests' ids. The long modules are therefore
named here, by path, and `tests/conftest.py` marks their tests `long` from this list.

Why xdist's own loadscope is not enough: a process asks for its next module as soon as it holds two
tests or fewer, so a process that starts a one-test module of six minutes takes the next module at
once, and when that is the next long one the two run one after the other on that process while the
others run dry. Three processes measured 1,067 s that way on the tests' own times against 754 s with
the rule below (a replay of one run's durations; `benchmarks/test_suite.py` measures the real one).

And a process's first end-to-end module waits about a minute with nothing to compute: the session's
state bucket bootstrap, most of it the AWS provider's 55 s waiter on the bucket's lifecycle rule
(portal/runner/bootstrap.py). When every process started its first one at once, the cores were
about 30% idle for 90 s of the run (sampled from /proc/stat). So only as many processes as there are
more processes than cores start their first end-to-end module within WARMUP_SECONDS of each other;
the others run modules of the other tiers meanwhile, and use the cores the waiting ones leave."""

import os
import time

import pytest
from xdist.scheduler import LoadScopeScheduling

# Modules of a minute or more on their own, with the seconds one took in a run of the whole suite
# on two processes (benchmarks/test_suite.py, 2026-12-06). Longest first: they start first.
LONG_MODULES = {
    "tests/e2e/platform/test_platform_end_to_end.py": 366,
    "tests/e2e/policy/test_privileges_enforced.py": 288,
    "tests/e2e/runner/test_provisioning_recovery.py": 262,
    "tests/e2e/runner/test_run_faults.py": 135,
    "tests/e2e/modules/test_terraform_modules.py": 122,
    "tests/e2e/drift/test_deployed_images.py": 78,
    "tests/e2e/runner/test_state_bucket_bootstrap.py": 64,
}


def module_of(scope: str) -> str:
    """The module's path of an xdist scope ("path.py" or "path.py::Class")."""
    return scope.split("::", 1)[0]


def is_long(scope: str) -> bool:
    return module_of(scope) in LONG_MODULES


def is_end_to_end(scope: str) -> bool:
    return module_of(scope).startswith("tests/e2e/")


# How long a process's first end-to-end module mostly waits: the bootstrap took 66 s on its own.
WARMUP_SECONDS = 80


class LongModulesApart(LoadScopeScheduling):
    """loadscope, except that
    - a process holding a long module unfinished is given a short one next, while any is left: each
      long module starts on a process of its own as soon as one is free;
    - with more processes than cores, a process that has run no end-to-end module yet is given a
      module of another tier while `processes - cores` others started their first end-to-end module
      less than WARMUP_SECONDS ago: their waits are spread out rather than taken all at once."""

    def __init__(self, config, log=None):
        super().__init__(config, log)
        self.clock = time.monotonic
        self.cores = os.cpu_count() or 1
        self.warmed = {}  # process -> when it was given its first end-to-end module

    def _assign_work_unit(self, node) -> None:
        warmed, held, now = self.warmed, self.assigned_work.get(node, {}), self.clock()
        warming = sum(now - since < WARMUP_SECONDS for since in warmed.values())
        if any(is_long(scope) and not all(tests.values()) for scope, tests in held.items()):
            self._put_first(lambda scope: not is_long(scope))
        elif node not in warmed and len(self.nodes) > self.cores and warming >= len(self.nodes) - self.cores:
            self._put_first(lambda scope: not is_end_to_end(scope))
        before = set(held)
        super()._assign_work_unit(node)
        if node not in warmed and any(is_end_to_end(scope) for scope in set(self.assigned_work.get(node, {})) - before):
            warmed[node] = now

    def _put_first(self, wanted) -> None:
        """The first scope still to hand out that is `wanted` goes to the head of the queue (if any)."""
        scope = next((scope for scope in self.workqueue if wanted(scope)), None)
        if scope is not None:
            self.workqueue.move_to_end(scope, last=False)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") == "loadscope":
        return LongModulesApart(config, log)
    return None
