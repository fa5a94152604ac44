"""Each module's README tables (Inputs, Outputs) are what `bin/module-docs` writes from its .tf files,
and the generator notices a change to them. No database, no AWS: the generator only reads files."""

import importlib.machinery
import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _load_generator():
    """bin/module-docs is a script without .py; load it as a module to call its functions."""
    loader = importlib.machinery.SourceFileLoader("module_docs", str(ROOT / "bin" / "module-docs"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module
    loader.exec_module(module)
    return module


module_docs = _load_generator()

FIX = "README tables out of date: run bin/module-docs (it rewrites them from the .tf files), then commit the README."


@pytest.mark.parametrize("module_dir", module_docs.module_dirs(), ids=lambda path: path.name)
def test_readme_tables_are_what_the_code_says(module_dir):
    stale = module_docs.stale_rows(module_dir)

    assert not stale, FIX + "\n" + "\n".join(stale)


README = """\
# demo

Prose that the generator must leave alone.

## Inputs

<!-- BEGIN GENERATED: inputs -->
| stale | hand-written |
<!-- END GENERATED: inputs -->

## Outputs

<!-- BEGIN GENERATED: outputs -->
<!-- END GENERATED: outputs -->

## Tests

More prose.
"""

VARIABLES = """\
variable "name" {
  type        = string
  description = "Name of the thing | with a pipe."
}

variable "rules" {
  # A comment inside the type must not show.
  type = map(object({
    name_patterns = list(string)
    priority      = optional(number, 10)
  }))
  description = <<-EOT
    Per type, its "rules":
      one per line.
  EOT
  default = {
    web = { name_patterns = ["a-*"], priority = 1 }
  }
}

variable "cidrs" {
  type        = list(string)
  description = "Ranges, e.g. \\"10.0.0.0/8\\"."
  default     = ["0.0.0.0/0"]
}

variable "key" {
  type        = string
  description = "Optional key, e.g. /<name>/* or `<name>-*`; min <= max."
  default     = null
}
"""

OUTPUTS = """\
output "id" {
  description = "ID of the thing."
  value       = var.name
}
"""


@pytest.fixture
def demo_module(tmp_path):
    module_dir = tmp_path / "demo"
    module_dir.mkdir()
    (module_dir / "README.md").write_text(README)
    (module_dir / "variables.tf").write_text(VARIABLES)
    (module_dir / "outputs.tf").write_text(OUTPUTS)
    # Sorts before variables.tf by name, but variables.tf's blocks come first.
    (module_dir / "a_extra.tf").write_text('variable "extra" {\n  type = bool\n  default = true\n}\n')
    return module_dir


def _table(readme: str, section: str) -> list[str]:
    lines = readme.split("\n")
    begin = lines.index(f"<!-- BEGIN GENERATED: {section} -->")
    end = lines.index(f"<!-- END GENERATED: {section} -->")
    return lines[begin + 1 : end]


def test_generator_writes_the_tables_and_nothing_else(demo_module):
    assert module_docs.write(demo_module) is True

    readme = (demo_module / "README.md").read_text()
    assert _table(readme, "inputs") == [
        "",
        "| Name | Description | Type | Default | Required |",
        "|------|-------------|------|---------|:--------:|",
        "| name | Name of the thing \\| with a pipe. | `string` | n/a | yes |",
        '| rules | Per type, its "rules": one per line. | `map(object({ name_patterns = list(string), '
        'priority = optional(number, 10) }))` | `{ web = { name_patterns = ["a-*"], priority = 1 } }` | no |',
        '| cidrs | Ranges, e.g. "10.0.0.0/8". | `list(string)` | `["0.0.0.0/0"]` | no |',
        "| key | Optional key, e.g. /\\<name>/\\* or `<name>-*`; min <= max. | `string` | `null` | no |",
        "| extra | n/a | `bool` | `true` | no |",
        "",
    ]
    assert _table(readme, "outputs") == [
        "",
        "| Name | Description |",
        "|------|-------------|",
        "| id | ID of the thing. |",
        "",
    ]
    outside = [line for line in readme.split("\n") if not line.startswith("|") and line]
    assert outside == [line for line in README.split("\n") if not line.startswith("|") and line]
    assert module_docs.stale_rows(demo_module) == []
    assert module_docs.write(demo_module) is False  # a second run changes nothing


def test_check_fails_and_names_a_variable_added_to_the_code(demo_module, capsys):
    module_docs.write(demo_module)
    with (demo_module / "variables.tf").open("a") as variables:
        variables.write(
            textwrap.dedent("""
                variable "replicas" {
                  type        = number
                  description = "How many copies run."
                  default     = 2
                }
            """)
        )

    stale = "\n".join(module_docs.stale_rows(demo_module))
    assert "demo/README.md: inputs table is stale (rows: replicas)" in stale
    assert "+| replicas | How many copies run. | `number` | `2` | no |" in stale
    assert module_docs.main(["--check", str(demo_module)]) == 1
    printed = capsys.readouterr().out
    assert "replicas" in printed and "Run bin/module-docs" in printed

    assert module_docs.main([str(demo_module)]) == 0
    assert module_docs.main(["--check", str(demo_module)]) == 0
    rows = _table((demo_module / "README.md").read_text(), "inputs")
    assert rows.index("| replicas | How many copies run. | `number` | `2` | no |") == rows.index("| extra | n/a | `bool` | `true` | no |") - 1


def test_a_readme_without_markers_is_refused(demo_module, capsys):
    (demo_module / "README.md").write_text("# demo\n\n## Inputs\n\n| Name |\n")

    assert module_docs.main(["--check", str(demo_module)]) == 1
    assert "<!-- BEGIN GENERATED: inputs -->" in capsys.readouterr().out
    assert module_docs.main([str(demo_module)]) == 1
    assert (demo_module / "README.md").read_text() == "# demo\n\n## Inputs\n\n| Name |\n"
