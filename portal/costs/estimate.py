"""What a plan costs a month, before and after, per resource: read from the plan's JSON (`terraform
show -json`), priced from the region's table (portal/costs/prices/<region>.json) at the traffic the
settings state (PORTAL_COST_ASSUMPTIONS).

Only what the portal's modules create is priced; every other resource type is listed as not priced,
so that a reader sees what the total leaves out rather than a smaller number. Pure: no database, no
settings, no network; the caller passes the table and the assumptions.
"""

import json
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

HOURS_PER_MONTH = Decimal(730)  # AWS's own convention in its pricing calculator
PRICES_DIR = Path(__file__).resolve().parent / "prices"
CENT = Decimal("0.01")

# What the estimate assumes where a price depends on traffic or data the plan cannot know.
DEFAULT_ASSUMPTIONS = {
    "alb_lcus": 1,  # average load balancer capacity units in use per hour
    "nat_gb_per_month": 100,  # data each NAT gateway processes
    "log_gb_per_month": 5,  # ingested into each log group (a service's logs, the VPC flow logs)
    "ecr_gb": 1,  # images kept in each repository
    "s3_gb": 1,  # objects kept in each bucket (state, access logs)
}
ASSUMPTION_LABELS = {
    "alb_lcus": "load balancer capacity units per hour",
    "nat_gb_per_month": "GB a month through each NAT gateway",
    "log_gb_per_month": "GB a month into each log group",
    "ecr_gb": "GB of images in each repository",
    "s3_gb": "GB in each bucket",
}

# Resource types the modules create that AWS charges nothing for by themselves (IAM, networking
# glue, ECS objects on EC2 capacity: the tasks run on the instances, priced with their group).
FREE = frozenset(
    {
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_iam_role_policy_attachment",
        "aws_iam_policy",
        "aws_iam_user",
        "aws_iam_group",
        "aws_iam_group_policy_attachment",
        "aws_iam_user_group_membership",
        "aws_iam_instance_profile",
        "aws_iam_access_key",
        "aws_vpc",
        "aws_subnet",
        "aws_route_table",
        "aws_route_table_association",
        "aws_route",
        "aws_internet_gateway",
        "aws_default_security_group",
        "aws_security_group",
        "aws_vpc_security_group_ingress_rule",
        "aws_vpc_security_group_egress_rule",
        "aws_lb_listener",
        "aws_lb_listener_rule",
        "aws_lb_target_group",
        "aws_ecs_cluster",
        "aws_ecs_cluster_capacity_providers",
        "aws_ecs_capacity_provider",
        "aws_ecs_account_setting_default",
        "aws_ecs_task_definition",
        "aws_ecs_service",
        "aws_launch_template",
        "aws_appautoscaling_target",
        "aws_appautoscaling_policy",
        "aws_ecr_lifecycle_policy",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_flow_log",  # its records are priced as its log group's ingestion
    }
)


class PriceTableError(ValueError):
    """The region has no table, or the table lacks a price the estimate needs."""


@dataclass(frozen=True)
class PriceTable:
    region: str
    currency: str
    as_of: str
    source: str
    prices: dict

    def rate(self, key: str) -> Decimal:
        try:
            return Decimal(str(self.prices[key]))
        except KeyError:
            raise PriceTableError(f"The {self.region} price table has no {key!r}; run manage.py refresh_prices --region {self.region}.") from None

    def instance_hour(self, instance_type: str) -> Decimal | None:
        price = self.prices.get("ec2_instance_hour", {}).get(instance_type)
        return None if price is None else Decimal(str(price))


def load_table(region: str, directory: Path = PRICES_DIR) -> PriceTable:
    path = directory / f"{region}.json"
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in directory.glob("*.json"))) or "none"
        raise PriceTableError(f"No price table for {region} (shipped: {shipped}); run manage.py refresh_prices --region {region}.")
    data = json.loads(path.read_text())
    return PriceTable(data["region"], data["currency"], data["as_of"], data["source"], data["prices"])


@dataclass
class Line:
    """One resource's monthly cost before and after the plan (None: it does not exist on that side)."""

    address: str
    type: str
    action: str
    before: Decimal | None
    after: Decimal | None
    basis: str  # how the after (or the before, for a deletion) was priced

    @property
    def difference(self) -> Decimal:
        return (self.after or Decimal(0)) - (self.before or Decimal(0))


