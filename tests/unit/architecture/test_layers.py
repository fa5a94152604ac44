"""Apps are layers that point one way: each may import only the apps below it in LAYERS, so no
import points up and no two apps import each other. Every app (a folder of portal/ with an
__init__.py) must be placed in LAYERS, so a new app is judged from the day it appears; queueing a job
is a leaf that does not import the workflow (the worker's function is named by its dotted path)."""

import ast
from pathlib import Path

import pytest

PORTAL = Path(__file__).resolve().parents[3] / "portal"
# Top first. The pages of an area sit with the area they show, so an app that shows another's pages
# (the Platform page shows the cluster's capacity) is above it.
LAYERS = [
    "liverepo",  # the live repository: every applied change committed to git
    "journey",  # the acceptance journey on AWS: drives everything below
    "api",  # the REST API: the pages' functions, for CI
    "policy",  # policy checks of plans
    "costs",  # each plan's monthly cost, and the cost policy's hold
    "approvals",  # the approval policy: how many approvals a change needs, from its plans
    "rollouts",  # a module's version brought to every workspace behind it, wave by wave
    "environments",  # environments that end: warned, then decommissioned by the portal
    "platform",  # the Platform page, its provisioning, the workspaces' pages, the cluster page
    "drift",  # drift checks and their restoring
    "notifications",  # webhooks
    "catalog",  # services: declarations, forms, onboarding, their pages
    "diagrams",  # drawing what is applied
    "capacity",  # the cluster's capacity model and sizing
    "administrators",  # the IAM administrators, one per AWS service type
    "runner",  # executes runs on the workers: terraform, locks, recovery (no pages)
    "changes",  # the change workflow, and the pages of changes and runs
    "workspaces",  # Terraform workspaces: paths, state keys, identities, rendering
    "runs",  # the records of runs and changes, the queue
    "access",  # people, teams, roles, tokens, sign-in; one permission function per action
    "audit",  # the audit trail: recording what happened
    "core",  # strict parsing, the refusal type, AWS sessions, masking
]


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):  # function-level imports count too
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)  # from portal import audit
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def imported_apps(app: str) -> set[str]:
    return {
        module.split(".")[1]
        for path in (PORTAL / app).rglob("*.py")
        for module in imported_modules(path)
        if module.startswith("portal.") and module.split(".")[1] in LAYERS
    } - {app}


def test_every_app_has_a_place_in_the_layers():
    apps = {folder.name for folder in PORTAL.iterdir() if (folder / "__init__.py").exists()}
    assert apps == set(LAYERS), f"not placed: {sorted(apps - set(LAYERS))}; gone: {sorted(set(LAYERS) - apps)}"


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_no_layer_above_it(layer):
    above = set(LAYERS[: LAYERS.index(layer)])
    offending = {
        f"{path.relative_to(PORTAL)} imports {module}"
        for path in (PORTAL / layer).rglob("*.py")
        for module in imported_modules(path)
        if module.startswith("portal.") and module.split(".")[1] in above
    }
    assert not offending, sorted(offending)


def test_no_two_apps_import_each_other_however_far_round():
    graph = {app: imported_apps(app) for app in LAYERS}
    circles = []

    def visit(app: str, path: list[str]) -> None:
        for other in sorted(graph[app]):
            if other in path:
                circles.append(path[path.index(other) :] + [other])
            elif len(path) < len(LAYERS):
                visit(other, path + [other])

    for app in LAYERS:
        visit(app, [app])
    assert not circles, circles[:5]


def test_queueing_is_a_leaf():
    imports = imported_modules(PORTAL / "runs" / "queueing.py")
    assert not {m for m in imports if m.startswith("portal.") and not m.startswith("portal.runs.models")}


def module_name(path: Path) -> str:
    parts = path.relative_to(PORTAL.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_two_modules_import_each_other_however_far_round():
    """Inside an app too: a circle of modules is a knot a newcomer must read all at once."""
    paths = [path for path in PORTAL.rglob("*.py") if "migrations" not in path.parts]
    modules = {module_name(path): path for path in paths}
    graph = {name: {imported for imported in imported_modules(path) if imported in modules and imported != name} for name, path in modules.items()}
    # Tarjan's strongly connected components: any component of more than one module is a circle.
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    assert not circles, circles
