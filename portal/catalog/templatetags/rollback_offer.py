from django import template

from portal.access import permissions
from portal.catalog.rollback import offer_for

register = template.Library()


@register.simple_tag(takes_context=True)
def rollback_offer(context, change):
    """The last healthy revision to go back to after an unhealthy deploy of `change`, or None; its
    `refusal` says why the user may not propose it (going back is a change of the service)."""
    offer = offer_for(change)
    if offer is not None:
        offer.refusal = permissions.change_service(context["request"].user, offer.service)
    return offer
