"""The portal is served by gunicorn (portal/gunicorn_conf.py), and with DEBUG off WhiteNoise serves the
static files from it: content-hashed names cached for good, gzip when the browser accepts it. The
development server is used nowhere outside the tests."""

import gzip
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

from tests.conftest import ROOT, free_port, wait_until

# The server runs against the test database, which pytest-django makes only for tests that ask for it.
pytestmark = pytest.mark.django_db

GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "python:portal.gunicorn_conf", "portal.wsgi"]
TEN_YEARS = 10 * 365 * 24 * 3600


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path


def start_gunicorn(collected_static: Path, log: Path, **env_changes: str) -> Server:
    """gunicorn as bin/portal starts it, on a free port, against the test database and this session's
    Redis queue and emulator."""
    from django.db import connection

    db = connection.settings_dict
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PORTAL_STATIC_ROOT": str(collected_static),
        "PORTAL_WEB_ADDRESS": f"127.0.0.1:{port}",
        "PORTAL_WEB_WORKERS": "2",
        "PORTAL_WEB_THREADS": "4",
        **env_changes,
    }
    process = subprocess.Popen(GUNICORN, env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    wait_until(lambda: answers(server), 30, message=f"gunicorn to answer (log: {log})")
    return server


def answers(server: Server) -> bool:
    if server.process.poll() is not None:
        raise AssertionError(f"gunicorn exited ({server.process.returncode}):\n{server.log.read_text()}")
    try:
        return requests.get(server.url + "/login/", timeout=5).status_code == 200
    except (requests.ConnectionError, requests.Timeout):
        # Not listening yet, or a worker still loading Django on a busy machine: asked again.
        return False


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


def worker_pids(master_pid: int) -> set[int]:
    found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master_pid)], capture_output=True, text=True)
    return {int(pid) for pid in found.stdout.split()}


def ignores(pid: int, sent: signal.Signals) -> bool:
    mask = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("SigIgn:"))
    return bool(int(mask.split()[1], 16) & (1 << (sent - 1)))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"


@pytest.fixture(scope="module")
def web_server(django_db_setup, collected_static, rq_worker, tmp_path_factory):
    server = start_gunicorn(collected_static, tmp_path_factory.mktemp("gunicorn") / "gunicorn.log")
    yield server
    stop(server)


