"""The approval policy's branches on plans terraform made: an ECS service, its task definition and an
ECR repository applied to the emulator with local state (in a VPC of its own), then planned again with a new image, with
more memory beside a new image, and destroyed. Each saved plan's `terraform show -json` is what the
worker's plan_read hands the policy; the decisions are then taken in the workflow, as after a plan."""

import json

import pytest
from python_terraform import IsFlagged

from portal.approvals.models import ApprovalRule
from portal.approvals.policy import read_plan
from portal.approvals.rules import Policy, decide, facts_of
from portal.catalog.onboarding import change_service, register_service
from portal.changes import workflow
from portal.runner.terraform import Terraform
from portal.runs.models import RunStatus
from tests.conftest import plan_approve_apply, record_plan

pytestmark = [pytest.mark.e2e]

CONFIG = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
provider "aws" {}

variable "image" { type = string }
variable "memory" { type = number }

resource "aws_ecr_repository" "this" {
  name                 = "approvals-probe"
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration { scan_on_push = true }
}

resource "aws_vpc" "this" {
  cidr_block = "10.91.0.0/16"
}

resource "aws_subnet" "this" {
  vpc_id     = aws_vpc.this.id
  cidr_block = "10.91.1.0/24"
}

resource "aws_ecs_cluster" "this" {
  name = "approvals-probe"
}

resource "aws_ecs_task_definition" "this" {
  family                   = "approvals-probe"
  requires_compatibilities = ["EC2"]
  network_mode             = "awsvpc"
  cpu                      = "256"
  memory                   = "512"
  container_definitions = jsonencode([{
    name         = "web"
    image        = var.image
    essential    = true
    memory       = var.memory
    portMappings = [{ containerPort = 8080, protocol = "tcp" }]
    environment  = [{ name = "MODE", value = "probe" }]
  }])
}

resource "aws_ecs_service" "this" {
  name            = "approvals-probe"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.this.arn
  desired_count   = 1
  launch_type     = "EC2"
  network_configuration {
    subnets = [aws_subnet.this.id]
  }
  lifecycle {
    ignore_changes = [availability_zone_rebalancing] # as infra_modules/ecs-service does
  }
}
"""
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/approvals-probe:{}"
GUARDED = Policy(image_deploys=0, two_approvals_for=frozenset({"aws_ecr_repository"}))


def variables(folder, tag: str, memory: int = 512) -> str:
    """A variables file in the plans' folder, for var_file= (portal.runner.terraform takes no dict)."""
    path = folder / f"{tag}-{memory}.tfvars.json"
    path.write_text(json.dumps({"image": IMAGE.format(tag), "memory": memory}))
    return str(path)


@pytest.fixture(scope="module")
def plans(tmp_path_factory, emulator):
    """The three plans, each `terraform show -json` of a saved plan over the applied 1.0.0."""
    folder = tmp_path_factory.mktemp("approvals")
    (folder / "main.tf").write_text(CONFIG)
    said = []
    terraform = Terraform(folder, said.append)
    terraform.run("init", input=False)
    try:
        terraform.run("apply", input=False, auto_approve=IsFlagged, var_file=variables(folder, "1.0.0"))
    except Exception:
        pytest.fail("".join(said)[-9000:])

    def saved(name: str, **options) -> dict:
        out = folder / f"{name}.tfplan"
        terraform.run("plan", input=False, out=str(out), **options)
        return json.loads(terraform.capture("show", str(out), json=IsFlagged))

    made = {
        "image": saved("image", var_file=variables(folder, "1.1.0")),
        "image and memory": saved("memory", var_file=variables(folder, "1.1.0", memory=1024)),
        "destroy": saved("destroy", var_file=variables(folder, "1.0.0"), destroy=IsFlagged),
    }
    yield made
    terraform.run("destroy", input=False, auto_approve=IsFlagged, var_file=variables(folder, "1.0.0"))


def test_a_new_image_alone_is_an_image_only_deploy_and_needs_no_approval(plans):
    facts = facts_of(plans["image"])
    assert facts.image_only, json.dumps(plans["image"]["resource_changes"], indent=1)[:3000]
    assert {(address, action) for address, _, action in facts.removed} == {("aws_ecs_task_definition.this", "replace")}
    assert decide(GUARDED, [facts], image_deploy_allowed=None).approvals == 0


def test_more_memory_beside_the_new_image_needs_an_approval(plans):
    facts = facts_of(plans["image and memory"])
    assert not facts.image_only
    assert decide(GUARDED, [facts], image_deploy_allowed=None).rule == "one_approval"


def test_destroying_the_repository_needs_two(plans):
    facts = facts_of(plans["destroy"])
    assert ("aws_ecr_repository.this", "aws_ecr_repository", "destroy") in facts.removed
    decision = decide(GUARDED, [facts], image_deploy_allowed=None)
    assert (decision.approvals, decision.rule) == (2, "two_approvals") and "aws_ecr_repository.this (destroy)" in decision.reason


@pytest.mark.django_db
def test_in_the_workflow_the_real_image_plan_is_approved_by_the_portal_and_the_other_is_not(plans, people, service_form_data, settings, parked_queue):
    settings.APPROVAL_POLICY = GUARDED
    service, registration = register_service(people["author"], **service_form_data)
    plan_approve_apply(registration, people["approver"])
    service.refresh_from_db()

    for name, expected in [("image and memory", RunStatus.AWAITING_APPROVAL), ("image", RunStatus.APPROVED)]:
        change = change_service(service, people["author"], image_tag=f"1.1.{len(name)}")
        for run in change.runs_in_order():
            if run.workspace.module == "ecs-service":
                read_plan(sender=None, run=run, plan=plans[name], log=lambda text: None)
                record_plan(run)
                deploy = run
            else:
                record_plan(run, to_add=0)
        deploy.refresh_from_db()
        assert deploy.status == expected, (name, ApprovalRule.objects.get(change=change).reason)
        if expected == RunStatus.AWAITING_APPROVAL:
            workflow.discard(change, people["author"])  # out of the next one's way
