"""The flush that ends every transactional test, while another session reads the test database (the
session's RQ workers' recovery pass, a live server's last request): PostgreSQL can find the two
deadlocked, and the flush is made again (tests/conftest.py, `_flush_made_again_after_a_deadlock`).

The deadlock is made on purpose: a second connection reads the TRUNCATE's last table, waits until the
TRUNCATE waits for it, then reads its first."""

import re
import threading

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.db import connection
from django.db.backends.postgresql.operations import DatabaseOperations

from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


class Reader(threading.Thread):
    """A session of its own that holds `last` and, once the flush waits for it, reads `first`."""

    def __init__(self, first: str, last: str):
        super().__init__(name="reader", daemon=True)
        self.first, self.last = first, last
        self.holding, self.error = threading.Event(), None
        self.session = open_session()
        self.pid = self.session.info.backend_pid
        # One session kept for looking, polled often: PostgreSQL ends the one of the two whose wait
        # first reaches a second (deadlock_timeout) once the circle is closed, so the reader closes
        # it within moments of the flush starting to wait, and the flush is the one ended.
        self.probe = open_session(autocommit=True)

    def run(self):
        try:
            with self.session.transaction():
                self.session.execute(f'SELECT 1 FROM "{self.last}" LIMIT 1')
                self.holding.set()
                wait_until(self.flush_waits_for_me, 30, interval=0.01, message="the TRUNCATE to wait for the reader")
                self.session.execute(f'SELECT 1 FROM "{self.first}" LIMIT 1')
        except psycopg.Error as exc:
            self.error = exc
        finally:
            self.session.close()
            self.probe.close()

    def flush_waits_for_me(self) -> bool:
        waiting = self.probe.execute(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND mode = 'AccessExclusiveLock' AND %s = ANY(pg_blocking_pids(pid))",
            (self.pid,),
        ).fetchone()[0]
        return waiting > 0


def open_session(autocommit: bool = False) -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"] or None, host=db["HOST"], port=db["PORT"], autocommit=autocommit)


def truncated_tables() -> list[str]:
    (truncate,) = connection.ops.sql_flush(no_style(), connection.introspection.django_table_names(only_existing=True))
    return re.findall(r'"([^"]+)"', truncate)


def flush_beside_a_deadlocking_reader(django_user_model) -> Reader:
    django_user_model.objects.create_user(username="left-behind")
    tables = truncated_tables()
    reader = Reader(tables[0], tables[-1])
    reader.start()
    assert reader.holding.wait(10)
    try:
        call_command("flush", verbosity=0, interactive=False)
    finally:
        reader.join(30)
    return reader


def test_a_flush_deadlocked_with_a_reader_is_made_again_and_empties_the_tables(django_user_model):
    reader = flush_beside_a_deadlocking_reader(django_user_model)

    # PostgreSQL ended the TRUNCATE (it waited first), so the reader's second read went through ...
    assert reader.error is None, reader.error
    # ... and the flush made again emptied the database.
    assert not django_user_model.objects.exists()


def test_without_the_second_attempt_the_same_flush_fails_as_the_teardowns_did(django_user_model, monkeypatch):
    monkeypatch.setattr(DatabaseOperations, "execute_sql_flush", DatabaseOperations.execute_sql_flush.__wrapped__)

    with pytest.raises(CommandError, match="couldn't be flushed") as failure:
        flush_beside_a_deadlocking_reader(django_user_model)

    assert isinstance(failure.value.__cause__.__cause__, psycopg.errors.DeadlockDetected)
    assert django_user_model.objects.filter(username="left-behind").exists(), "the failed flush changed nothing"
