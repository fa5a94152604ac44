"""The command lines the portal gives terraform (portal/runner/terraform.py `Terraform.command`, built
by python-terraform): nothing the command is given may stay on disk outside the working directory.
No terraform is run."""

import tempfile

import pytest
from python_terraform import IsFlagged

from portal.runner.terraform import Terraform


@pytest.fixture
def temporary_folder(tmp_path, monkeypatch):
    """The system's temporary folder, as python-terraform's `tempfile` sees it: an empty one to look in."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_variables_given_as_a_dict_are_refused_and_written_nowhere(tmp_path, temporary_folder):
    terraform = Terraform(tmp_path, print)

    with pytest.raises(TypeError, match="var_file="):
        terraform.command("plan", input=False, var={"db_password": "s3cret-value"})

    assert list(temporary_folder.iterdir()) == [], "python-terraform wrote the variables to a file it never removes"


def test_backend_settings_and_a_variables_file_are_given_on_the_command_line(tmp_path, temporary_folder):
    argv = Terraform(tmp_path, print).command(
        "init", input=False, reconfigure=IsFlagged, backend_config={"key": "ecs/x/terraform.tfstate"}, var_file="inputs.tfvars.json"
    )

    assert argv[1] == "init"
    assert {"-input=false", "-reconfigure", "-backend-config=key=ecs/x/terraform.tfstate", "-var-file=inputs.tfvars.json", "-no-color"} <= set(argv)
    assert list(temporary_folder.iterdir()) == []
