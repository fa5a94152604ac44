from django.apps import AppConfig


class LiveRepositoryConfig(AppConfig):
    name = "portal.liverepo"
    label = "liverepo"
    verbose_name = "Live repository"

    def ready(self):
        from portal.liverepo import commits  # noqa: F401  (connects its receiver)
