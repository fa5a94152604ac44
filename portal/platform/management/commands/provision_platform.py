from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal.core.params import ascii_int
from portal.platform.provisioning import ATTEMPTS, ProvisioningFailed, provision_platform


def attempts_count(value: str) -> int:
    number = ascii_int(value)
    if number is None or not 1 <= number <= 10:
        raise ValueError(value)  # argparse: "invalid attempts_count value"
    return number


class Command(BaseCommand):
    help = (
        "Bootstrap the state bucket, then plan and apply the platform workspaces in order, approved "
        "by the given user; a failed step is planned and applied again, up to --attempts times. For "
        "setting up a local stack; people use the platform page."
    )

    def add_arguments(self, parser):
        parser.add_argument("--approver", default="admin", help="Username that approves the plans.")
        parser.add_argument("--attempts", type=attempts_count, default=ATTEMPTS, help=f"Tries per step, 1 to 10 (default {ATTEMPTS}).")

    def handle(self, *args, approver, attempts, **options):
        user = get_user_model().objects.get(username=approver)
        try:
            changes = provision_platform(requester=None, approver=user, attempts=attempts, say=self.say)
        except ProvisioningFailed as exc:
            raise CommandError(self.failure(exc)) from exc
        for change in changes:
            for run in change.runs.all():
                self.stdout.write(f"  {run.workspace.path}: {run.get_status_display()}")

    def say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def failure(self, exc: ProvisioningFailed) -> str:
        """What failed, where its log is, and what to do: the terminal is where the operator looks."""
        portal = f"http://{settings.WEB_ADDRESS}"
        lines = [f"Platform provisioning failed: {exc}"]
        if exc.run is not None:
            lines.append(f"  Its log: {portal}/runs/{exc.run.pk}/")
        lines += [
            "What to do:",
            f"  - open the Platform page, {portal}/platform/: it shows the failed run, and Plan again plans what",
            "    is left (an admin other than the one who plans approves it; add one in /admin/),",
            "  - or stop bin/portal (Ctrl-C) and start it again: it provisions again, approved by the local admin;",
            "  - if the error says something exists already or conflicts, a call whose answer was lost made it",
            "    outside the state (see portal/runner/leftovers.py): on AWS, import it into the workspace's state",
            "    or delete it, then plan again.",
        ]
        return "\n".join(lines)
