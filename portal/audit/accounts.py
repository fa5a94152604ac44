"""User and group changes, from Django's signals, wherever they are made (the admin site, a shell,
a command, the groups' post_migrate hook). The actor is the user of the request being served, if any.
A password is never recorded, only that it changed."""

from django.contrib.auth import get_user_model, user_logged_in, user_login_failed
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from portal.audit import record
from portal.audit.context import current_origin
from portal.audit.models import Action

# What a user change shows; `password` only as "changed", `last_login` not at all (a login is its own event).
USER_FIELDS = ("username", "email", "first_name", "last_name", "is_active", "is_staff", "is_superuser")


def acting_user():
    origin = current_origin()
    return origin.user if origin else None


def remember_user_before(sender, instance, raw=False, update_fields=None, **kwargs):
    instance._audit_before = None
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # a login (recorded as such)
    if not raw and instance.pk is not None:
        instance._audit_before = sender.objects.filter(pk=instance.pk).values(*USER_FIELDS, "password").first()


def user_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    if created:
        record(Action.USER_CREATE, acting_user(), instance, **{f: getattr(instance, f) for f in USER_FIELDS})
        return
    before = getattr(instance, "_audit_before", None) or {}
    changed = {field: [before.get(field), getattr(instance, field)] for field in USER_FIELDS if before and before.get(field) != getattr(instance, field)}
    password_changed = bool(before) and before.get("password") != instance.password
    if changed or password_changed:
        record(Action.USER_CHANGE, acting_user(), instance, changed=changed, password_changed=password_changed)


def user_deleted(sender, instance, **kwargs):
    actor = acting_user()
    if actor is not None and actor.pk == instance.pk:
        actor = None  # a row may not point at the user being deleted; the username says who it was
    record(Action.USER_DELETE, actor, instance, username=instance.get_username())


def user_groups_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if reverse:  # group.user_set.add(...): one event per user, as if each user's groups changed
        users = get_user_model().objects.filter(pk__in=pk_set) if pk_set else instance.user_set.all()
        for user in users:
            record(Action.USER_GROUPS, acting_user(), user, **{verb(action): [instance.name]})
        return
    groups = Group.objects.filter(pk__in=pk_set) if pk_set else instance.groups.all()
    names = sorted(group.name for group in groups)
    if names:
        record(Action.USER_GROUPS, acting_user(), instance, **{verb(action): names})


def group_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    if created:
        record(Action.GROUP_CREATE, acting_user(), instance, name=instance.name)
    elif getattr(instance, "_audit_name", instance.name) != instance.name:
        record(Action.GROUP_CHANGE, acting_user(), instance, name=[instance._audit_name, instance.name])


def remember_group_name(sender, instance, raw=False, **kwargs):
    if not raw and instance.pk is not None:
        instance._audit_name = Group.objects.filter(pk=instance.pk).values_list("name", flat=True).first()


def group_deleted(sender, instance, **kwargs):
    record(Action.GROUP_DELETE, acting_user(), instance, name=instance.name)


def group_permissions_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if reverse:  # permission.group_set.add(...)
        groups = Group.objects.filter(pk__in=pk_set) if pk_set else instance.group_set.all()
        codename = f"{instance.content_type.app_label}.{instance.codename}"
        for group in groups:
            record(Action.GROUP_PERMISSIONS, acting_user(), group, **{verb(action): [codename]})
        return
    permissions = model.objects.filter(pk__in=pk_set) if pk_set else instance.permissions.all()
    names = sorted(f"{p.content_type.app_label}.{p.codename}" for p in permissions.select_related("content_type"))
    if names:
        record(Action.GROUP_PERMISSIONS, acting_user(), instance, **{verb(action): names})


def verb(action: str) -> str:
    return {"post_add": "added", "post_remove": "removed", "pre_clear": "removed"}[action]


def logged_in(sender, request, user, **kwargs):
    record(Action.USER_LOGIN, user, user)


def login_failed(sender, credentials, request=None, **kwargs):
    """Every failed login, with the username tried (never the password) and, when that account
    exists, the account as the object. Nobody acted as a known user, so the event has no actor."""
    username = str(credentials.get(get_user_model().USERNAME_FIELD) or "")[:150]
    account = get_user_model().objects.filter(username=username).first() if username else None
    record(Action.USER_LOGIN_FAILED, None, account, username=username)


def connect() -> None:
    User = get_user_model()
    uid = "portal.audit"
    pre_save.connect(remember_user_before, sender=User, dispatch_uid=f"{uid}.user_before")
    post_save.connect(user_saved, sender=User, dispatch_uid=f"{uid}.user_saved")
    post_delete.connect(user_deleted, sender=User, dispatch_uid=f"{uid}.user_deleted")
    m2m_changed.connect(user_groups_changed, sender=User.groups.through, dispatch_uid=f"{uid}.user_groups")
    pre_save.connect(remember_group_name, sender=Group, dispatch_uid=f"{uid}.group_before")
    post_save.connect(group_saved, sender=Group, dispatch_uid=f"{uid}.group_saved")
    post_delete.connect(group_deleted, sender=Group, dispatch_uid=f"{uid}.group_deleted")
    m2m_changed.connect(group_permissions_changed, sender=Group.permissions.through, dispatch_uid=f"{uid}.group_perms")
    user_logged_in.connect(logged_in, dispatch_uid=f"{uid}.login")
    user_login_failed.connect(login_failed, dispatch_uid=f"{uid}.login_failed")
