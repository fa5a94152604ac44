"""The monthly estimate read from a plan's JSON: each priced resource type by hand from the shipped
table, before and after an update, a creation and a deletion, what is left out said, and a table
that lacks a price refused rather than priced at zero."""

import json
from decimal import Decimal

import pytest

from portal.capacity import instance_types
from portal.costs import estimate
from portal.costs.estimate import HOURS_PER_MONTH, PriceTableError, load_table

TABLE = load_table("eu-west-1")
P = {key: Decimal(str(value)) for key, value in TABLE.prices.items() if not isinstance(value, dict)}


def change(address: str, kind: str, actions: list[str], before: dict | None, after: dict | None) -> dict:
    """One entry of `terraform show -json`'s resource_changes, as terraform writes it."""
    return {
        "address": address,
        "mode": "managed",
        "type": kind,
        "name": address.rsplit(".", 1)[-1],
        "change": {"actions": actions, "before": before, "after": after, "after_unknown": {}},
    }


def template(instance_type: str, gigabytes: int = 30) -> dict:
    return {
        "name": "art-cluster",
        "instance_type": instance_type,
        "block_device_mappings": [{"device_name": "/dev/xvda", "ebs": [{"volume_size": gigabytes, "volume_type": "gp3"}]}],
    }


def group(desired: int | None, minimum: int = 1) -> dict:
    return {"desired_capacity": desired, "min_size": minimum, "max_size": 6, "launch_template": [{"id": None, "name": "art-cluster", "version": "$Latest"}]}


def test_a_new_cluster_is_priced_instance_hours_and_root_volumes_and_the_load_balancer():
    plan = {
        "resource_changes": [
            change("module.this.aws_launch_template.this", "aws_launch_template", ["create"], None, template("t3.small", 30)),
            change("module.this.aws_autoscaling_group.this", "aws_autoscaling_group", ["create"], None, group(2)),
            change("module.this.aws_lb.this", "aws_lb", ["create"], None, {"load_balancer_type": "application", "internal": False, "subnets": ["a", "b", "c"]}),
            change("module.this.aws_ecs_cluster.this", "aws_ecs_cluster", ["create"], None, {"name": "art"}),
        ]
    }
    found = estimate.estimate(plan, TABLE, {"alb_lcus": 2})
    by_address = {line.address: line for line in found.lines}
    instances = 2 * (Decimal("0.0228") * 730 + 30 * P["ebs_gp3_gb_month"])
    balancer = 730 * (P["alb_hour"] + 2 * P["alb_lcu_hour"]) + 3 * 730 * P["public_ipv4_hour"]  # internet-facing in 3 zones
    assert by_address["module.this.aws_autoscaling_group.this"].after == instances
    assert by_address["module.this.aws_autoscaling_group.this"].before is None
    assert by_address["module.this.aws_lb.this"].after == balancer
    assert "2 × t3.small at $0.0228/h" in by_address["module.this.aws_autoscaling_group.this"].basis
    # The launch template and the cluster cost nothing by themselves: no line, nothing unpriced.
    assert set(by_address) == {"module.this.aws_autoscaling_group.this", "module.this.aws_lb.this"}
    assert found.not_priced == []
    assert (found.before, found.after, found.difference) == (0, instances + balancer, instances + balancer)
    assert found.as_json()["after"] == str((instances + balancer).quantize(Decimal("0.01")))


