mock_provider "aws" {
  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    override_during = plan
    defaults = {
      name = "/ecs/art-service-sourcing-data-service"
    }
  }

  mock_resource "aws_lb_target_group" {
    override_during = plan
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

run "container_definition_from_typed_inputs" {
  command = plan

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].portMappings[0].containerPort == 8082
    error_message = "The container exposes its port."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].image == var.image
    error_message = "The container runs the given image."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment[0].name == "ALPHA"
    error_message = "Environment variables are sorted, so the definition does not churn."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].logConfiguration.options["awslogs-group"] == "/ecs/art-service-sourcing-data-service"
    error_message = "Logs go to the service's log group."
  }

  assert {
    condition     = aws_ecs_task_definition.this.network_mode == "awsvpc" && aws_ecs_task_definition.this.cpu == "256" && aws_ecs_task_definition.this.memory == "512"
    error_message = "awsvpc tasks with the task-level size."
  }
}

run "roles_are_given_not_made" {
  command = plan

  assert {
    condition     = aws_ecs_task_definition.this.execution_role_arn == "arn:aws:iam::123456789012:role/art-service/workloads/art-service-ecs-task-execution"
    error_message = "ECS pulls the image and writes logs with the given execution role."
  }

  assert {
    condition     = aws_ecs_task_definition.this.task_role_arn == null && output.task_role_arn == null
    error_message = "Without a task role the service's code gets no AWS permissions."
  }

  assert {
    condition     = output.execution_role_arn == "arn:aws:iam::123456789012:role/art-service/workloads/art-service-ecs-task-execution"
    error_message = "The execution role is passed through."
  }
}

run "task_role_when_given" {
  command = plan

  variables {
    task_role_arn = "arn:aws:iam::123456789012:role/art-service/workloads/art-service-sourcing-data-service"
  }

  assert {
    condition     = aws_ecs_task_definition.this.task_role_arn == "arn:aws:iam::123456789012:role/art-service/workloads/art-service-sourcing-data-service" && output.task_role_arn == var.task_role_arn
    error_message = "The service's code runs with the given task role."
  }
}

run "safe_deployments" {
  command = plan

  assert {
    condition     = aws_ecs_service.autoscaled[0].deployment_circuit_breaker[0].enable && aws_ecs_service.autoscaled[0].deployment_circuit_breaker[0].rollback
    error_message = "A failing deployment must roll back."
  }

  assert {
    condition     = aws_ecs_service.autoscaled[0].deployment_minimum_healthy_percent == 100 && aws_ecs_service.autoscaled[0].deployment_maximum_percent == 200
    error_message = "Deployments keep full capacity."
  }

  assert {
    condition     = aws_ecs_service.autoscaled[0].network_configuration[0].assign_public_ip == false
    error_message = "Tasks get no public address."
  }

  assert {
    condition     = one(aws_ecs_service.autoscaled[0].capacity_provider_strategy).capacity_provider == "art-service-ec2"
    error_message = "Tasks are placed with the capacity provider."
  }

  assert {
    condition     = one(aws_ecs_service.autoscaled[0].load_balancer).container_port == 8082
    error_message = "The service registers its container port with the target group."
  }
}

run "target_group_is_quick_and_short_named" {
  command = plan

  assert {
    condition     = aws_lb_target_group.this.health_check[0].interval == 10 && aws_lb_target_group.this.health_check[0].healthy_threshold == 2
    error_message = "A new task is healthy within about 30 s."
  }

  assert {
    condition     = aws_lb_target_group.this.deregistration_delay == "30"
    error_message = "Deregistration takes 30 s, not the default 300."
  }

  assert {
    condition     = length(aws_lb_target_group.this.name) <= 32 && aws_lb_target_group.this.target_type == "ip"
    error_message = "Target group names fit 32 characters; awsvpc tasks register by IP."
  }
}

run "default_route_is_the_service_path" {
  command = plan

  assert {
    condition     = tolist(one(aws_lb_listener_rule.this.condition).path_pattern[0].values) == tolist(["/art-service-sourcing-data-service", "/art-service-sourcing-data-service/*"])
    error_message = "The service is routed under /<name>."
  }

  assert {
    condition     = aws_lb_listener_rule.this.priority == 7
    error_message = "The rule has the given priority."
  }
}

