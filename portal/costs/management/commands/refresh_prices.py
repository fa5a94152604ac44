from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.costs import refresh


class Command(BaseCommand):
    help = (
        "Replace a region's price table (portal/costs/prices/<region>.json) with AWS's current on-demand prices, "
        "read from the AWS Price List bulk files. Needs the network; when anything fails the old table is kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--region", default=settings.AWS_REGION, help=f"An AWS region code; default AWS_REGION ({settings.AWS_REGION}).")
        parser.add_argument("--endpoint", default=refresh.DEFAULT_ENDPOINT, help=f"Where the price list files are served; default {refresh.DEFAULT_ENDPOINT}.")
        parser.add_argument("--output", default=None, help="The table to write; default portal/costs/prices/<region>.json.")

    def handle(self, region, endpoint, output, **options):
        # The region names the file and goes into URLs: it is checked before either is made.
        try:
            path = Path(output) if output else refresh.default_output(region)
            refresh.check_region(region)
        except refresh.RefreshError as refused:
            raise CommandError(f"{refused} Nothing was fetched or written.") from None
        try:
            _, table = refresh.refresh(region, endpoint, path)
        except refresh.RefreshError as failed:
            raise CommandError(f"{failed} The table at {path} is kept as it was; run the command again once that is fixed.") from None
        prices = table["prices"]
        self.stdout.write(
            f"Wrote {path}: {len(prices['ec2_instance_hour'])} instance types and {len(prices) - 1} other prices for {region}, as of {table['as_of']}."
        )
