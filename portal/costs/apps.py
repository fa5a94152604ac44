from django.apps import AppConfig


class CostsConfig(AppConfig):
    name = "portal.costs"
    label = "costs"

    def ready(self):
        from portal.changes import workflow
        from portal.costs import policy
        from portal.runner.execution import plan_read

        plan_read.connect(policy.price_plan, dispatch_uid="portal.costs.price_plan")
        if policy.approval_refusal not in workflow.approval_checks:
            workflow.approval_checks.append(policy.approval_refusal)
