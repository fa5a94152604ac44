import secrets

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand

from portal.access.teams import join

LOCAL_TEAM = "art"


class Command(BaseCommand):
    help = "Create the local admin (once) and print its credentials. For local use only."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        password_file = settings.STATE_DIR / "local-admin-password"
        user = User.objects.filter(username=username).first()
        if user is None or not password_file.exists():
            password = secrets.token_urlsafe(12)
            user = user or User(username=username, is_staff=True, is_superuser=True)
            user.set_password(password)
            user.save()
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.touch(mode=0o600)
            password_file.write_text(password)
        user.groups.add(Group.objects.get(name="admins"))
        # A service belongs to a team: the local stack starts with one, so the first registration works.
        team = join(user, LOCAL_TEAM)
        self.stdout.write(f"Local admin: {username} / {password_file.read_text()} (in the team {team})")
