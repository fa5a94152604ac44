from django.core.management.base import BaseCommand, CommandError

from portal.runner.bootstrap import bootstrap_state_bucket
from portal.runner.terraform import TerraformError


class Command(BaseCommand):
    help = "Create the shared Terraform state bucket (local backend first, then migrated into it)."

    def handle(self, *args, **options):
        try:
            run = bootstrap_state_bucket()
        except TerraformError as exc:
            raise CommandError(f"Bootstrap failed: {exc}. The run's log is in the portal.") from exc
        if run is None:
            self.stdout.write("State bucket already holds its own state; nothing to do.")
        else:
            self.stdout.write(f"State bucket created; its state is at {run.state_key}.")
