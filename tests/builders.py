"""Small builders the tests share."""

TEAM = "art"  # the team every test's people are in, unless a test says otherwise


def a_team(name: str = TEAM):
    """The team of that name, made when missing (the people of `make_user` are in the art team)."""
    from portal.access.models import Team

    return Team.objects.get_or_create(name=name)[0]
