from django.apps import AppConfig


class DriftConfig(AppConfig):
    name = "portal.drift"
    verbose_name = "Drift detection"

    def ready(self) -> None:
        from portal.drift import scheduling

        scheduling.listen()
