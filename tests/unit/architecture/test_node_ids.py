"""Every test of the suite has a node id of its own. pytest-xdist (`PORTAL_TEST_PROCESSES`, bin/test)
hands tests to its processes by id, so tests that share an id are run once between them, and the
others are silently never run or reported; `-k`, `--lf` and a JUnit report lose them the same way.
Collected in a process of its own, as bin/test collects; nothing is run."""

import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def collected_ids() -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_no_two_tests_share_a_node_id():
    ids = collected_ids()
    shared = {node: count for node, count in Counter(ids).items() if count > 1}
    assert not shared, f"tests sharing a node id (xdist would run one of each): {shared}"
    # The case that hid 37 tests: schemathesis names one test per API operation.
    schema_tests = [node for node in ids if node.startswith("tests/integration/api/test_api_schema.py::test_api_matches_its_schema[")]
    assert len(schema_tests) > 30 and any("GET /api/v1/services/" in node for node in schema_tests)
