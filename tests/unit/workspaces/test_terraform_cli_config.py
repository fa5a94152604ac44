"""One shared plugin cache; the provider mirror when there is one, the registry otherwise."""

from portal.workspaces.terraform_config import cli_config_text


def test_mirror_is_used_when_configured(settings, tmp_path):
    (tmp_path / "registry.terraform.io").mkdir()
    settings.TERRAFORM_PROVIDER_MIRROR = str(tmp_path)

    text = cli_config_text()

    assert f'path = "{tmp_path}"' in text
    assert f'plugin_cache_dir = "{settings.TERRAFORM_PLUGIN_CACHE_DIR}"' in text


def test_registry_is_used_without_a_mirror(settings, tmp_path):
    settings.TERRAFORM_PROVIDER_MIRROR = ""
    settings.TERRAFORM_PROVIDER_MIRROR_CANDIDATES = [str(tmp_path / "absent")]

    text = cli_config_text()

    assert "provider_installation" not in text
    assert "plugin_cache_dir" in text
