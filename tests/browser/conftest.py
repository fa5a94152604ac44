"""The browser tier: headless Chromium on a live server, on PostgreSQL, Redis and the emulator.

Every test here may call AWS (the portal's own code does, e.g. on registering a service) and render a
page with DEBUG off, so the session's emulator and collected static files are started for all of
them, once, and only when a test of this tier runs."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def _tier_services(emulator, collected_static):
    return emulator
