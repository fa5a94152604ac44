"""Tokens end when what they were issued on no longer holds, wherever the change is made (a page,
the admin site, `manage.py changepassword`, a shell), so from Django's signals:

- a password change revokes every token of its user: whoever changed it, because it leaked or
  because its owner left, means the old credentials to stop, and tokens were issued on the old
  password (issuing asks for it);
- a user leaving a team revokes each of their tokens that could not be issued to them now
  (portal.access.permissions.token_holds): tokens bound to a service of a team they no longer act
  for, and deploy tokens bound to a service of a team they are not in, or unbound while they are
  in no team (they can deploy nothing).

Each revocation is in the audit trail (`token.revoke`, with its reason). Between two such events
nothing is lost: every request asks the token's limits and its user's permissions as they are
then (portal.api.scopes)."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save, pre_save

from portal.access import permissions
from portal.access.models import Membership, Team
from portal.api.models import ApiToken, RevokedBecause
from portal.audit.accounts import acting_user


def password_changing(user, update_fields) -> bool:
    if user.pk is None:
        return False  # a new user has no tokens yet
    if update_fields is not None and "password" not in update_fields:
        return False  # e.g. a login's last_login
    if user._password is not None:
        return True  # set_password() was called: a new password (even the same words again)
    if update_fields is not None and set(update_fields) == {"password"}:
        # check_password()'s re-hash under a newer hasher: the same password, which Django's own
        # comment says is no change (django.contrib.auth.base_user).
        return False
    stored = type(user).objects.filter(pk=user.pk).values_list("password", flat=True).first()
    return stored is not None and stored != user.password  # a hash assigned directly


def remember_password_change(sender, instance, raw=False, update_fields=None, **kwargs):
    instance._portal_password_changing = not raw and password_changing(instance, update_fields)


def revoke_after_password_change(sender, instance, raw=False, **kwargs):
    if getattr(instance, "_portal_password_changing", False):
        instance._portal_password_changing = False
        ApiToken.objects.filter(user=instance).revoke(acting_user(), RevokedBecause.PASSWORD_CHANGED)


def revoke_after_leaving_a_team(sender, instance, **kwargs):
    # Fresh rows: the user's teams as they are now, without the membership just deleted. A user being
    # deleted has no tokens left by now (they go first, without signals).
    user = get_user_model().objects.filter(pk=instance.user_id).first()
    if user is None:
        return
    team = Team.objects.filter(pk=instance.team_id).values_list("name", flat=True).first()
    for token in ApiToken.objects.live().filter(user=user).select_related("service__team"):
        if permissions.token_holds(user, token.scope, token.service) is not None:
            token.revoke(acting_user(), RevokedBecause.LEFT_TEAM, team=team)


def connect() -> None:
    User = get_user_model()
    uid = "portal.api.revocation"
    pre_save.connect(remember_password_change, sender=User, dispatch_uid=f"{uid}.password_before")
    post_save.connect(revoke_after_password_change, sender=User, dispatch_uid=f"{uid}.password_after")
    post_delete.connect(revoke_after_leaving_a_team, sender=Membership, dispatch_uid=f"{uid}.left_team")
