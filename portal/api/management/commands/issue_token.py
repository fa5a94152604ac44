from argparse import ArgumentTypeError

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from portal.access.permissions import TokenScope
from portal.api.models import ApiToken
from portal.catalog import rules
from portal.catalog.models import Service
from portal.core.params import ascii_int


def days(text: str) -> int:
    number = ascii_int(text)
    if number is None:
        raise ArgumentTypeError(f"{text!r} is not a whole number of days (digits 0-9).")
    return number


class Command(BaseCommand):
    help = (
        "Print a new API token for a user. Only its digest is stored: copy it now. For the operator: no "
        "password is asked (the page asks its user's). A CI pipeline needs --scope deploy."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--label", default="", help="Who will use the token, e.g. 'CI pipeline'.")
        # No default: an operator says what the token may do (the page asks too).
        parser.add_argument(
            "--scope",
            required=True,
            choices=TokenScope.values,
            help="read: reads only; deploy: reads and new image tags of the user's teams' services; write: whatever the user may.",
        )
        parser.add_argument(
            "--days",
            type=days,
            default=None,
            help=f"Days until it expires: 1 to PORTAL_TOKEN_MAX_DAYS ({settings.TOKEN_MAX_DAYS}); "
            f"default PORTAL_TOKEN_DEFAULT_DAYS ({settings.TOKEN_DEFAULT_DAYS}).",
        )
        parser.add_argument("--service", default=None, help="The one service it acts on (its name); default: every service.")

    def handle(self, username, label, scope, days, service, **options):
        try:
            user = get_user_model().objects.get(username=username, is_active=True)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No active user named {username!r}.") from None
        bound = None
        if service is not None:
            well_formed = rules.is_well_formed_name(service)
            bound = Service.objects.live().filter(name=service).select_related("team").first() if well_formed else None
            if bound is None:
                raise CommandError(f"No live service named {service!r}.")
        try:
            token, key = ApiToken.objects.issue(user, label=label, scope=scope, days=days, service=bound)
        except ValidationError as refused:
            raise CommandError(" ".join(f"--{field}: {' '.join(errors)}" for field, errors in refused.message_dict.items())) from None
        self.stdout.write(key)
        self.stderr.write(f"{scope} token for {username}, expires {token.expires_at:%Y-%m-%d %H:%M} UTC.")
