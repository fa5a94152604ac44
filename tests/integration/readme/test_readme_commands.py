"""The README's commands run as written. Here, the API section's: the local stack's settings, then
`manage.py issue_token` for bin/portal's local admin, which without them stops at "DJANGO_SECRET_KEY is
not set"; then the key it printed registers the service of the section's `curl`."""

import json
import os
import re
import subprocess

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.django_db(transaction=True)  # the command's own process reads the rows


def readme_block_with(command: str) -> str:
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    return next(block for block in blocks if command in block)


def test_the_api_section_issues_a_token_as_written(make_user, django_user_model):
    from django.db import connection
    from rest_framework.test import APIClient

    make_user("admin", "admins")  # as bin/portal makes its local admin (ensure_local_admin): in the art team
    block = readme_block_with("manage.py issue_token admin")
    lines = block.split("\n")
    issued = lines[: next(i for i, line in enumerate(lines) if "manage.py issue_token" in line) + 1]
    db = connection.settings_dict
    # As a user's shell is: none of the tests' settings, the database aside (the test database).
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "PORTAL_", "AWS_"))}
    env["DATABASE_URL"] = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"

    ran = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(issued)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert ran.returncode == 0, ran.stderr
    key = re.search(r"\bportal_[\w-]{20,}", ran.stdout)
    assert key, ran.stdout
    assert django_user_model.objects.get(username="admin").api_tokens.count() == 1

    # The section's curl, through the test client: the token's scope may register what it sends.
    body = json.loads(re.search(r"-d '(\{.*?\})'", block, re.DOTALL).group(1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key.group(0)}")
    registered = client.post("/api/v1/services/", body, format="json")
    assert registered.status_code == 201, registered.content
    assert registered.json()["service"]["name"] == body["name"]
