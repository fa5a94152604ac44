"""What the benchmarks against a running `bin/portal` share: its environment and Django, set up on
import, and the users they act as."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
from portal.local_services import local_environment  # noqa: E402

for name, value in local_environment().items():
    os.environ.setdefault(name, value)

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402


def user(name: str, group: str) -> User:
    """A person of the benchmark, in the team its services belong to."""
    from portal.access.teams import join

    account, _ = User.objects.get_or_create(username=name)
    account.groups.add(Group.objects.get(name=group))
    join(account, "benchmark")
    return account


def lift_capacity_check() -> None:
    """The default cluster places six tasks (3 instances x 2 task network interfaces), and the
    registration refuses what it cannot place (portal.capacity), so the services of earlier runs
    soon fill it. What the benchmarks measure is planning and applying, which the emulator does
    whatever the room (it runs no task): the room check is lifted in this process only, and said so."""
    from portal.capacity import usage

    usage.ensure_room = lambda plans: None
    print("capacity check lifted in this process (the default cluster places 6 tasks)")
