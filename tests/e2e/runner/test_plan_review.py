"""A plan as a reviewer reads it, from a real terraform plan against the emulator: actions, before
-> after, why a resource is replaced, ECS terms, and nothing sensitive."""

import json

import pytest

from portal.runner import plan_review
from portal.runner.execution import plan_read, read_review
from portal.runner.terraform import Terraform

CONFIG = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

provider "aws" {}

variable "cpu" { type = number }
variable "desired_count" { type = number }
variable "token" {
  type      = string
  sensitive = true
}
variable "suffix" { type = string }

resource "aws_ecs_task_definition" "this" {
  family                   = "review-task"
  requires_compatibilities = ["EC2"]
  cpu                      = var.cpu
  memory                   = 512
  container_definitions = jsonencode([{
    name         = "app"
    image        = "nginx:1"
    cpu          = var.cpu
    memory       = 512
    essential    = true
    portMappings = [{ containerPort = 8080 }]
  }])
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/review/kept"
  retention_in_days = var.desired_count == 1 ? 7 : 14
}

resource "aws_ssm_parameter" "token" {
  name  = "/review/token"
  type  = "SecureString"
  value = var.token
}

resource "aws_cloudwatch_log_group" "gone" {
  count = var.suffix == "first" ? 1 : 0
  name  = "/review/gone"
}
"""


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / "main.tf").write_text(CONFIG)
    terraform = Terraform(tmp_path, lambda text: print(text, end=""))
    terraform.run("init", input=False)
    return tmp_path, terraform


def plan_with(workspace, **variables):
    directory, terraform = workspace
    (directory / "terraform.tfvars.json").write_text(json.dumps(variables))
    plan_file = directory / "review.tfplan"
    terraform.run("plan", input=False, out=str(plan_file))
    return plan_file


@pytest.fixture
def run(make_user, service_form_data, parked_queue):
    from portal.catalog.onboarding import register_service

    _, change = register_service(make_user("author", "developers"), **service_form_data)
    return change.runs_in_order()[0]


def by_address(review):
    return {resource["address"]: resource for resource in review}


def attributes(resource):
    return {attribute["path"]: attribute for attribute in resource["attributes"]}


def test_a_change_of_cpu_and_count_reads_as_a_reviewer_needs(run, workspace):
    first = dict(cpu=256, desired_count=2, token="first-token-value", suffix="first")
    directory, terraform = workspace
    terraform.run("apply", str(plan_with(workspace, **first)), input=False)

    review = read_review(run, terraform, plan_with(workspace, cpu=1024, desired_count=1, token="second-token-value", suffix="second"))
    resources = by_address(review)

    task = resources["aws_ecs_task_definition.this"]
    assert task["action"] == "replace"
    assert task["action_display"] == "replace"
    assert "cannot be changed in place" in task["reason"] and "cpu" in task["reason"]
    changed = attributes(task)
    assert changed["cpu"]["before"] == '"256"' and changed["cpu"]["after"] == '"1024"'
    assert changed["cpu"]["forces_replacement"] is True
    # Inside the JSON document of the container definitions, field by field.
    assert changed["container_definitions[0].cpu"]["before"] == "256"
    assert changed["container_definitions[0].cpu"]["after"] == "1024"
    assert "memory" not in changed  # unchanged attributes are not listed
    assert any("New task definition revision" in note for note in task["notes"])

    logs = resources["aws_cloudwatch_log_group.this"]
    assert logs["action"] == "update" and logs["action_display"] == "update in place"
    assert {path: (a["before"], a["after"]) for path, a in attributes(logs).items()} == {"retention_in_days": ("14", "7")}

    token = resources["aws_ssm_parameter.token"]
    assert token["action"] == "update"
    assert attributes(token)["value"] == {
        "path": "value",
        "before": plan_review.SENSITIVE,
        "after": plan_review.SENSITIVE,
        "forces_replacement": False,
    }

    gone = resources["aws_cloudwatch_log_group.gone[0]"]
    assert gone["action"] == "destroy"
    assert gone["reason"] == "the count no longer reaches its index"

    assert "aws_ecs_cluster.this" not in resources
    stored = json.dumps(review)
    assert "first-token-value" not in stored and "second-token-value" not in stored


def test_a_new_workspace_lists_what_it_creates_with_values_known_after_apply(run, workspace):
    directory, terraform = workspace
    heard = []
    plan_read.connect(lambda sender, **kwargs: heard.append(kwargs), weak=False, dispatch_uid="test-plan-read")
    try:
        review = read_review(run, terraform, plan_with(workspace, cpu=256, desired_count=1, token="a-token-value", suffix="x"))
    finally:
        plan_read.disconnect(dispatch_uid="test-plan-read")
    resources = by_address(review)
    # Apps that check plans hear the whole plan, with the run, before it is offered.
    [told] = heard
    assert told["run"] == run and "resource_changes" in told["plan"]

    assert {resource["action"] for resource in review} == {"create"}
    logs = attributes(resources["aws_cloudwatch_log_group.this"])
    assert logs["name"] == {"path": "name", "before": None, "after": '"/review/kept"', "forces_replacement": False}
    assert logs["arn"]["after"] == plan_review.UNKNOWN
    assert "kms_key_id" not in logs  # null on create: not listed
    assert attributes(resources["aws_ssm_parameter.token"])["value"]["after"] == plan_review.SENSITIVE
    assert resources["aws_ecs_task_definition.this"]["notes"] == []  # a first revision replaces no tasks


def test_an_ecs_service_change_is_said_in_ecs_terms():
    plan = {
        "resource_changes": [
            {
                "address": "module.service.aws_ecs_service.this[0]",
                "type": "aws_ecs_service",
                "change": {
                    "actions": ["update"],
                    "before": {"desired_count": 2, "task_definition": "arn:task:1"},
                    "after": {"desired_count": 1},
                    "after_unknown": {"task_definition": True},
                },
            }
        ]
    }
    [service] = plan_review.review(plan)
    assert attributes(service)["task_definition"] == {
        "path": "task_definition",
        "before": '"arn:task:1"',
        "after": plan_review.UNKNOWN,
        "forces_replacement": False,
    }
    assert "desired count 2 -> 1" in service["notes"]
    assert any(note.startswith("Rolling deployment") for note in service["notes"])


def test_secrets_of_the_portal_are_masked_in_the_review(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "portal-secret-123")
    plan = {
        "resource_changes": [
            {
                "address": "aws_ssm_parameter.leak",
                "type": "aws_ssm_parameter",
                "change": {
                    "actions": ["update"],
                    "before": {"description": "old", "tags": {"k": "v"}},
                    "after": {"description": "key=portal-secret-123", "tags": {"k": "v", "s": "x"}},
                    "after_unknown": {},
                    "before_sensitive": {},
                    "after_sensitive": {"tags": {"s": True}},
                },
            }
        ]
    }
    [resource] = plan_review.review(plan)
    changed = attributes(resource)
    assert changed["description"]["after"] == '"key=********"'
    assert changed["tags.s"]["after"] == plan_review.SENSITIVE
    assert "tags.k" not in changed


def test_moves_and_reads_are_told_apart_from_changes():
    plan = {
        "resource_changes": [
            {
                "address": "module.service.aws_ecs_service.autoscaled[0]",
                "previous_address": "module.service.aws_ecs_service.this[0]",
                "type": "aws_ecs_service",
                "change": {"actions": ["no-op"], "before": {}, "after": {}},
            },
            {"address": "data.aws_ssm_parameter.ami", "type": "aws_ssm_parameter", "change": {"actions": ["read"]}},
            {"address": "aws_ecs_cluster.same", "type": "aws_ecs_cluster", "change": {"actions": ["no-op"]}},
        ]
    }
    [moved] = plan_review.review(plan)
    assert moved["action"] == "move"
    assert moved["moved_from"] == "module.service.aws_ecs_service.this[0]"
    assert moved["action_display"] == "move (nothing changes in AWS)"


def test_nothing_set_before_and_after_is_no_change_but_a_value_removed_is():
    plan = {
        "resource_changes": [
            {
                "address": "aws_ecs_task_definition.this",
                "type": "aws_ecs_task_definition",
                "change": {
                    "actions": ["update"],
                    "before": {"ipc_mode": "", "volumes": [], "name": "kept", "note": "old"},
                    "after": {"ipc_mode": None, "volumes": None, "name": "kept", "note": ""},
                },
            }
        ]
    }
    [resource] = plan_review.review(plan)
    assert {path: (a["before"], a["after"]) for path, a in attributes(resource).items()} == {"note": ('"old"', '""')}
