from django.apps import AppConfig


class AdministratorsConfig(AppConfig):
    name = "portal.administrators"
    label = "administrators"

    def ready(self):
        from portal.administrators import protected
        from portal.changes import workflow

        if protected.approval_refusal not in workflow.approval_checks:
            workflow.approval_checks.append(protected.approval_refusal)
