"""Traffic paths stay as narrow as the design needs, in every module: each rule that admits traffic
(ingress) or sends it to another security group opens one port, never a range or every protocol.

Read from the modules' HCL (python-hcl2), so that a rule added anywhere, under any name, is held to
it; the modules' `terraform test` check the values the rules get (ecs-service: the container port,
from the load balancer's group only; network: the instances admit nothing)."""

from pathlib import Path

import hcl2
import pytest
from django.conf import settings

RULE_TYPES = {"aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule", "aws_security_group_rule"}


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
                        for kind in ("ingress", "egress"):
                            for inline in attributes.get(kind, []):
                                yield f"{where} ({kind} block)", kind, inline


def narrowness_problems(module_dir: Path) -> list[str]:
    problems = []
    for where, kind, rule in rules_of(module_dir):
        to_a_group = any(key in rule for key in ("referenced_security_group_id", "source_security_group_id", "security_groups"))
        if kind != "ingress" and not to_a_group:
            continue  # egress to addresses (images, AWS APIs): said and skipped in checkov, not a path in
        protocol = str(rule.get("ip_protocol", rule.get("protocol", ""))).strip('"')
        if protocol in {"-1", "all"}:
            problems.append(f"{where}: every protocol")
        elif rule.get("from_port") != rule.get("to_port"):
            problems.append(f"{where}: ports {rule.get('from_port')} to {rule.get('to_port')}")
    return problems


MODULES = sorted(p.name for p in settings.INFRA_MODULES_DIR.iterdir() if (p / "main.tf").exists())


@pytest.mark.parametrize("module", MODULES)
def test_every_rule_into_a_group_opens_one_port(module):
    assert narrowness_problems(settings.INFRA_MODULES_DIR / module) == []


def test_a_range_opening_up_again_is_caught(tmp_path):
    (tmp_path / "main.tf").write_text(
        (settings.INFRA_MODULES_DIR / "ecs-service" / "main.tf").read_text()
        + '''
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
'''
    )

    problems = narrowness_problems(tmp_path)

    assert problems == [
        "main.tf: aws_vpc_security_group_ingress_rule.everything_from_alb: ports 0 to 65535",
        "main.tf: aws_security_group.inline (ingress block): every protocol",
    ]


def test_the_instances_admit_nothing_and_tasks_only_their_port():
    network = list(rules_of(settings.INFRA_MODULES_DIR / "network"))
    service = list(rules_of(settings.INFRA_MODULES_DIR / "ecs-service"))

    into_instances = [where for where, kind, rule in network if kind == "ingress" and "instances" in str(rule.get("security_group_id"))]
    into_tasks = [(rule["from_port"], rule["referenced_security_group_id"]) for _, kind, rule in service if kind == "ingress"]
    assert into_instances == []
    assert into_tasks == [("${var.container_port}", "${var.alb_security_group_id}")]