run "host_routing" {
  command = plan

  variables {
    path_patterns = ["/*"]
    host_headers  = ["sourcing.example.com"]
  }

  assert {
    condition     = length(aws_lb_listener_rule.this.condition) == 2
    error_message = "Host and path conditions are both present."
  }
}

run "autoscaling_on_by_default" {
  command = plan

  assert {
    condition     = length(aws_appautoscaling_policy.cpu) == 1 && aws_appautoscaling_policy.cpu[0].target_tracking_scaling_policy_configuration[0].target_value == 60
    error_message = "The service scales on CPU by default."
  }

  assert {
    condition     = aws_appautoscaling_target.this[0].resource_id == "service/art-service/art-service-sourcing-data-service"
    error_message = "Autoscaling targets the service in its cluster."
  }
}

run "autoscaling_can_be_switched_off" {
  command = plan

  variables {
    enable_autoscaling = false
  }

  assert {
    condition     = length(aws_appautoscaling_target.this) == 0 && length(aws_appautoscaling_policy.cpu) == 0
    error_message = "No autoscaling resources when switched off."
  }
}

run "rejects_bad_name" {
  command = plan
  variables {
    name = "9-lives"
  }
  expect_failures = [var.name]
}

run "rejects_bad_cluster_arn" {
  command = plan
  variables {
    cluster_arn = "art-service"
  }
  expect_failures = [var.cluster_arn]
}

run "rejects_image_with_spaces" {
  command = plan
  variables {
    image = "nginx latest"
  }
  expect_failures = [var.image]
}

run "rejects_port_zero" {
  command = plan
  variables {
    container_port = 0
  }
  expect_failures = [var.container_port]
}

run "rejects_tiny_cpu" {
  command = plan
  variables {
    cpu = 10
  }
  expect_failures = [var.cpu]
}

run "rejects_tiny_memory" {
  command = plan
  variables {
    memory = 64
  }
  expect_failures = [var.memory]
}

run "rejects_negative_desired_count" {
  command = plan
  variables {
    desired_count = -1
  }
  expect_failures = [var.desired_count]
}

run "rejects_relative_health_check_path" {
  command = plan
  variables {
    health_check_path = "health"
  }
  expect_failures = [var.health_check_path]
}

run "rejects_bad_vpc_id" {
  command = plan
  variables {
    vpc_id = "main"
  }
  expect_failures = [var.vpc_id]
}

run "rejects_no_subnets" {
  command = plan
  variables {
    subnet_ids = []
  }
  expect_failures = [var.subnet_ids]
}

run "rejects_a_security_group_name" {
  command = plan
  variables {
    security_group_ids = ["instances"]
  }
  expect_failures = [var.security_group_ids]
}

run "rejects_more_groups_than_a_task_holds" {
  command = plan
  variables {
    security_group_ids = ["sg-1", "sg-2", "sg-3", "sg-4"]
  }
  expect_failures = [var.security_group_ids]
}

run "rejects_a_load_balancer_group_that_is_no_id" {
  command = plan
  variables {
    alb_security_group_id = "0.0.0.0/0"
  }
  expect_failures = [var.alb_security_group_id]
}

run "secrets_are_references_the_container_reads_at_start" {
  command = plan

  variables {
    secrets = {
      DB_PASSWORD = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:art-service/db-AbCdEf"
      API_TOKEN   = "arn:aws:ssm:eu-west-1:123456789012:parameter/art-service/api-token"
    }
  }

  assert {
    condition = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].secrets == [
      { name = "API_TOKEN", valueFrom = "arn:aws:ssm:eu-west-1:123456789012:parameter/art-service/api-token" },
      { name = "DB_PASSWORD", valueFrom = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:art-service/db-AbCdEf" },
    ]
    error_message = "Each secret is a sorted name => ARN reference in the container definition."
  }

  assert {
    condition = jsonencode(output.secret_arns) == jsonencode([
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:art-service/db-AbCdEf",
      "arn:aws:ssm:eu-west-1:123456789012:parameter/art-service/api-token",
    ])
    error_message = "The ARNs the execution role must be granted are an output."
  }
}