@pytest.mark.parametrize(
    "values, addresses",
    [
        ({"internal": True, "subnets": ["a", "b"]}, 0),  # private addresses only
        ({"internal": False, "subnets": ["a", "b"]}, 2),
        ({"internal": False, "subnet_mapping": [{"subnet_id": "a"}, {"subnet_id": "b"}, {"subnet_id": "c"}]}, 3),
        ({"internal": False, "subnets": None}, 2),  # zones not known at plan time: the two an ALB needs at least
        ({}, 2),  # internal unset: AWS's default scheme is internet-facing
    ],
)
def test_an_internet_facing_load_balancer_pays_a_public_ipv4_address_per_zone(values, addresses):
    plan = {"resource_changes": [change("aws_lb.this", "aws_lb", ["create"], None, {"load_balancer_type": "application", **values})]}
    [line] = estimate.estimate(plan, TABLE).lines
    assert line.after == 730 * (P["alb_hour"] + P["alb_lcu_hour"]) + addresses * 730 * P["public_ipv4_hour"]
    assert (f"{addresses} public IPv4 addresses" in line.basis) == bool(addresses)


def test_a_new_instance_type_is_the_difference_of_the_two_types_hours_on_each_side():
    plan = {
        "resource_changes": [
            change("aws_launch_template.this", "aws_launch_template", ["update"], template("t3.small"), template("c6i.xlarge")),
            change("aws_autoscaling_group.this", "aws_autoscaling_group", ["update"], group(3), group(3)),
        ]
    }
    found = estimate.estimate(plan, TABLE)
    (line,) = found.lines
    storage = 3 * 30 * P["ebs_gp3_gb_month"]
    assert line.before == 3 * Decimal("0.0228") * HOURS_PER_MONTH + storage
    assert line.after == 3 * Decimal("0.192") * HOURS_PER_MONTH + storage
    assert found.difference == 3 * (Decimal("0.192") - Decimal("0.0228")) * 730
    assert line.action == "update"


def test_a_group_without_a_desired_capacity_is_priced_at_its_minimum():
    plan = {"resource_changes": [change("a.aws_launch_template.t", "aws_launch_template", ["no-op"], template("m5.large", 0), template("m5.large", 0))]}
    plan["resource_changes"].append(change("a.aws_autoscaling_group.g", "aws_autoscaling_group", ["update"], group(None, 1), group(None, 4)))
    (line,) = estimate.estimate(plan, TABLE).lines
    assert (line.before, line.after) == (Decimal("0.107") * 730, 4 * Decimal("0.107") * 730)


def test_the_network_pays_its_nat_gateway_hours_and_data_its_address_and_its_flow_logs():
    plan = {
        "resource_changes": [
            change("module.this.aws_vpc.this", "aws_vpc", ["create"], None, {"cidr_block": "10.0.0.0/16"}),
            change("module.this.aws_eip.nat[0]", "aws_eip", ["create"], None, {"domain": "vpc"}),
            change("module.this.aws_nat_gateway.this[0]", "aws_nat_gateway", ["create"], None, {"connectivity_type": "public"}),
            change("module.this.aws_flow_log.this", "aws_flow_log", ["create"], None, {"traffic_type": "ALL"}),
            change("module.this.aws_cloudwatch_log_group.flow", "aws_cloudwatch_log_group", ["create"], None, {"retention_in_days": 90}),
        ]
    }
    found = estimate.estimate(plan, TABLE, {"nat_gb_per_month": 200, "log_gb_per_month": 10})
    by_address = {line.address: line.after for line in found.lines}
    assert by_address["module.this.aws_nat_gateway.this[0]"] == 730 * P["nat_gateway_hour"] + 200 * P["nat_gateway_gb"]
    assert by_address["module.this.aws_eip.nat[0]"] == 730 * P["public_ipv4_hour"] == Decimal("3.65")
    # 10 GB a month kept 90 days: three months' worth stored.
    assert by_address["module.this.aws_cloudwatch_log_group.flow"] == 10 * P["logs_ingested_gb"] + 30 * P["logs_stored_gb_month"]
    assert "module.this.aws_flow_log.this" not in by_address  # priced as its log group's ingestion


