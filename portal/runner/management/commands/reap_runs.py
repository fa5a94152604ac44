from django.core.management.base import BaseCommand

from portal.runner.recovery import recover


class Command(BaseCommand):
    help = (
        "One recovery pass, as every worker runs between jobs: settle runs whose worker is gone, release "
        "the state locks they left once their terraform is known dead, and queue again runs whose job was lost."
    )

    def handle(self, *args, **options):
        recovery = recover()
        for run in recovery.settled:
            self.stdout.write(f"settled {run.pk} ({run.workspace.path}): {run.status}")
        for release in recovery.released:
            self.stdout.write(f"released lock {release.lock_id} of {release.workspace.path}")
        for run in recovery.requeued:
            self.stdout.write(f"queued again {run.pk} ({run.workspace.path})")
        self.stdout.write(str(recovery))
