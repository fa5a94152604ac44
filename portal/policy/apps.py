from django.apps import AppConfig


class PolicyConfig(AppConfig):
    name = "portal.policy"
    label = "policy"

    def ready(self):
        from portal.changes import workflow
        from portal.policy import checks
        from portal.runner.execution import plan_read
        from portal.runner.worker import worker_maintained, worker_started, worker_stopping

        plan_read.connect(checks.check_plan, dispatch_uid="portal.policy.check_plan")
        worker_started.connect(checks.worker_started, dispatch_uid="portal.policy.worker_started")
        worker_stopping.connect(checks.worker_stopping, dispatch_uid="portal.policy.worker_stopping")
        worker_maintained.connect(checks.worker_maintained, dispatch_uid="portal.policy.worker_maintained")
        if checks.approval_refusal not in workflow.approval_checks:
            workflow.approval_checks.append(checks.approval_refusal)
