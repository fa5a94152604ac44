"""`bin/portal` run as root from a clone inside a private directory (a home of mode 0700): PostgreSQL
runs as the `postgres` user, which cannot enter it, so the local stack stops at once with a sentence
that names the directory and what to do, rather than initdb's bare "Permission denied"."""

import os
import pwd
import shutil
import tempfile
from pathlib import Path

import pytest

from portal import local_services

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not any(user.pw_name == "postgres" for user in pwd.getpwall()),
    reason="PostgreSQL drops to the postgres user only when bin/portal runs as root",
)


@pytest.fixture
def outer():
    """A directory everyone may enter (pytest's own tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="portal-private-home-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_a_private_home_is_named_with_what_to_do(outer):
    home = outer / "home"
    data = home / "clone" / "var" / "postgres"
    data.mkdir(parents=True)
    home.chmod(0o700)

    assert local_services.unreachable_for_postgres(data) == home
    with pytest.raises(SystemExit) as stopped:
        local_services.Postgres("postgres", local_services.DEFAULT_DATABASE_URL)._own(data)
    message = str(stopped.value)
    assert f"cannot reach {data}: {home} is private (mode 0700)" in message
    assert "PORTAL_STATE_DIR" in message and "ordinary user" in message


def test_a_home_others_may_enter_is_no_obstacle(outer):
    data = outer / "home" / "clone" / "var" / "postgres"
    data.mkdir(parents=True)
    for directory in (outer / "home", outer / "home" / "clone"):
        directory.chmod(0o711)

    assert local_services.unreachable_for_postgres(data) is None
    local_services.Postgres("postgres", local_services.DEFAULT_DATABASE_URL)._own(data)  # no stop
    assert data.owner() == "postgres"
