from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "portal.catalog"
    label = "catalog"

    def ready(self):
        from portal.catalog import lifecycle  # noqa: F401  (connects its receiver)