run "no_secrets_no_references" {
  command = plan

  assert {
    condition     = length(jsondecode(aws_ecs_task_definition.this.container_definitions)[0].secrets) == 0 && length(output.secret_arns) == 0
    error_message = "Without secrets the container reads none."
  }
}

run "rejects_a_secret_value_in_place_of_an_arn" {
  command = plan
  variables {
    secrets = { DB_PASSWORD = "hunter2" }
  }
  expect_failures = [var.secrets]
}

run "rejects_an_arn_of_another_service" {
  command = plan
  variables {
    secrets = { DB_PASSWORD = "arn:aws:s3:::art-service-config/db-password" }
  }
  expect_failures = [var.secrets]
}

run "rejects_a_secret_name_that_is_no_variable_name" {
  command = plan
  variables {
    secrets = { "DB-PASSWORD" = "arn:aws:ssm:eu-west-1:123456789012:parameter/db" }
  }
  expect_failures = [var.secrets]
}

run "rejects_a_name_both_in_environment_and_secrets" {
  command = plan
  variables {
    environment = { DB_PASSWORD = "in clear" }
    secrets     = { DB_PASSWORD = "arn:aws:ssm:eu-west-1:123456789012:parameter/db" }
  }
  expect_failures = [aws_ecs_task_definition.this]
}

run "rejects_bad_listener_arn" {
  command = plan
  variables {
    listener_arn = "listener"
  }
  expect_failures = [var.listener_arn]
}

run "rejects_priority_out_of_range" {
  command = plan
  variables {
    listener_rule_priority = 50001
  }
  expect_failures = [var.listener_rule_priority]
}

run "rejects_too_many_paths" {
  command = plan
  variables {
    path_patterns = ["/a", "/b", "/c", "/d", "/e", "/f"]
  }
  expect_failures = [var.path_patterns]
}

run "rejects_too_many_hosts" {
  command = plan
  variables {
    host_headers = ["a", "b", "c", "d", "e", "f"]
  }
  expect_failures = [var.host_headers]
}

run "rejects_unsupported_retention" {
  command = plan
  variables {
    log_retention_days = 10
  }
  expect_failures = [var.log_retention_days]
}

run "rejects_non_kms_log_key" {
  command = plan
  variables {
    log_kms_key_arn = "alias/logs"
  }
  expect_failures = [var.log_kms_key_arn]
}

run "requires_an_execution_role" {
  command = plan
  variables {
    execution_role_arn = null
  }
  expect_failures = [var.execution_role_arn]
}

run "rejects_non_role_execution_arn" {
  command = plan
  variables {
    execution_role_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
  }
  expect_failures = [var.execution_role_arn]
}

run "rejects_task_role_name" {
  command = plan
  variables {
    task_role_arn = "art-service-sourcing-data-service"
  }
  expect_failures = [var.task_role_arn]
}

run "rejects_execution_role_as_task_role" {
  command = plan
  variables {
    task_role_arn = "arn:aws:iam::123456789012:role/art-service/workloads/art-service-ecs-task-execution"
  }
  expect_failures = [aws_ecs_task_definition.this]
}

run "rejects_negative_min_capacity" {
  command = plan
  variables {
    autoscaling_min_capacity = -1
  }
  expect_failures = [var.autoscaling_min_capacity]
}

run "rejects_zero_max_capacity" {
  command = plan
  variables {
    autoscaling_max_capacity = 0
    autoscaling_min_capacity = 0
  }
  expect_failures = [var.autoscaling_max_capacity]
}

run "rejects_min_above_max_capacity" {
  command = plan
  variables {
    autoscaling_min_capacity = 5
    autoscaling_max_capacity = 2
  }
  expect_failures = [aws_ecs_service.autoscaled]
}

run "rejects_cpu_target_above_100" {
  command = plan
  variables {
    autoscaling_cpu_target = 120
  }
  expect_failures = [var.autoscaling_cpu_target]
}

run "rejects_negative_grace_period" {
  command = plan
  variables {
    health_check_grace_period_seconds = -5
  }
  expect_failures = [var.health_check_grace_period_seconds]
}