@dataclass
class Estimate:
    region: str
    currency: str
    as_of: str
    lines: list[Line] = field(default_factory=list)
    not_priced: list[str] = field(default_factory=list)  # addresses of resource types the table has no rule for
    assumptions: dict = field(default_factory=dict)

    @property
    def before(self) -> Decimal:
        return sum((line.before or Decimal(0) for line in self.lines), Decimal(0))

    @property
    def after(self) -> Decimal:
        return sum((line.after or Decimal(0) for line in self.lines), Decimal(0))

    @property
    def difference(self) -> Decimal:
        return self.after - self.before

    def as_json(self) -> dict:
        """What is stored on the run: amounts as strings of cents, so nothing is lost to floats."""
        return {
            "region": self.region,
            "currency": self.currency,
            "as_of": self.as_of,
            "before": cents(self.before),
            "after": cents(self.after),
            "difference": cents(self.difference),
            "lines": [{**asdict(line), "before": cents(line.before), "after": cents(line.after)} for line in self.lines],
            "not_priced": self.not_priced,
            "assumptions": self.assumptions,
        }


def cents(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def estimate(plan: dict, table: PriceTable, assumptions: dict | None = None) -> Estimate:
    """Price every managed resource of the plan on both sides of the change."""
    assumed = {**DEFAULT_ASSUMPTIONS, **(assumptions or {})}
    result = Estimate(table.region, table.currency, table.as_of, assumptions=assumed)
    changes = [change for change in plan.get("resource_changes") or [] if change.get("mode", "managed") == "managed"]
    # Each side: the resources that exist on it, by type, then by address.
    sides: dict[str, dict[str, dict]] = {"before": {}, "after": {}}
    for change in changes:
        for side in sides:
            values = (change.get("change") or {}).get(side)
            if values is not None:
                sides[side].setdefault(change["type"], {})[change["address"]] = values
    for change in changes:
        kind = change["type"]
        if kind in FREE:
            continue
        rule = RULES.get(kind)
        actions = (change.get("change") or {}).get("actions") or ["no-op"]
        if rule is None:
            result.not_priced.append(change["address"])
            continue
        priced = {}
        for side in ("before", "after"):
            values = sides[side].get(kind, {}).get(change["address"])
            priced[side] = None if values is None else rule(values, table, assumed, sides[side])
        shown = priced["after"] or priced["before"]
        result.lines.append(
            Line(
                address=change["address"],
                type=kind,
                action="-".join(actions),
                before=None if priced["before"] is None else priced["before"][0],
                after=None if priced["after"] is None else priced["after"][0],
                basis=shown[1] if shown else "",
            )
        )
    return result


# --- the rules: each takes a resource's values on one side, the table, the assumptions and every
# resource on that side (by type, then address), and returns (USD a month, how it was priced).


def money(amount: Decimal) -> str:
    """A rate as AWS writes it: cents at least, up to four decimals ($0.10, $0.0228)."""
    exact = amount.quantize(Decimal("0.0001")).normalize()
    return f"${exact.quantize(CENT) if exact.as_tuple().exponent > -2 else exact:f}"


def autoscaling_group(values, table, assumed, side):
    count = values.get("desired_capacity")
    if count is None:
        count = values.get("min_size") or 0
    template = launch_template_of(values, side)
    if template is None:
        return Decimal(0), f"{count} instance(s) of a launch template this plan does not show: not priced"
    instance_type = template.get("instance_type") or "?"
    hourly = table.instance_hour(instance_type)
    if hourly is None:
        raise PriceTableError(
            f"The {table.region} price table has no {instance_type}; run manage.py refresh_prices --region {table.region} or add it to the table."
        )
    gigabytes = root_volume_gb(template)
    storage = Decimal(gigabytes) * table.rate("ebs_gp3_gb_month")
    amount = Decimal(count) * (hourly * HOURS_PER_MONTH + storage)
    return amount, f"{count} × {instance_type} at {money(hourly)}/h × 730 h + {gigabytes} GB gp3 at {money(table.rate('ebs_gp3_gb_month'))}/GB-month each"


def launch_template_of(group: dict, side: dict) -> dict | None:
    """The group's launch template on the same side of the plan: by id or name when they are known,
    else the one launch template in the plan (a name or id known only after apply)."""
    wanted = (group.get("launch_template") or [{}])[0] or {}
    templates = list(side.get("aws_launch_template", {}).values())
    for template in templates:
        if (wanted.get("id") and template.get("id") == wanted.get("id")) or (wanted.get("name") and template.get("name") == wanted.get("name")):
            return template
    return templates[0] if len(templates) == 1 else None


def root_volume_gb(template: dict) -> int:
    total = 0
    for mapping in template.get("block_device_mappings") or []:
        for ebs in mapping.get("ebs") or []:
            total += int(ebs.get("volume_size") or 0)
    return total


def load_balancer(values, table, assumed, side):
    if values.get("load_balancer_type", "application") != "application":
        return Decimal(0), f"a {values.get('load_balancer_type')} load balancer: not priced"
    lcus = Decimal(str(assumed["alb_lcus"]))
    amount = HOURS_PER_MONTH * (table.rate("alb_hour") + lcus * table.rate("alb_lcu_hour"))
    basis = f"730 h at {money(table.rate('alb_hour'))}/h + {lcus} LCU at {money(table.rate('alb_lcu_hour'))}/LCU-hour"
    if values.get("internal"):
        return amount, basis
    # An internet-facing load balancer has a public IPv4 address in each zone it is enabled in, and
    # AWS charges those as any other public IPv4 address. Its zones are its subnets; a plan that does
    # not know them yet is priced at two, the fewest an application load balancer takes.
    zones = len(values.get("subnets") or values.get("subnet_mapping") or []) or 2
    addresses = HOURS_PER_MONTH * zones * table.rate("public_ipv4_hour")
    return amount + addresses, f"{basis} + {zones} public IPv4 addresses (one per zone), 730 h at {money(table.rate('public_ipv4_hour'))}/h each"


def nat_gateway(values, table, assumed, side):
    gigabytes = Decimal(str(assumed["nat_gb_per_month"]))
    amount = HOURS_PER_MONTH * table.rate("nat_gateway_hour") + gigabytes * table.rate("nat_gateway_gb")
    return amount, f"730 h at {money(table.rate('nat_gateway_hour'))}/h + {gigabytes} GB at {money(table.rate('nat_gateway_gb'))}/GB"


def elastic_ip(values, table, assumed, side):
    # Every public IPv4 address is charged since 2024-02-01, in use or not.
    amount = HOURS_PER_MONTH * table.rate("public_ipv4_hour")
    return amount, f"a public IPv4 address, 730 h at {money(table.rate('public_ipv4_hour'))}/h"


def log_group(values, table, assumed, side):
    gigabytes = Decimal(str(assumed["log_gb_per_month"]))
    days = int(values.get("retention_in_days") or 0)
    # Kept for `days`, a steady state holds days/30 months of logs; kept forever, a year's is priced.
    months_kept = Decimal(min(days, 365) if days else 365) / 30
    stored = gigabytes * months_kept
    amount = gigabytes * table.rate("logs_ingested_gb") + stored * table.rate("logs_stored_gb_month")
    kept = f"kept {days} days" if days else "kept forever (a year's priced)"
    return amount, (
        f"{gigabytes} GB ingested at {money(table.rate('logs_ingested_gb'))}/GB + {stored.quantize(CENT)} GB stored ({kept}) "
        f"at {money(table.rate('logs_stored_gb_month'))}/GB-month"
    )


def repository(values, table, assumed, side):
    gigabytes = Decimal(str(assumed["ecr_gb"]))
    return gigabytes * table.rate("ecr_stored_gb_month"), f"{gigabytes} GB of images at {money(table.rate('ecr_stored_gb_month'))}/GB-month"


def bucket(values, table, assumed, side):
    gigabytes = Decimal(str(assumed["s3_gb"]))
    return gigabytes * table.rate("s3_standard_gb_month"), f"{gigabytes} GB at {money(table.rate('s3_standard_gb_month'))}/GB-month"


RULES = {
    "aws_autoscaling_group": autoscaling_group,
    "aws_lb": load_balancer,
    "aws_alb": load_balancer,
    "aws_nat_gateway": nat_gateway,
    "aws_eip": elastic_ip,
    "aws_cloudwatch_log_group": log_group,
    "aws_ecr_repository": repository,
    "aws_s3_bucket": bucket,
}
