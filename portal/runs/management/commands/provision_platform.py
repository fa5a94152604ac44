from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal.runs.platform import ProvisioningFailed, provision_platform


class Command(BaseCommand):
    help = (
        "Bootstrap the state bucket, then plan and apply the platform workspaces in order, approved "
        "by the given user. For setting up a local stack; people use the platform page."
    )

    def add_arguments(self, parser):
        parser.add_argument("--approver", default="admin", help="Username that approves the plans.")

    def handle(self, *args, approver, **options):
        user = get_user_model().objects.get(username=approver)
        try:
            changes = provision_platform(requester=None, approver=user)
        except ProvisioningFailed as exc:
            raise CommandError(f"Platform provisioning failed: {exc}. Its log is on the run's page.") from exc
        for change in changes:
            for run in change.runs.all():
                self.stdout.write(f"  {run.workspace.path}: {run.get_status_display()}")
