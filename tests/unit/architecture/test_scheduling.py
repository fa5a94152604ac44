"""bin/test's spread of the modules over processes (tests/scheduling.py), driven through xdist's own
loadscope scheduler with stand-in processes that run each test in the seconds given."""

import types
from pathlib import Path

from tests.scheduling import LONG_MODULES, WARMUP_SECONDS, LongModulesApart

ROOT = Path(__file__).resolve().parents[3]
LONG = list(LONG_MODULES)


class Process:
    """What the scheduler sees of an xdist worker: the tests it is sent, and a shutdown."""

    def __init__(self, name):
        self.name, self.queue, self.shutting_down, self.ran = name, [], False, []
        self.gateway = types.SimpleNamespace(id=name)

    def send_runtest_some(self, indexes):
        self.queue.extend(indexes)

    def shutdown(self):
        self.shutting_down = True


def run(collection, seconds, processes=3, cores=None, started=None):
    """Every test of `collection` run to its end by `processes` stand-ins on a clock of their own:
    {process: [module, ...]} in the order each ran them. `cores` is what the scheduler is told the
    machine has (as many as the processes by default); `started`, if given, collects
    (second, process, module) as each test starts."""
    config = types.SimpleNamespace(getvalue=lambda name: [f"{processes}*popen"], option=types.SimpleNamespace(loadscopereorder=False))
    scheduler = LongModulesApart(config)
    now = [0.0]
    scheduler.clock = lambda: now[0]
    scheduler.cores = cores or processes
    nodes = [Process(f"gw{i}") for i in range(processes)]
    for node in nodes:
        scheduler.add_node(node)
    for node in nodes:
        scheduler.add_node_collection(node, collection)
    scheduler.schedule()
    clock = dict.fromkeys(nodes, 0.0)
    while any(node.queue for node in nodes):
        node = min((n for n in nodes if n.queue), key=lambda n: clock[n] + seconds(collection[n.queue[0]]))
        index = node.queue.pop(0)
        if started is not None:
            started.append((clock[node], node.name, collection[index].split("::")[0]))
        clock[node] += seconds(collection[index])
        now[0] = clock[node]
        node.ran.append(collection[index].split("::")[0])
        scheduler.mark_test_complete(node, index)
    assert sorted(test for node in nodes for test in node.ran) == sorted(test.split("::")[0] for test in collection)
    return {node.name: node.ran for node in nodes}


def suite(long_modules):
    """Units, then `long_modules` (one test each, as the platform's end-to-end test), then short
    modules. The first process gets a unit module of two tests and the others one of ten each, so it
    asks for more while the others are busy: as a process does in a real run."""
    units = [f"tests/unit/test_u{i}.py::test_{j}" for i, size in enumerate((2, 10, 10)) for j in range(size)]
    long = [f"{module}::test_all" for module in long_modules]
    short = [f"tests/integration/test_s{i}.py::test_{j}" for i in range(20) for j in range(3)]
    return units + long + short


def seconds(test):
    return 300 if test.split("::")[0] in LONG_MODULES else 1


def test_each_long_module_runs_on_a_process_of_its_own_while_another_is_free():
    spread = run(suite(LONG[:3]), seconds)

    long_per_process = [[module for module in ran if module in LONG_MODULES] for ran in spread.values()]
    assert sorted(len(modules) for modules in long_per_process) == [1, 1, 1], spread
    # The short modules fill in beside them: none of the three waits behind more than its own.
    assert max(sum(seconds(module) for module in ran) for ran in spread.values()) <= 300 + 30


def test_with_more_long_modules_than_processes_every_test_runs_once_and_the_processes_end_near_the_best_split():
    spread = run(suite(LONG[:5]), seconds, processes=2)

    totals = sorted(sum(seconds(module) for module in ran) for ran in spread.values())
    # 5 x 300 s of long modules on two processes: 900 and 600 at best, the short ones beside. (xdist's own
    # scheduler passes this too: the rule is held by the test above.)
    assert totals[-1] <= 900 + 80, spread


def first_end_to_end_starts(started) -> list[float]:
    """When each process began its first end-to-end test, earliest first."""
    first = {}
    for second, process, module in started:
        if module.startswith("tests/e2e/"):
            first.setdefault(process, second)
    return sorted(first.values())


def test_with_more_processes_than_cores_the_first_end_to_end_waits_are_spread_and_other_tiers_fill_in():
    # Four long end-to-end modules (each process's first one waits for the state bucket's bootstrap),
    # and integration modules enough to fill two cores while two processes wait.
    collection = suite(LONG[:4]) + [f"tests/integration/test_f{i}.py::test_{j}" for i in range(60) for j in range(3)]
    started = []
    spread = run(collection, seconds, processes=4, cores=2, started=started)

    starts = first_end_to_end_starts(started)
    assert len(starts) == 4
    # Two processes at a time: the third starts its first end-to-end module a warm-up after the first.
    assert starts[2] - starts[0] >= WARMUP_SECONDS and starts[3] - starts[1] >= WARMUP_SECONDS, starts
    ran_first = [next(module for module in ran if not module.startswith("tests/unit/")) for ran in spread.values()]
    assert sum(module.startswith("tests/integration/") for module in ran_first) == 2, ran_first
    assert sorted(sum(module in LONG_MODULES for module in ran) for ran in spread.values()) == [1, 1, 1, 1]

    # With a core for each process nothing is held back: they all start as soon as they are free.
    started = []
    run(collection, seconds, processes=4, cores=4, started=started)
    starts = first_end_to_end_starts(started)
    assert starts[-1] - starts[0] < WARMUP_SECONDS, starts


def test_the_list_names_modules_that_exist():
    missing = [module for module in LONG_MODULES if not (ROOT / module).is_file()]
    assert not missing, f"tests/scheduling.py names modules that are gone: {missing}"