def test_a_log_group_kept_forever_is_priced_at_a_years_logs():
    plan = {"resource_changes": [change("aws_cloudwatch_log_group.app", "aws_cloudwatch_log_group", ["create"], None, {"retention_in_days": 0})]}
    (line,) = estimate.estimate(plan, TABLE, {"log_gb_per_month": 3}).lines
    assert line.after == 3 * P["logs_ingested_gb"] + 3 * Decimal(365) / 30 * P["logs_stored_gb_month"]
    assert "kept forever" in line.basis


def test_a_decommission_saves_what_the_service_cost():
    plan = {
        "resource_changes": [
            change("module.this.aws_ecr_repository.this", "aws_ecr_repository", ["delete"], {"name": "art"}, None),
            change("module.this.aws_cloudwatch_log_group.this", "aws_cloudwatch_log_group", ["delete"], {"retention_in_days": 30}, None),
            change("module.this.aws_ecs_service.this", "aws_ecs_service", ["delete"], {"desired_count": 2}, None),
        ]
    }
    found = estimate.estimate(plan, TABLE)
    assert found.after == 0
    assert found.difference == -(1 * P["ecr_stored_gb_month"] + 5 * P["logs_ingested_gb"] + 5 * P["logs_stored_gb_month"])
    assert all(line.after is None and line.action == "delete" for line in found.lines)


def test_a_replacement_is_priced_once_on_each_side():
    plan = {
        "resource_changes": [
            change("aws_lb.this", "aws_lb", ["delete", "create"], {"load_balancer_type": "application"}, {"load_balancer_type": "application"})
        ]
    }
    (line,) = estimate.estimate(plan, TABLE).lines
    assert line.before == line.after and line.difference == 0 and line.action == "delete-create"


def test_resource_types_without_a_rule_are_named_not_priced_and_data_sources_are_not_resources():
    plan = {
        "resource_changes": [
            change("aws_db_instance.orders", "aws_db_instance", ["create"], None, {"instance_class": "db.t3.micro"}),
            {**change("data.aws_ami.ecs", "aws_ami", ["read"], None, {}), "mode": "data"},
        ]
    }
    found = estimate.estimate(plan, TABLE)
    assert found.not_priced == ["aws_db_instance.orders"] and found.lines == []


def test_an_instance_type_missing_from_the_table_is_refused_not_priced_at_zero():
    plan = {
        "resource_changes": [
            change("aws_launch_template.this", "aws_launch_template", ["create"], None, template("x9.mega")),
            change("aws_autoscaling_group.this", "aws_autoscaling_group", ["create"], None, group(1)),
        ]
    }
    with pytest.raises(PriceTableError, match="x9.mega.*refresh_prices"):
        estimate.estimate(plan, TABLE)


def test_a_region_without_a_table_is_refused_naming_the_shipped_ones():
    with pytest.raises(PriceTableError, match=r"No price table for ap-south-2 \(shipped: eu-west-1, us-east-1\)"):
        load_table("ap-south-2")


@pytest.mark.parametrize("region", ["eu-west-1", "us-east-1"])
def test_every_shipped_table_prices_every_instance_type_the_cluster_may_run_and_every_rate(region, tmp_path):
    table = load_table(region)
    assert not [name for name in instance_types.load() if table.instance_hour(name) is None]
    for key in ("ebs_gp3_gb_month", "alb_hour", "alb_lcu_hour", "nat_gateway_hour", "nat_gateway_gb", "public_ipv4_hour"):
        assert table.rate(key) > 0
    for key in ("logs_ingested_gb", "logs_stored_gb_month", "ecr_stored_gb_month", "s3_standard_gb_month"):
        assert table.rate(key) > 0
    assert table.as_of and "Price List" in table.source
    broken = json.loads((estimate.PRICES_DIR / f"{region}.json").read_text())
    del broken["prices"]["alb_hour"]
    (tmp_path / f"{region}.json").write_text(json.dumps(broken))
    with pytest.raises(PriceTableError, match="no 'alb_hour'"):
        load_table(region, tmp_path).rate("alb_hour")
