"""The cost estimate checked by hand, on a running local stack (`bin/portal` in another terminal, its
platform provisioned; with `[service]`, that service registered and applied too).

For the platform at its defaults, and for one service: the estimate the portal showed before the
approval (the CostEstimate of each workspace's applied plan, summed), beside the same resources
priced by hand: counted from AWS's own answers (the emulator's, or an account's) rather than from
the plan, and priced from the region's shipped table with the arithmetic written out here, not
portal.costs.estimate's. Prints each line by hand, both totals and the error.

    .venv/bin/python benchmarks/cost_estimate.py [service]
"""

import sys
from decimal import Decimal

# isort: off
import local_stack  # noqa: F401, E402  (first: sets up the stack's environment and Django)

# isort: on
from django.conf import settings  # noqa: E402

from portal.catalog.models import Service  # noqa: E402
from portal.core.aws import client  # noqa: E402
from portal.costs.estimate import load_table  # noqa: E402
from portal.costs.models import CostEstimate  # noqa: E402
from portal.runs.models import APPLIED_STATUSES  # noqa: E402

HOURS = Decimal(730)


def estimated(workspaces) -> tuple[Decimal, list[str]]:
    """The sum of the estimates shown for the first applied plan of each workspace (what it created)."""
    total, lines = Decimal(0), []
    for workspace in workspaces:
        run = workspace.runs.filter(status__in=APPLIED_STATUSES).order_by("created_at").first()
        found = CostEstimate.objects.filter(run=run).first() if run else None
        if found is None or found.after is None:
            lines.append(f"  {workspace.path}: no estimate ({found.error if found else 'never applied'})")
            continue
        total += found.after
        lines.append(f"  {workspace.path}: ${found.after} a month after its first apply (run {run.pk})")
    return total, lines


def by_hand(table, assumed, *, log_groups, repositories, buckets, platform: bool) -> tuple[Decimal, list[str]]:
    rate = {key: Decimal(str(value)) for key, value in table.prices.items() if not isinstance(value, dict)}
    lines, total = [], Decimal(0)

    def add(what: str, amount: Decimal) -> None:
        nonlocal total
        total += amount
        lines.append(f"  {what}: ${amount.quantize(Decimal('0.01'))}")

    if platform:
        ec2 = client("ec2")
        for gateway in ec2.describe_nat_gateways()["NatGateways"]:
            if gateway["State"] in ("available", "pending"):
                add(
                    f"NAT gateway {gateway['NatGatewayId']}: 730 h x {rate['nat_gateway_hour']} + {assumed['nat_gb_per_month']} GB x {rate['nat_gateway_gb']}",
                    HOURS * rate["nat_gateway_hour"] + Decimal(assumed["nat_gb_per_month"]) * rate["nat_gateway_gb"],
                )
        for address in ec2.describe_addresses()["Addresses"]:
            add(f"public IPv4 {address.get('PublicIp')}: 730 h x {rate['public_ipv4_hour']}", HOURS * rate["public_ipv4_hour"])
        for balancer in client("elbv2").describe_load_balancers()["LoadBalancers"]:
            if balancer.get("Type", "application") == "application":
                add(
                    f"load balancer {balancer['LoadBalancerName']}: 730 h x ({rate['alb_hour']} + {assumed['alb_lcus']} LCU x {rate['alb_lcu_hour']})",
                    HOURS * (rate["alb_hour"] + Decimal(assumed["alb_lcus"]) * rate["alb_lcu_hour"]),
                )
                # A public IPv4 address in each of its zones. The emulator leaves Scheme out; AWS's default is internet-facing.
                if balancer.get("Scheme", "internet-facing") == "internet-facing":
                    zones = len(balancer.get("AvailabilityZones") or [])
                    add(f"its {zones} public IPv4 addresses: {zones} x 730 h x {rate['public_ipv4_hour']}", zones * HOURS * rate["public_ipv4_hour"])
        for group in client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]:
            spec = group.get("LaunchTemplate") or (group.get("MixedInstancesPolicy") or {}).get("LaunchTemplate", {}).get("LaunchTemplateSpecification")
            version = ec2.describe_launch_template_versions(LaunchTemplateId=spec["LaunchTemplateId"], Versions=[spec.get("Version") or "$Latest"])
            data = version["LaunchTemplateVersions"][0]["LaunchTemplateData"]
            instance_type = data["InstanceType"]
            gigabytes = sum(int(mapping.get("Ebs", {}).get("VolumeSize") or 0) for mapping in data.get("BlockDeviceMappings", []))
            hourly = Decimal(str(table.prices["ec2_instance_hour"][instance_type]))
            count = group["DesiredCapacity"]
            add(
                f"{count} x {instance_type} ({group['AutoScalingGroupName']}): 730 h x {hourly} + {gigabytes} GB gp3 x {rate['ebs_gp3_gb_month']}",
                count * (HOURS * hourly + gigabytes * rate["ebs_gp3_gb_month"]),
            )
    for group in log_groups:
        days = group.get("retentionInDays") or 0
        kept_months = Decimal(min(days, 365) if days else 365) / 30
        gigabytes = Decimal(assumed["log_gb_per_month"])
        add(
            f"log group {group['logGroupName']} ({days or 'forever'} days): {gigabytes} GB x {rate['logs_ingested_gb']} "
            f"+ {gigabytes} GB x {days or 365}/30 months kept x {rate['logs_stored_gb_month']}",
            gigabytes * rate["logs_ingested_gb"] + gigabytes * kept_months * rate["logs_stored_gb_month"],
        )
    for name in repositories:
        add(f"repository {name}: {assumed['ecr_gb']} GB x {rate['ecr_stored_gb_month']}", Decimal(assumed["ecr_gb"]) * rate["ecr_stored_gb_month"])
    for name in buckets:
        add(f"bucket {name}: {assumed['s3_gb']} GB x {rate['s3_standard_gb_month']}", Decimal(assumed["s3_gb"]) * rate["s3_standard_gb_month"])
    return total, lines


