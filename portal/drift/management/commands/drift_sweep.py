from django.conf import settings
from django.core.management.base import BaseCommand

from portal.drift import scheduling


class Command(BaseCommand):
    help = "Queue a drift check of every applied workspace that is due, and schedule the periodic sweep."

    def handle(self, *args, **options):
        if not settings.DRIFT_INTERVAL:
            self.stdout.write("Drift detection is off (PORTAL_DRIFT_INTERVAL=0).")
            return
        queued = scheduling.sweep()
        self.stdout.write(f"Queued {queued} drift check(s) on {settings.DRIFT_QUEUE}; the next sweep is scheduled.")
