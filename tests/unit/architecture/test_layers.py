"""Layers point one way: journey -> api -> drift -> catalog -> capacity -> administrators -> policy -> runs -> workspaces ->
audit, nothing back; and queueing a job is a leaf that does not import the workflow (the worker's function is named by its dotted path)."""

import ast
from pathlib import Path

import pytest

PORTAL = Path(__file__).resolve().parents[3] / "portal"
# audit is the leaf every layer records into (portal.audit.record); it imports none of them.
LAYERS = ["journey", "api", "drift", "catalog", "capacity", "administrators", "policy", "runs", "workspaces", "audit"]  # each may import only those after it


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):  # function-level imports count too
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_no_layer_above_it(layer):
    above = LAYERS[: LAYERS.index(layer)]
    offending = {
        f"{path.relative_to(PORTAL)} imports {module}"
        for path in (PORTAL / layer).rglob("*.py")
        for module in imported_modules(path)
        if any(module == f"portal.{other}" or module.startswith(f"portal.{other}.") for other in above)
    }
    assert not offending, sorted(offending)


def test_queueing_is_a_leaf():
    imports = imported_modules(PORTAL / "runs" / "queueing.py")
    assert not {m for m in imports if m.startswith("portal.") and m != "portal.runs.models"}
