"""Small builders the tests share, and the one cast of people (the `people` fixture in
tests/conftest.py builds it)."""

TEAM = "art"  # the team every test's people are in, unless a test says otherwise

# key -> (username, groups). Every test that needs "a developer", "an approver"... takes them from
# here; a test that needs someone else makes them with `make_user` where it needs them.
CAST: dict[str, tuple[str, tuple[str, ...]]] = {
    "dev": ("dev", ("developers",)),
    "other": ("other-developer", ("developers",)),
    # A developer who also approves: the approval rule must still refuse them their own change.
    "author": ("author", ("developers", "approvers")),
    "approver": ("approver", ("approvers",)),
    "admin": ("admin", ("admins",)),
    "other-admin": ("other-admin", ("admins",)),
}


def a_team(name: str = TEAM):
    """The team of that name, made when missing (the people of `make_user` are in the art team)."""
    from portal.access.models import Team

    return Team.objects.get_or_create(name=name)[0]


def cast(make_user) -> dict:
    """The cast, made with `make_user` (each in the art team)."""
    return {key: make_user(username, *groups) for key, (username, groups) in CAST.items()}
