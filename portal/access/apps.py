from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccessConfig(AppConfig):
    name = "portal.access"
    label = "access"
    verbose_name = "Access: groups and their permissions"

    def ready(self):
        from portal.access.groups import ensure_groups

        post_migrate.connect(ensure_groups, sender=self)
