"""Traffic paths stay as narrow as the design needs, in every module: each rule that admits traffic
(ingress) opens one port, never a range or every protocol, and each rule that sends to another
security group opens one port too, with one exception whose path is pinned here instead.

The exception: the load balancer's one egress rule goes to the platform's shared "service tasks"
group (network module) over every TCP port, because every service's tasks join that group and each
service chooses its own port. One rule per service on the load balancer's group stopped at service 61
(60 outbound rules per security group, AWS's default quota). The range is no wider a path: traffic
passes a security group boundary only where the sender's egress and the receiver's ingress both allow
it, and the shared group admits nothing itself, so what reaches a task is what its own group admits:
its container port, from the load balancer's group only. The tests below pin exactly that, across the
modules: a range to any other group, or any ingress rule into the shared group, fails them.

Read from the modules' HCL (python-hcl2), so that a rule added anywhere, under any name, is held to
it; the modules' `terraform test` check the values the rules get."""

from pathlib import Path

import hcl2
import pytest
from django.conf import settings

RULE_TYPES = {"aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule", "aws_security_group_rule"}
MODULES = sorted(p.name for p in settings.INFRA_MODULES_DIR.iterdir() if (p / "main.tf").exists())

# How each module names the load balancer's group and the shared service tasks group.
ALB_GROUP = {"${aws_security_group.alb.id}", "${var.alb_security_group_id}"}
SERVICE_TASKS_GROUP = {"${aws_security_group.service_tasks.id}", "${var.service_tasks_security_group_id}"}


def rules_of(module_dir: Path):
    """(where, kind, attributes) of every security group rule, standalone or inline."""
    for source in sorted(module_dir.glob("*.tf")):
        with source.open() as handle:
            document = hcl2.load(handle)
        for block in document.get("resource", []):
            for resource_type, instances in block.items():
                resource_type = resource_type.strip('"')
                for name, attributes in instances.items():
                    where = f"{source.name}: {resource_type}.{name.strip(chr(34))}"
                    if resource_type in RULE_TYPES:
                        kind = "ingress" if "ingress" in resource_type or attributes.get("type") == '"ingress"' else "egress"
                        yield where, kind, attributes
                    elif resource_type in {"aws_security_group", "aws_default_security_group"}:
                        group = f"${{{resource_type}.{name.strip(chr(34))}.id}}"
                        for kind in ("ingress", "egress"):
                            for inline in attributes.get(kind, []):
                                yield f"{where} ({kind} block)", kind, {"security_group_id": group, **inline}


def destination_group(rule: dict) -> str | None:
    return next((str(rule[key]) for key in ("referenced_security_group_id", "source_security_group_id", "security_groups") if key in rule), None)


def is_the_load_balancers_rule_to_the_service_tasks(kind: str, rule: dict) -> bool:
    return kind == "egress" and str(rule.get("security_group_id")) in ALB_GROUP and destination_group(rule) in SERVICE_TASKS_GROUP


def narrowness_problems(module_dir: Path) -> list[str]:
    problems = []
    for where, kind, rule in rules_of(module_dir):
        to_a_group = destination_group(rule) is not None
        if kind != "ingress" and not to_a_group:
            continue  # egress to addresses (images, AWS APIs): said and skipped in checkov, not a path in
        protocol = str(rule.get("ip_protocol", rule.get("protocol", ""))).strip('"')
        if protocol in {"-1", "all"}:
            problems.append(f"{where}: every protocol")
        elif rule.get("from_port") != rule.get("to_port") and not (protocol == "tcp" and is_the_load_balancers_rule_to_the_service_tasks(kind, rule)):
            problems.append(f"{where}: ports {rule.get('from_port')} to {rule.get('to_port')}")
    return problems


def rules_into_the_service_tasks_group(module_dirs) -> list[str]:
    """Ingress rules of the shared group: any would widen the load balancer's range into a path."""
    return [
        where
        for module_dir in module_dirs
        for where, kind, rule in rules_of(module_dir)
        if kind == "ingress" and str(rule.get("security_group_id")) in SERVICE_TASKS_GROUP
    ]


@pytest.mark.parametrize("module", MODULES)
def test_every_rule_into_a_group_opens_one_port(module):
    assert narrowness_problems(settings.INFRA_MODULES_DIR / module) == []


def test_the_shared_service_tasks_group_admits_nothing_in_any_module():
    assert rules_into_the_service_tasks_group(settings.INFRA_MODULES_DIR / m for m in MODULES) == []


