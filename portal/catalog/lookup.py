"""Finding a service from a name in a URL, for the pages and the API alike."""

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import Http404

from portal.access import permissions
from portal.access.models import Team
from portal.access.naming import is_team_name
from portal.catalog import rules
from portal.catalog.models import Lifecycle, Service
from portal.core.params import InvalidParameter

MALFORMED_NAME = f"That is not a service name: a name is {rules.NAME_MIN_LENGTH} to {rules.NAME_MAX_LENGTH} lowercase letters, digits and single hyphens."


def service_named(name: str, queryset=None) -> Service:
    """The service holding `name` now, else the last one that held it. A malformed name is a bad
    request (400), never a query: PostgreSQL refuses NUL bytes outright."""
    if not rules.is_well_formed_name(name):
        raise BadRequest(MALFORMED_NAME)
    service = (queryset if queryset is not None else Service.objects.all()).named(name).first()
    if service is None:
        raise Http404(f"No service is registered as {name}.")
    return service


STATUS_FILTERS = {
    "live": Service.objects.live,
    "all": Service.objects.all,
    **{status.value: (lambda status=status: Service.objects.filter(status=status)) for status in Lifecycle},
}


def services_in(status: str | None, team: str | None = None, user=None):
    """Services for a listing's filters, among those `user` may read: `status` is live (active and
    decommissioning) when absent, `all`, or one lifecycle state; `team` is a team's name, `mine` (the
    user's teams) or absent (every team)."""
    try:
        services = STATUS_FILTERS[status if status is not None else "live"]()
    except (KeyError, TypeError):
        raise InvalidParameter("status", f"filter by one of: {', '.join(STATUS_FILTERS)}.") from None
    return of_team(readable_by(services, user), team, user)


def readable_by(services, user):
    """The services `user` may read (portal.access.permissions.view_service): every one while the
    catalogue is open."""
    if user is None or settings.PORTAL_CATALOGUE_OPEN or permissions.is_admin(user):
        return services
    return services.filter(team_id__in=permissions.team_ids(user))


def of_team(queryset, team: str | None, user, field: str = "team"):
    """`queryset` narrowed to one team's rows (`field` leads to the team), or to the user's teams."""
    if team in (None, ""):
        return queryset
    if team == "mine":
        return queryset.filter(**{f"{field}_id__in": permissions.team_ids(user)})
    if not is_team_name(team) or not Team.objects.filter(name=team).exists():
        raise InvalidParameter("team", "no team has this name; give a team's name or `mine`.")
    return queryset.filter(**{f"{field}__name": team})