def static_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["'](/static/[^"']+)["']""", html)


def test_healthz_is_answered_by_gunicorn(web_server):
    response = requests.get(web_server.url + "/healthz", timeout=10)

    assert response.status_code == 200, response.text
    assert response.json()["healthy"] is True
    assert response.headers["Server"] == "gunicorn"
    # The access log: gunicorn writes its line once the response is sent, so it may come a moment after.
    wait_until(lambda: "GET /healthz" in web_server.log.read_text(), 10, message="the access log's line")


@pytest.mark.parametrize(
    "page, accept, expected",
    [
        ("/api/docs/", "text/html", ["swagger-ui-dist/swagger-ui-bundle.", "swagger-ui-dist/swagger-ui."]),
        ("/admin/login/", "text/html", ["admin/css/base."]),
        ("/api/v1/services/", "text/html", ["rest_framework/css/bootstrap.", "rest_framework/js/jquery-"]),
    ],
)
def test_pages_load_their_static_files_through_whitenoise_with_debug_off(web_server, page, accept, expected):
    response = requests.get(web_server.url + page, headers={"Accept": accept}, timeout=10)
    urls = static_urls(response.text)

    assert response.status_code in (200, 401), response.text[:500]  # the browsable API asks anonymous users to log in
    for part in expected:
        assert any(part in url for url in urls), (part, urls)
    for url in urls:
        # Each name carries a hash of its content, from the manifest collectstatic wrote.
        assert re.search(r"\.[0-9a-f]{12}\.\w+$", url), url
        static = requests.get(web_server.url + url, timeout=10)
        assert static.status_code == 200, url
        assert static.headers["Content-Type"].split(";")[0] in {
            "text/css",
            "text/javascript",
            "application/javascript",
            "image/png",
            "image/svg+xml",
            "image/x-icon",
        }, (url, static.headers["Content-Type"])
        cache = static.headers["Cache-Control"]
        assert "immutable" in cache and int(re.search(r"max-age=(\d+)", cache)[1]) >= TEN_YEARS, (url, cache)


def test_a_name_without_a_hash_is_served_but_cached_briefly(web_server):
    response = requests.get(web_server.url + "/static/admin/css/base.css", timeout=10)

    assert response.status_code == 200
    assert "immutable" not in response.headers["Cache-Control"]
    assert int(re.search(r"max-age=(\d+)", response.headers["Cache-Control"])[1]) <= 3600


def test_gzip_is_served_when_the_browser_accepts_it(web_server):
    docs = requests.get(web_server.url + "/api/docs/", timeout=10).text
    bundle = next(url for url in static_urls(docs) if "swagger-ui-bundle." in url)

    plain = requests.get(web_server.url + bundle, headers={"Accept-Encoding": "identity"}, timeout=10, stream=True)
    plain_body = plain.raw.read(decode_content=False)
    zipped = requests.get(web_server.url + bundle, headers={"Accept-Encoding": "gzip"}, timeout=10, stream=True)
    zipped_body = zipped.raw.read(decode_content=False)

    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert len(zipped_body) < len(plain_body) / 2
    assert gzip.decompress(zipped_body) == plain_body


def test_a_static_file_that_does_not_exist_is_the_portals_404(web_server):
    response = requests.get(web_server.url + "/static/admin/css/nothing-here.css", timeout=10)

    assert response.status_code == 404


@pytest.mark.parametrize(
    "send, within",
    [
        # Ctrl-C: the terminal sends SIGINT to the whole process group, the master and its workers.
        (lambda server: os.killpg(server.process.pid, signal.SIGINT), 5),
        # bin/portal's shutdown sends SIGTERM to the master, and kills what has not stopped after 15 s.
        (lambda server: server.process.send_signal(signal.SIGTERM), 15),
    ],
    ids=["ctrl-c", "sigterm"],
)
def test_gunicorn_stops_with_its_workers(django_db_setup, collected_static, tmp_path, send, within):
    server = start_gunicorn(collected_static, tmp_path / "gunicorn.log")
    try:
        # Told to quit twice at once (the terminal's SIGINT and the master's SIGQUIT), a worker can hang
        # in its exit until the master kills it: workers take their orders from the master only.
        def ready_workers():
            pids = worker_pids(server.process.pid)
            return pids if len(pids) == 2 and all(ignores(pid, signal.SIGINT) for pid in pids) else None

        workers = wait_until(ready_workers, 15, message="two booted workers that leave SIGINT to the master")
        with requests.Session() as session:  # busy workers: their request threads exist
            for _ in range(8):
                session.get(server.url + "/login/", timeout=10)

        send(server)
        server.process.wait(timeout=within)

        wait_until(lambda: not any(alive(pid) for pid in workers), 5, message="the workers to exit")
    finally:
        stop(server)


def test_the_configuration_uses_threaded_workers():
    checked = subprocess.run(
        [*GUNICORN, "--print-config"],
        env={**os.environ, "PORTAL_WEB_WORKERS": "3"},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )

    assert checked.returncode == 0, checked.stderr
    config = dict(re.findall(r"^(\w+)\s+= (.*)$", checked.stdout, re.MULTILINE))
    assert config["worker_class"] == "gthread"
    assert config["workers"] == "3"
    assert config["threads"] == "8"
    assert config["accesslog"] == "-"
    assert int(config["graceful_timeout"]) < 15  # bin/portal kills what has not stopped after 15 s


@pytest.mark.parametrize("name", ["PORTAL_WEB_WORKERS", "PORTAL_WEB_THREADS"])
@pytest.mark.parametrize("value", ["0", "two", "²", "-1", ""])
def test_a_bad_worker_or_thread_count_is_refused(name, value):
    refused = subprocess.run(
        [sys.executable, "-c", "import portal.gunicorn_conf"],
        env={**os.environ, name: value},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )

    assert refused.returncode != 0
    assert f"{name} must be a whole number, at least 1 (got {value!r})." in refused.stderr


def files_outside_the_tests() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode == 0:
        paths = [ROOT / line for line in listed.stdout.splitlines()]
    else:  # not a git checkout
        skipped = {".git", ".venv", "var", "__pycache__", ".terraform", ".hypothesis", ".pytest_cache", ".ruff_cache"}
        paths = [p for p in ROOT.rglob("*") if not skipped & set(p.relative_to(ROOT).parts)]
    return [p for p in paths if p.is_file() and p.relative_to(ROOT).parts[0] != "tests"]


def test_the_development_server_is_used_nowhere_outside_the_tests():
    files = files_outside_the_tests()
    using_it = [str(path.relative_to(ROOT)) for path in files if b"runserver" in path.read_bytes()]

    assert {"bin/portal", "portal/devstack.py", "docker-compose.yml"} <= {str(p.relative_to(ROOT)) for p in files}
    assert using_it == []


def test_docker_compose_serves_with_gunicorn_and_collects_the_static_files_into_the_image():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    web = compose["services"]["web"]

    assert "exec python -m gunicorn -c python:portal.gunicorn_conf portal.wsgi" in web["command"]
    assert web["environment"]["PORTAL_WEB_ADDRESS"] == "0.0.0.0:8000"
    assert "manage.py collectstatic" in web["build"]["dockerfile_inline"]


def test_a_worker_settles_its_garbage_collector_once_loaded():
    """What benchmarks/api.py measures: frozen start-up objects, collections less often."""
    script = "import gc, portal.gunicorn_conf as conf; conf.post_worker_init(None); print(gc.get_threshold(), gc.get_freeze_count() > 0)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    from portal.garbage_collection import THRESHOLDS

    assert result.stdout.strip() == f"{THRESHOLDS} True"
