from django import template

from portal.approvals import policy

register = template.Library()


@register.simple_tag
def approvals_for(change):
    """The change's approval rule and the approvals given (None before its plans have all finished)."""
    return policy.approvals_of(change)
