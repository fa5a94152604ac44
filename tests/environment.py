"""Loaded as a pytest plugin (`-p tests.environment` in pytest.ini) so that it runs before
pytest-django reads the Django settings: the environment the tests and their workers share, and the
address of an AWS emulator (moto server) of this session's own on a free port. The emulator itself
starts only when a test asks for it (the `emulator` fixture, which the integration, e2e and browser
tiers use for all their tests): the unit tier runs with nothing listening there."""

import os
import secrets
import socket
import tempfile


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:56379/15")
# Each pytest-xdist worker is a session of its own (its emulator, queue, workspaces and database):
# it gets a Redis database of its own too, counting down from the one given, so that RQ's registry
# of workers (which the health check and recovery read) holds only its own.
if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    base, _, database = os.environ["REDIS_URL"].rpartition("/")
    os.environ["REDIS_URL"] = f"{base}/{(int(database or 0) - int(worker.removeprefix('gw'))) % 16}"
# DEBUG is off in tests, as in production, so the portal wants a secret key of its own.
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
os.environ.pop("DJANGO_DEBUG", None)
os.environ["RQ_QUEUE"] = f"portal-tests-{os.getpid()}"
os.environ["PORTAL_WORKSPACES_DIR"] = tempfile.mkdtemp(prefix="portal-test-workspaces-")
# The AWS settings of the machine, before the emulator's replace them: what the acceptance run on AWS
# (tests/e2e/aws/test_aws_acceptance.py) would use.
AWS_NAMES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL")
MACHINE_AWS_ENVIRONMENT = {name: os.environ[name] for name in AWS_NAMES if name in os.environ}
os.environ.update(
    AWS_ACCESS_KEY_ID="emulator",
    AWS_SECRET_ACCESS_KEY="emulator-secret",
    AWS_REGION="eu-west-1",
    AWS_DEFAULT_REGION="eu-west-1",
    MOTO_IAM_LOAD_MANAGED_POLICIES="true",
)
# Room for the many one-task services tests register (m6i.large without trunking on the emulator: 2
# tasks an instance); the capacity tests set the cluster they test themselves.
os.environ.setdefault("PORTAL_CLUSTER_MAX_SIZE", "50")
os.environ.pop("AWS_SESSION_TOKEN", None)
os.environ.pop("AWS_PROFILE", None)
# Every process the tests start inherits this, so the session's end can find any that outlived it,
# orphans included (tests/conftest.py, pytest_sessionfinish).
SESSION_MARK = "PORTAL_TEST_SESSION"
os.environ[SESSION_MARK] = f"{os.getpid()}-{secrets.token_hex(6)}"

from portal.emulator import mend  # noqa: E402
from tests.iam.recorder import Recorder, RecordingMotoServer  # noqa: E402

mend()  # the emulator as bin/portal runs it: a second plan of an applied workspace changes nothing

# Every request the emulator serves, for the IAM evaluation (tests/iam/).
RECORDER = Recorder()
# The address is fixed now, before the settings and the workers' environments read it; the server
# starts on first use.
_emulator_port = free_port()
os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{_emulator_port}"
_emulator = None


def start_emulator() -> str:
    """This session's emulator, started once, on the address AWS_ENDPOINT_URL already names."""
    global _emulator
    if _emulator is None:
        _emulator = RecordingMotoServer(RECORDER, ip_address="127.0.0.1", port=_emulator_port, verbose=False)
        _emulator.start()
    return os.environ["AWS_ENDPOINT_URL"]


def emulator_server() -> RecordingMotoServer:
    """The emulator's server itself, started if it was not: for a test that wraps its application.
    Asked at the time of use, never imported as a name (a name imported before the start is None)."""
    start_emulator()
    return _emulator


import logging  # noqa: E402

logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the emulator logs every request
