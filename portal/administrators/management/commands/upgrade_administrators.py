import sys

from django.core.management.base import BaseCommand, CommandError

from portal.runner.bootstrap import upgrade_administrators
from portal.runner.terraform import TerraformError


class Command(BaseCommand):
    help = (
        "Plan the administrators' workspace with the portal's own credentials (the bootstrap identity) and, "
        "once confirmed, apply it: for what the iam administrator may not change about itself (its role and "
        "policies, the permissions boundaries, the runner policy), e.g. after a release of iam-service-admins."
    )

    def add_arguments(self, parser):
        parser.add_argument("--yes", action="store_true", help="Apply without asking (the plan is still printed).")

    def handle(self, *args, yes=False, **options):
        asked = []

        def confirm(plan_text: str) -> bool:
            asked.append(True)
            self.stdout.write(plan_text)
            if yes:
                return True
            if not sys.stdin.isatty():
                return False
            return input("Apply this plan with the bootstrap identity? Type yes: ").strip() == "yes"

        try:
            run = upgrade_administrators(confirm)
        except TerraformError as exc:
            raise CommandError(f"The upgrade failed: {exc}. Its log is on the Platform page.") from exc
        if run is not None:
            self.stdout.write(f"Applied with the bootstrap identity (run {run.pk}).")
        elif asked:
            raise CommandError("Not applied: confirm the plan above at a terminal, or give --yes.")
        else:
            self.stdout.write("Nothing to change: the administrators are as the portal declares them.")
