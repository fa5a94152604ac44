from django import template

from portal.policy import checks

register = template.Library()


@register.simple_tag
def policy_for(run, user):
    """The run's findings, its change's override, and whether `user` may override now."""
    policy = checks.policy_of(run)
    policy["may_override"] = bool(policy["blocking"] and policy["override"] is None and run.change_id and checks.override_refusal(run.change, user) is None)
    return policy
