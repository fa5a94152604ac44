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
  capacity_provider_name          = "art-service-ec2"
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
  environment                     = { ZED = "last", ALPHA = "first" }
  execution_role_arn              = "arn:aws:iam::123456789012:role/art-service/workloads/art-service-ecs-task-execution"
}

# Applied, not planned (mocked: nothing is created), so that ids are known and a later plan compares
# with what was applied.

# With autoscaling on, an apply leaves the running count to the scaler; with it off, the declared
# count is enforced. Mocked: the plans compare with what the previous run applied.

run "autoscaled_service_starts_at_the_declared_count" {
  command = apply

  variables {
    enable_autoscaling = true
    desired_count      = 2
  }

  assert {
    condition     = aws_ecs_service.autoscaled[0].desired_count == 2 && length(aws_ecs_service.this) == 0
    error_message = "An autoscaled service starts with the declared count."
  }
}

run "autoscaled_an_apply_does_not_put_the_count_back" {
  command = plan

  variables {
    enable_autoscaling = true
    desired_count      = 5
  }

  assert {
    condition     = aws_ecs_service.autoscaled[0].desired_count == 2
    error_message = "With autoscaling on, a new declared count must not reach the running service: the scaler owns it."
  }
}

run "fixed_service_starts_at_the_declared_count" {
  command = apply

  variables {
    enable_autoscaling = false
    desired_count      = 2
  }

  assert {
    condition     = aws_ecs_service.this[0].desired_count == 2 && length(aws_ecs_service.autoscaled) == 0
    error_message = "Without autoscaling the service runs the declared count."
  }

  assert {
    condition     = length(aws_appautoscaling_target.this) == 0 && output.service_name == "art-service-sourcing-data-service"
    error_message = "No scaler; the outputs name the one service."
  }
}

run "fixed_an_apply_enforces_the_declared_count" {
  command = plan

  variables {
    enable_autoscaling = false
    desired_count      = 5
  }

  assert {
    condition     = aws_ecs_service.this[0].desired_count == 5
    error_message = "With autoscaling off, the declared count is enforced on every apply."
  }
}

run "tasks_admit_only_the_load_balancer_on_the_container_port" {
  # apply: the group's id is only known after apply (mocked, nothing is created).
  command = apply

  variables {
    enable_autoscaling = false
  }

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.tasks_from_alb.from_port == 8082 && aws_vpc_security_group_ingress_rule.tasks_from_alb.to_port == 8082
      && aws_vpc_security_group_ingress_rule.tasks_from_alb.ip_protocol == "tcp"
    )
    error_message = "The tasks admit one TCP port, their container port, never a range."
  }

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.tasks_from_alb.referenced_security_group_id == var.alb_security_group_id
      && aws_vpc_security_group_ingress_rule.tasks_from_alb.cidr_ipv4 == null && aws_vpc_security_group_ingress_rule.tasks_from_alb.cidr_ipv6 == null
    )
    error_message = "The tasks admit the load balancer's group, never an address range."
  }

  assert {
    condition     = length(aws_security_group.tasks.ingress) == 0
    error_message = "The tasks' group has no inline rules: its one ingress rule is tasks_from_alb."
  }

  assert {
    condition     = length(aws_vpc_security_group_egress_rule.alb_to_tasks) == 0
    error_message = "A service adds no rule to the load balancer's group: its one egress rule, to the shared service tasks group, is the network's."
  }

  assert {
    condition     = aws_ecs_service.this[0].network_configuration[0].security_groups == toset([aws_security_group.tasks.id, var.service_tasks_security_group_id])
    error_message = "The tasks run in their own group and the shared service tasks group only (no instance group)."
  }

  assert {
    condition     = output.security_group_id == aws_security_group.tasks.id
    error_message = "The tasks' group is an output."
  }
}
