from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal.api.models import ApiToken


class Command(BaseCommand):
    help = "Print a new API token for a user. Only its digest is stored: copy it now."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--label", default="", help="Who will use the token, e.g. 'CI pipeline'.")

    def handle(self, username, label, **options):
        try:
            user = get_user_model().objects.get(username=username, is_active=True)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No active user named {username!r}.")
        _, key = ApiToken.objects.issue(user, label=label)
        self.stdout.write(key)
