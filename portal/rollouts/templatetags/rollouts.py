from django import template

from portal.rollouts.models import Rollout, Wave

register = template.Library()

RECENT = 5


@register.simple_tag
def recent_rollouts():
    """The latest rollouts, for the Platform page."""
    return list(Rollout.objects.all()[:RECENT])


@register.simple_tag
def wave_of(change):
    """The rollout wave `change` is, or None."""
    return Wave.objects.filter(change=change).select_related("rollout").first()
