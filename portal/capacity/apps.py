from django.apps import AppConfig


class CapacityConfig(AppConfig):
    name = "portal.capacity"
    verbose_name = "Cluster capacity"