def report(title: str, estimate: tuple[Decimal, list[str]], hand: tuple[Decimal, list[str]]) -> None:
    print(title)
    print("the portal's estimate, per workspace:")
    print("\n".join(estimate[1]))
    print("by hand, per resource:")
    print("\n".join(hand[1]))
    error = estimate[0] - hand[0]
    share = f" ({error / hand[0] * 100:+.2f} %)" if hand[0] else ""
    print(f"estimate ${estimate[0]:.2f} a month, by hand ${hand[0]:.2f}: error ${error:.2f}{share}\n")


def main(service_name: str | None) -> None:
    from portal.costs.estimate import DEFAULT_ASSUMPTIONS
    from portal.workspaces.models import Workspace

    table = load_table(settings.AWS_REGION)
    assumed = {**DEFAULT_ASSUMPTIONS, **settings.COST_ASSUMPTIONS}
    print(f"price table {table.region}, {table.as_of}; assumptions {assumed}\n")
    services = Service.objects.all()
    service_logs = {f"/ecs/{service.resource_name}" for service in services}
    service_repos = {service.resource_name for service in services}
    logs = [group for page in client("logs").get_paginator("describe_log_groups").paginate() for group in page["logGroups"]]
    repositories = [repo["repositoryName"] for repo in client("ecr").describe_repositories()["repositories"]]
    buckets = [bucket["Name"] for bucket in client("s3").list_buckets()["Buckets"]]

    platform = [workspace for workspace in Workspace.objects.order_by("path") if workspace.is_platform]
    report(
        "THE PLATFORM AT ITS DEFAULTS",
        estimated(platform),
        by_hand(
            table,
            assumed,
            log_groups=[group for group in logs if group["logGroupName"] not in service_logs],
            repositories=[name for name in repositories if name not in service_repos],
            buckets=buckets,
            platform=True,
        ),
    )
    if service_name:
        service = Service.objects.get(name=service_name)
        report(
            f"ONE SERVICE ({service.name})",
            estimated(service.workspaces.order_by("path")),
            by_hand(
                table,
                assumed,
                log_groups=[group for group in logs if group["logGroupName"] == f"/ecs/{service.resource_name}"],
                repositories=[name for name in repositories if name == service.resource_name],
                buckets=[],
                platform=False,
            ),
        )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
