"""Teams and their members, and which team owns a service: the one code path the pages (and the
API) call. Each asks its permission function first and records what it did in the audit trail."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from portal import audit
from portal.access import permissions
from portal.access.models import Membership, Team


@transaction.atomic
def create_team(by, name: str, description: str = "") -> Team:
    permissions.require(permissions.manage_teams(by))
    team = Team(name=name, description=description)
    team.full_clean()
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError:  # the same name created a moment before
        raise ValidationError({"name": ["A team with this name exists."]}) from None
    audit.record("team.create", by, team, team=team, description=description)
    return team


@transaction.atomic
def add_member(by, team: Team, user) -> Membership:
    permissions.require(permissions.manage_teams(by))
    membership, created = Membership.objects.get_or_create(team=team, user=user)
    if not created:
        raise ValidationError({"username": [f"{user.get_username()} is in {team} already."]})
    permissions.forget_teams(user)
    audit.record("team.member_add", by, team, team=team, member=user.get_username())
    return membership


@transaction.atomic
def remove_member(by, team: Team, user) -> None:
    """What the user could do through this team ends with it (their tokens for its services too:
    portal.api.models listens to the membership's deletion)."""
    permissions.require(permissions.manage_teams(by))
    deleted, _ = Membership.objects.filter(team=team, user=user).delete()
    if not deleted:
        raise ValidationError({"username": [f"{user.get_username()} is not in {team}."]})
    permissions.forget_teams(user)
    audit.record("team.member_remove", by, team, team=team, member=user.get_username())


def join(user, team_name: str) -> Team:
    """For the portal's own commands (the local admin, the acceptance run, the benchmarks): the team,
    made when missing, with `user` in it. Asks no permission: the command's operator acts; recorded
    as the portal's own action when it changed anything."""
    team, made = Team.objects.get_or_create(name=team_name)
    if made:
        audit.record("team.create", None, team, team=team)
    _, added = Membership.objects.get_or_create(team=team, user=user)
    if added:
        permissions.forget_teams(user)
        audit.record("team.member_add", None, team, team=team, member=user.get_username())
    return team