def test_the_load_balancer_reaches_a_task_on_its_container_port_only():
    """The effective path, pinned: into a service's tasks one port from the load balancer's group;
    out of the load balancer's group only to the shared service tasks group (and, while an existing
    service's tasks move into it, that service's one-port rule to its own group); the tasks join the
    shared group; the instances admit nothing."""
    network = list(rules_of(settings.INFRA_MODULES_DIR / "network"))
    service = list(rules_of(settings.INFRA_MODULES_DIR / "ecs-service"))
    all_rules = [rule for module in MODULES for rule in rules_of(settings.INFRA_MODULES_DIR / module)]

    into_tasks = [
        (rule["from_port"], rule["to_port"], rule["ip_protocol"], rule["referenced_security_group_id"]) for _, kind, rule in service if kind == "ingress"
    ]
    assert into_tasks == [("${var.container_port}", "${var.container_port}", '"tcp"', "${var.alb_security_group_id}")]

    out_of_the_load_balancer = sorted(
        (where, destination_group(rule), rule.get("from_port") == rule.get("to_port"), "count" in rule)
        for where, kind, rule in all_rules
        if kind == "egress" and str(rule.get("security_group_id")) in ALB_GROUP
    )
    assert out_of_the_load_balancer == [
        ("main.tf: aws_vpc_security_group_egress_rule.alb_to_service_tasks", "${aws_security_group.service_tasks.id}", False, False),
        # Kept only while an existing service's tasks move into the shared group (count), one port.
        ("main.tf: aws_vpc_security_group_egress_rule.alb_to_tasks", "${aws_security_group.tasks.id}", True, True),
    ]

    into_instances = [where for where, kind, rule in network if kind == "ingress" and "instances" in str(rule.get("security_group_id"))]
    assert into_instances == []

    with open(settings.INFRA_MODULES_DIR / "ecs-service" / "main.tf") as handle:
        module = hcl2.load(handle)
    services = [r['"aws_ecs_service"'] for r in module["resource"] if '"aws_ecs_service"' in r]
    groups = {name: body["network_configuration"][0]["security_groups"] for each in services for name, body in each.items()}
    assert set(groups) == {'"this"', '"autoscaled"'}
    assert all("var.service_tasks_security_group_id" in joined for joined in groups.values()), groups


def test_the_service_workspace_gives_its_tasks_the_networks_shared_group():
    root = (settings.BASE_DIR / "portal" / "workspaces" / "roots" / "ecs-service.tf").read_text()
    network_root = (settings.BASE_DIR / "portal" / "workspaces" / "roots" / "network.tf").read_text()

    assert "data.terraform_remote_state.network.outputs.service_tasks_security_group_id" in root
    assert "module.this.service_tasks_security_group_id" in network_root


def test_a_range_opening_up_again_is_caught(tmp_path):
    (tmp_path / "main.tf").write_text(
        (settings.INFRA_MODULES_DIR / "ecs-service" / "main.tf").read_text()
        + """
resource "aws_vpc_security_group_ingress_rule" "everything_from_alb" {
  security_group_id            = aws_security_group.tasks.id
  ip_protocol                  = "tcp"
  from_port                    = 0
  to_port                      = 65535
  referenced_security_group_id = var.alb_security_group_id
}

resource "aws_security_group" "inline" {
  ingress {
    protocol        = "-1"
    from_port       = 0
    to_port         = 0
    security_groups = [var.alb_security_group_id]
  }
}

resource "aws_vpc_security_group_egress_rule" "alb_to_every_port_of_the_tasks" {
  security_group_id            = var.alb_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 1
  to_port                      = 65535
  referenced_security_group_id = aws_security_group.tasks.id
}
"""
    )

    problems = narrowness_problems(tmp_path)

    assert problems == [
        "main.tf: aws_vpc_security_group_ingress_rule.everything_from_alb: ports 0 to 65535",
        "main.tf: aws_security_group.inline (ingress block): every protocol",
        "main.tf: aws_vpc_security_group_egress_rule.alb_to_every_port_of_the_tasks: ports 1 to 65535",
    ]


def test_a_rule_into_the_shared_group_is_caught(tmp_path):
    """It would make the load balancer's range a path to every port of every task."""
    (tmp_path / "main.tf").write_text(
        """
resource "aws_vpc_security_group_ingress_rule" "any_service_port" {
  security_group_id            = var.service_tasks_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 8080
  to_port                      = 8080
  referenced_security_group_id = var.alb_security_group_id
}

resource "aws_security_group" "service_tasks" {
  ingress {
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    cidr_blocks = ["10.0.0.0/16"]
  }
}
"""
    )

    assert rules_into_the_service_tasks_group([tmp_path]) == [
        "main.tf: aws_vpc_security_group_ingress_rule.any_service_port",
        "main.tf: aws_security_group.service_tasks (ingress block)",
    ]
