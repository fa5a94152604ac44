from django import template

from portal.costs import policy

register = template.Library()


@register.simple_tag
def cost_for(run, user):
    """The run's estimate, its change's hold and override, and whether `user` may override now."""
    cost = policy.cost_of(run)
    runs = list(run.change.runs.all()) if run.change_id else []
    cost["held"] = bool(runs and cost["override"] is None and policy.hold_of(runs) is not None)
    cost["may_override"] = cost["held"] and policy.override_refusal(run.change, user, runs) is None
    return cost
