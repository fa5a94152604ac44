"""Finding a service from a name in a URL, for the pages and the API alike."""

from django.core.exceptions import BadRequest
from django.http import Http404

from portal.catalog import rules
from portal.params import InvalidParameter
from portal.catalog.models import Lifecycle, Service

MALFORMED_NAME = (
    f"That is not a service name: a name is {rules.NAME_MIN_LENGTH} to {rules.NAME_MAX_LENGTH} lowercase "
    "letters, digits and single hyphens."
)


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


def services_in(status: str | None):
    """Services for a listing's `status` filter: live ones (active and decommissioning) when absent,
    `all`, or one lifecycle state."""
    try:
        return STATUS_FILTERS[status if status is not None else "live"]()
    except (KeyError, TypeError):
        raise InvalidParameter("status", f"filter by one of: {', '.join(STATUS_FILTERS)}.") from None
