"""The browser tier: headless Chromium on a live server, on PostgreSQL, Redis and the emulator.

Every test here may call AWS (the portal's own code does, e.g. on registering a service) and render a
page with DEBUG off, so the session's emulator and collected static files are started for all of
them, once, and only when a test of this tier runs."""

import time

import pytest


@pytest.fixture(scope="session", autouse=True)
def _tier_services(emulator, collected_static):
    return emulator


@pytest.fixture(autouse=True)
def _requests_done_before_the_flush(request):
    """A page's last request can still be running in the live server's thread when its test ends
    (the browser context closed under it). A transactional test's database is then flushed under
    that request, and PostgreSQL once found the two deadlocked: TRUNCATE holding one table and
    waiting for another that the request read, the request waiting for the first. Set up after the
    database (pytest-django's autouse fixtures come first), so torn down before its flush: it waits
    until the test database's other sessions are idle, at most 10 s."""
    yield
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    from django.db import connection

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND state IN ('active', 'idle in transaction')"
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.05)
