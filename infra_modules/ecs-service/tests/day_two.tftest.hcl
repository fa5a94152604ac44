# What a day-2 change of each declared field does to the resources whose names are fixed. Mocked,
# the provider reports no replacement (the real one forces a new target group for a new port or VPC,
# and a new task definition revision for every container change): these runs check the names the
# replacements get, and what the services' security group rules become. The applies themselves are
# checked on the emulator by the portal's end-to-end test, which changes each field of a service.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      name = "/ecs/art-service-sourcing-data-service"
    }
  }

  mock_resource "aws_lb_target_group" {
    defaults = {
      arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/x/1"
    }
  }
}

variables {
  name                            = "art-service-sourcing-data-service"
  cluster_arn                     = "arn:aws:ecs:eu-west-1:123456789012:cluster/art-service"
  image                           = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/art-service-sourcing-data-service:1.0.0"
  container_port                  = 8082
  cpu                             = 256
  memory                          = 512
  vpc_id                          = "vpc-0123456789abcdef0"
  subnet_ids                      = ["subnet-a", "subnet-b"]
  alb_security_group_id           = "sg-0a1b2c3d4e5f60718"
  service_tasks_security_group_id = "sg-0c0ffee0c0ffee000"
  listener_arn                    = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/art-service-alb/1/2"
  listener_rule_priority          = 7
  execution_role_arn              = "arn:aws:iam::123456789012:role/art-service/workloads/art-service-ecs-task-execution"
  enable_autoscaling              = false
}

run "applied_on_port_8082" {
  command = apply

  assert {
    condition     = length(aws_lb_target_group.this.name) <= 32 && startswith(aws_lb_target_group.this.name, "art-service-sourcing-da-")
    error_message = "The target group is named by the service's cut name and a hash, within AWS's 32 characters."
  }
}

run "a_new_port_gives_the_replacement_target_group_a_new_name" {
  # AWS cannot change a target group's port: the provider replaces the group, and refuses to create one
  # under a name that exists (the old group is still used by the listener rule and the service).
  command = plan

  variables {
    container_port = 8083
  }

  assert {
    condition     = local.target_group_name != run.applied_on_port_8082.target_group_name
    error_message = "A new port must name a new target group, so that the replacement is created beside the old one."
  }

  assert {
    condition     = aws_lb_target_group.this.name == run.applied_on_port_8082.target_group_name && length(local.target_group_name) <= 32
    error_message = "The name is only taken by the replacement: an update alone keeps the group's name (ignore_changes)."
  }

  assert {
    condition     = one(aws_ecs_service.this[0].load_balancer).container_port == 8083 && aws_vpc_security_group_ingress_rule.tasks_from_alb.from_port == 8083 && aws_vpc_security_group_ingress_rule.tasks_from_alb.to_port == 8083
    error_message = "The service registers the new port and its tasks admit the load balancer on it only."
  }
}

run "a_new_vpc_gives_the_replacement_target_group_a_new_name" {
  command = plan

  variables {
    vpc_id = "vpc-0fedcba9876543210"
  }

  assert {
    condition     = local.target_group_name != run.applied_on_port_8082.target_group_name
    error_message = "A new VPC replaces the target group: it must get a new name too."
  }
}

run "every_other_field_keeps_the_target_group_and_its_name" {
  command = plan

  variables {
    cpu               = 1024
    memory            = 2048
    desired_count     = 3
    health_check_path = "/ready"
    image             = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/art-service-sourcing-data-service:1.1.0"
    secrets           = { DB_PASSWORD = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:art-service/db-AbCdEf" }
  }

  assert {
    condition     = local.target_group_name == run.applied_on_port_8082.target_group_name
    error_message = "Size, count, health check path, image and secrets must not rename the target group."
  }

  assert {
    condition     = aws_lb_target_group.this.health_check[0].path == "/ready"
    error_message = "The health check path changes in place (ModifyTargetGroup)."
  }

  assert {
    condition     = aws_ecs_service.this[0].desired_count == 3
    error_message = "The count changes in place on the service."
  }
}

run "an_existing_service_keeps_its_egress_rule_while_its_tasks_move" {
  # The first apply of a service made before the shared service tasks group: its running tasks are not
  # in that group, and stay reachable through their old rule until the new tasks have replaced them.
  command = apply

  variables {
    keep_load_balancer_egress_rule = true
  }

  assert {
    condition = (
      length(aws_vpc_security_group_egress_rule.alb_to_tasks) == 1
      && aws_vpc_security_group_egress_rule.alb_to_tasks[0].security_group_id == var.alb_security_group_id
      && aws_vpc_security_group_egress_rule.alb_to_tasks[0].referenced_security_group_id == aws_security_group.tasks.id
      && aws_vpc_security_group_egress_rule.alb_to_tasks[0].from_port == 8082 && aws_vpc_security_group_egress_rule.alb_to_tasks[0].to_port == 8082
    )
    error_message = "While the tasks move, the load balancer keeps its one-port rule to this service's own group."
  }

  assert {
    condition     = aws_ecs_service.this[0].network_configuration[0].security_groups == toset([aws_security_group.tasks.id, var.service_tasks_security_group_id])
    error_message = "The same apply moves the tasks into the shared service tasks group."
  }
}

run "its_next_apply_removes_the_rule" {
  command = plan

  assert {
    condition     = length(aws_vpc_security_group_egress_rule.alb_to_tasks) == 0
    error_message = "Once the tasks are in the shared group, the service's rule leaves the load balancer's group."
  }
}

run "rejects_a_missing_service_tasks_group" {
  # What a service plans against a network applied before the shared group existed.
  command = plan
  variables {
    service_tasks_security_group_id = null
  }
  expect_failures = [var.service_tasks_security_group_id]
}

run "rejects_more_groups_than_an_interface_holds_beside_its_two" {
  command = plan
  variables {
    security_group_ids = ["sg-1", "sg-2", "sg-3", "sg-4"]
  }
  expect_failures = [var.security_group_ids]
}
