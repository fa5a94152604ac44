from django.core.management.base import BaseCommand

from portal.environments.ending import sweep


class Command(BaseCommand):
    help = "Warn the teams of services whose end is near, and propose the decommission of those whose end has come."

    def handle(self, *args, **options):
        swept = sweep()
        for name in swept.warned:
            self.stdout.write(f"warned: {name}")
        for line in swept.ended:
            self.stdout.write(f"decommission proposed: {line}")
        for line in swept.refused:
            self.stdout.write(f"not proposed: {line}")
