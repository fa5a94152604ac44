from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "portal.approvals"
    label = "approvals"

    def ready(self):
        from portal.approvals import policy
        from portal.changes import workflow
        from portal.runner.execution import plan_read

        plan_read.connect(policy.read_plan, dispatch_uid="portal.approvals.read_plan")
        if policy.approval_refusal not in workflow.approval_checks:
            workflow.approval_checks.append(policy.approval_refusal)
        workflow.approval_tally = policy.tally
        if policy.when_planned not in workflow.planned_hooks:
            workflow.planned_hooks.append(policy.when_planned)
