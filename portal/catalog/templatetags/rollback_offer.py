from django import template

from portal.catalog.rollback import offer_for

register = template.Library()


@register.simple_tag
def rollback_offer(change):
    """The last healthy revision to go back to after an unhealthy deploy of `change`, or None."""
    return offer_for(change)
