"""The portal's groups and what each may do. Kept in code so every environment agrees.

The settings read the role names (single sign-on's group map names them), before any model can be
imported: the models are imported where they are used."""

GROUP_PERMISSIONS = {
    "developers": [
        "catalog.view_service",
        "catalog.add_service",
        "catalog.change_service",
        "workspaces.view_workspace",
        "runs.view_run",
    ],
    "approvers": [
        "catalog.view_service",
        "workspaces.view_workspace",
        "runs.view_run",
        "runs.approve_run",
    ],
    "admins": [
        "catalog.view_service",
        "catalog.add_service",
        "catalog.change_service",
        "catalog.delete_service",
        "workspaces.view_workspace",
        "workspaces.manage_platform",
        "workspaces.force_unlock",
        "workspaces.manage_administrators",
        "runs.view_run",
        "runs.approve_run",
        "runs.cancel_any_run",
        "audit.view_auditevent",
    ],
}

# The roles, in the order the pages list them.
ROLES = tuple(GROUP_PERMISSIONS)


def ensure_groups(**kwargs) -> None:
    """post_migrate hook: create the groups and grant exactly the permissions listed above."""
    from django.contrib.auth.models import Group, Permission

    for group_name, codenames in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        permissions = [Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in (name.split(".") for name in codenames)]
        group.permissions.set(permissions)
