from django.apps import AppConfig


class EnvironmentsConfig(AppConfig):
    name = "portal.environments"
    label = "environments"

    def ready(self):
        from portal.environments import ending
        from portal.runner.worker import worker_maintained

        worker_maintained.connect(ending.on_maintenance, dispatch_uid="portal.environments.on_maintenance")
