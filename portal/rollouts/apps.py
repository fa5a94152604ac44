from django.apps import AppConfig


class RolloutsConfig(AppConfig):
    name = "portal.rollouts"
    label = "rollouts"

    def ready(self):
        from portal.changes import inbox, workflow
        from portal.rollouts import rollout
        from portal.runner.execution import plan_read

        plan_read.connect(rollout.read_plan, dispatch_uid="portal.rollouts.read_plan")
        workflow.change_settled.connect(rollout.wave_settled, dispatch_uid="portal.rollouts.wave_settled")
        if rollout.wave_refusal not in workflow.approval_checks:
            workflow.approval_checks.append(rollout.wave_refusal)
        if rollout.waiting_their_turn not in inbox.waiting_filters:
            inbox.waiting_filters.append(rollout.waiting_their_turn)
