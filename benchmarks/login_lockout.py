"""How long a password guesser lasts: with the portal's login settings (PORTAL_LOGIN_*), the failed
logins one account and one address get before the lockout, the time it takes to make them, how long
the lockout lasts, and so the guessing rate that is left (per account, and per address across
accounts), and how many of a burst of guesses sent at once get checked. Each login is a real POST to
/login/ through Django's WSGI handler (in process, no network)
on the local stack's PostgreSQL, where django-axes counts the failures.

    bin/portal (or `python -m portal.local_services up`), then:
    .venv/bin/python benchmarks/login_lockout.py [ROUNDS]
"""

import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
from portal.local_services import local_environment  # noqa: E402

for name, value in local_environment().items():
    os.environ.setdefault(name, value)
# A database of its own (PORTAL_BENCHMARK_DATABASE names another, e.g. to run beside someone else's).
os.environ["DATABASE_URL"] = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + os.environ.get("PORTAL_BENCHMARK_DATABASE", "portal_benchmark")
os.environ["PORTAL_WORKSPACES_DIR"] = tempfile.mkdtemp(prefix="portal-benchmark-")

import django  # noqa: E402
import psycopg  # noqa: E402

django.setup()
# Every refused login is a 429 that django.request logs, and axes logs each failure: figures only.
logging.getLogger("django.request").setLevel(logging.ERROR)
logging.getLogger("axes").setLevel(logging.ERROR)

from axes.models import AccessAttempt  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from portal.audit.models import AuditEvent  # noqa: E402


def create_database():
    db = settings.DATABASES["default"]
    with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
            admin.execute(f'CREATE DATABASE "{db["NAME"]}"')
    call_command("migrate", verbosity=0)


def attempt(client: Client, username: str, password: str, address: str) -> tuple[int, float]:
    started = time.perf_counter()
    status = client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address).status_code
    return status, time.perf_counter() - started


def until_locked(client: Client, usernames: list[str], address: str) -> tuple[int, float, list[float]]:
    """Wrong passwords, account after account, until the portal answers with the lockout (429)."""
    times = []
    for n in range(1, 10_001):
        status, seconds = attempt(client, usernames[(n - 1) % len(usernames)], f"guess-{n}", address)
        times.append(seconds)
        if status == 429:
            return n, sum(times), times
        assert status == 200, status
    raise SystemExit("never locked out after 10,000 guesses")


def burst(username: str, address: str, size: int) -> int:
    """`size` wrong passwords sent at once from as many threads: how many had the password checked
    rather than refused unchecked. The lockout is decided after each password is
    checked, so guesses already past the check when the limit is reached still get theirs checked."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from django.db import connection

    gate = Barrier(size)
    checked = []
    real_check = User.check_password

    def counting_check(user, raw_password):
        checked.append(raw_password)
        return real_check(user, raw_password)

    User.check_password = counting_check

    def one(n: int) -> int:
        gate.wait()
        try:
            return attempt(Client(), username, f"burst-{n}", address)[0]
        finally:
            connection.close()

    try:
        with ThreadPoolExecutor(size) as pool:
            list(pool.map(one, range(size)))
    finally:
        User.check_password = real_check
    return len(checked)


def duration(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def main(rounds: int) -> None:
    create_database()
    AccessAttempt.objects.all().delete()
    names = [f"bench-{i}" for i in range(8)]
    for name in names:
        user, _ = User.objects.get_or_create(username=name)
        user.set_password(f"the-right-password-of-{name}")
        user.save()
    client = Client()
    lockout = settings.LOGIN_LOCKOUT_SECONDS
    print(
        f"settings: PORTAL_LOGIN_FAILURE_LIMIT={settings.LOGIN_FAILURE_LIMIT}, "
        f"PORTAL_LOGIN_ADDRESS_FAILURE_LIMIT={settings.LOGIN_ADDRESS_FAILURE_LIMIT}, PORTAL_LOGIN_LOCKOUT_SECONDS={lockout}"
    )

    account_runs, address_runs, refused = [], [], []
    for round_ in range(rounds):
        AccessAttempt.objects.all().delete()
        account_runs.append(until_locked(client, ["bench-0"], f"198.51.100.{round_ + 1}"))
        # The right password while locked: refused before any password hash is computed.
        for _ in range(5):
            status, seconds = attempt(client, "bench-0", "the-right-password-of-bench-0", f"198.51.100.{round_ + 1}")
            assert status == 429, status
            refused.append(seconds)
        AccessAttempt.objects.all().delete()
        # One address, a different account each time (never one account's limit): the address's limit.
        address_runs.append(until_locked(client, names[1:], f"203.0.113.{round_ + 1}"))

    for label, runs in (("one account", account_runs), ("one address, across accounts", address_runs)):
        guesses = runs[0][0]
        made = statistics.median(total for _, total, _ in runs)
        each = statistics.median(t for _, _, times in runs for t in times)
        per_hour = guesses * 3600 / (made + lockout)
        print(
            f"{label}: locked out at guess {guesses} (the {guesses}th wrong password is answered with the lockout page), "
            f"made in {duration(made)} (median of {rounds}; {each * 1000:.0f} ms per failed login), "
            f"then locked for {duration(lockout)}"
        )
        print(
            f"  a guesser who waits out each lockout: {per_hour:.1f} guesses an hour, {per_hour * 24:.0f} a day, "
            f"{10_000 / per_hour / 24:.1f} days for a 10,000-word list"
        )
    AccessAttempt.objects.all().delete()
    for size in (8, 32):
        AccessAttempt.objects.all().delete()
        checked = burst("bench-0", "192.0.2.1", size)
        print(
            f"{size} wrong passwords sent at once (threads of one process): {checked} checked before the lockout refused the rest "
            f"(limit {settings.LOGIN_FAILURE_LIMIT})"
        )
    print(f"a login refused while locked: {statistics.median(refused) * 1000:.1f} ms (median of {len(refused)}), the right password included")
    failed = AuditEvent.objects.filter(action="user.login_failed", details__username__startswith="bench-").count()
    locked = AuditEvent.objects.filter(action="user.locked_out", details__username__startswith="bench-").count()
    print(f"audit trail: {failed} failed logins, {locked} lockouts recorded so far in this database")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
