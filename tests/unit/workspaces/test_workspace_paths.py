"""Where a workspace lives is a pure function of its path and the settings (portal.workspaces.paths):
no database, no AWS, so that the models and everything else may read it without an import circle."""

import ast
from pathlib import Path

from portal.workspaces import paths
from portal.workspaces.models import Workspace

WORKSPACES = Path(__file__).resolve().parents[3] / "portal" / "workspaces"


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):  # function-level imports count too
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_path_functions_import_nothing_but_the_settings():
    assert imports_of(WORKSPACES / "paths.py") == {"django.conf"}


def test_the_workspaces_modules_import_one_another_without_a_circle():
    graph = {
        path.stem: {module.rsplit(".", 1)[-1] for module in imports_of(path) if module.startswith("portal.workspaces.")} for path in WORKSPACES.glob("*.py")
    }

    def reaches(start: str, goal: str, seen=()) -> bool:
        return any(nxt == goal or (nxt not in seen and reaches(nxt, goal, (*seen, nxt))) for nxt in graph.get(start, ()))

    circles = sorted(module for module in graph if reaches(module, module))
    assert not circles, circles
    assert "layout" not in graph["identities"], "identities asks declared.py, not layout, which types have an administrator"


def test_a_workspace_state_key_is_its_path_s():
    path = "ecs/services/art-service-x"
    assert Workspace(path=path).state_key == paths.state_key(path) == "ecs/services/art-service-x/terraform.tfstate"
    assert paths.shared_state_keys() == tuple(f"{path}/terraform.tfstate" for path in paths.shared_state_paths())
