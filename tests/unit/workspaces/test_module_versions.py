"""A module's version is what terraform reads of it: its files' names and contents, not its tests,
examples or prose; and the first entry of its changelog, where it has one."""

import shutil
from pathlib import Path

import pytest

from portal.workspaces.modules import changelog_line, module_digest, module_files, version_of

SHIPPED = Path(__file__).resolve().parents[3] / "infra_modules"


@pytest.fixture
def modules(tmp_path, settings):
    shutil.copytree(SHIPPED / "ecs-service", tmp_path / "ecs-service")
    settings.INFRA_MODULES_DIR = tmp_path
    return tmp_path


def test_a_change_to_what_terraform_reads_is_a_new_version(modules):
    before = module_digest("ecs-service")
    assert before == module_digest("ecs-service"), "the same files, the same version"
    main = modules / "ecs-service" / "main.tf"
    main.write_text(main.read_text() + "\n# one more line\n")
    assert module_digest("ecs-service") != before


def test_a_renamed_file_is_a_new_version(modules):
    before = module_digest("ecs-service")
    (modules / "ecs-service" / "outputs.tf").rename(modules / "ecs-service" / "outputs_renamed.tf")
    assert module_digest("ecs-service") != before


def test_tests_examples_prose_and_terraforms_own_folder_are_not_the_module(modules):
    before = module_digest("ecs-service")
    root = modules / "ecs-service"
    (root / "tests" / "extra.tftest.hcl").write_text("run {}\n")
    (root / "README.md").write_text("rewritten\n")
    (root / "examples").mkdir(exist_ok=True)
    (root / "examples" / "more.tf").write_text("# example\n")
    (root / ".terraform").mkdir(exist_ok=True)  # a whole bin/test run leaves one (the modules' terraform test)
    (root / ".terraform" / "lock").write_text("x")
    assert module_digest("ecs-service") == before
    assert {path.name for path in module_files("ecs-service")} >= {"main.tf", "variables.tf", "outputs.tf"}
    assert not [path for path in module_files("ecs-service") if "tests" in path.parts or path.suffix == ".md"]


def test_the_changelog_gives_the_newest_entrys_heading_and_first_line(modules):
    assert changelog_line("ecs-service") == "" and version_of("ecs-service").changelog == ""
    (modules / "ecs-service" / "CHANGELOG.md").write_text(
        "# ecs-service\n\n## 2026-12-03\n\n- Task definitions keep their revision on a no-op plan.\n- More.\n\n## 2026-11-01\n- Older.\n"
    )
    assert changelog_line("ecs-service") == "2026-12-03: Task definitions keep their revision on a no-op plan."
    before = module_digest("ecs-service")
    assert version_of("ecs-service").sha256 == before, "a changelog is prose: no new version"
    assert version_of("ecs-service").short == before[:12]
