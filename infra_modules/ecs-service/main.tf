locals {
  path_patterns = var.path_patterns != null ? var.path_patterns : ["/${var.name}", "/${var.name}/*"]
  # Target group names: at most 32 characters, letters, digits and hyphens, unique in the account and
  # region. A cut name plus a hash stays unique and readable. The hash covers what AWS cannot change in
  # a target group (its port and VPC; protocol and target type are fixed here), so a group that must
  # be replaced gets a new name and is created beside the old one (create_before_destroy below)
  # instead of colliding with it: the provider refuses a name that exists, and the old group is still
  # in use by the listener rule and the service until both have moved.
  target_group_name = "${trimsuffix(replace(substr(var.name, 0, 23), "_", "-"), "-")}-${substr(sha1(jsonencode([var.name, var.container_port, var.vpc_id])), 0, 8)}"

  container = {
    name      = var.name
    image     = var.image
    essential = true
    # Opt-in: many images write to their own filesystem (caches, pid files).
    readonlyRootFilesystem = var.readonly_root_filesystem
    cpu                    = var.cpu
    memory                 = var.memory
    portMappings = [{
      containerPort = var.container_port
      protocol      = "tcp"
    }]
    environment = [for key in sort(keys(var.environment)) : { name = key, value = var.environment[key] }]
    # References only: ECS reads each value with the execution role when a task starts, so no value
    # is ever in the task definition, the plan or the state.
    secrets = [for key in sort(keys(var.secrets)) : { name = key, valueFrom = var.secrets[key] }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = "ecs"
      }
    }
  }
}

data "aws_region" "current" {}

# The tasks' own security group: the load balancer on the container port, nothing else. The
# instances admit nothing (network module). The tasks also join the platform's shared "service tasks"
# group, the one place the load balancer's group may send to (one egress rule, made by the network
# module): what reaches a task is what its own group admits, this one port from the load balancer.
resource "aws_security_group" "tasks" {
  #checkov:skip=CKV2_AWS_5:Attached to the service's tasks through the ECS service's network configuration below.
  name_prefix = "${substr(var.name, 0, 64)}-tasks-"
  description = "Tasks of one ECS service: the load balancer on the container port only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-tasks" })

  lifecycle {
    # A new VPC replaces the group; the service moves to the new one before the old one goes.
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "tasks_from_alb" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "From the load balancer on the container port"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = var.alb_security_group_id
  tags                         = var.tags
}

resource "aws_vpc_security_group_egress_rule" "tasks_out" {
  #checkov:skip=CKV_AWS_382:The service's own code calls its dependencies and AWS APIs, whose addresses are not fixed.
  security_group_id = aws_security_group.tasks.id
  description       = "The service's own dependencies and AWS APIs"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
  tags              = var.tags
}

# The design before the shared "service tasks" group: each service opened the load balancer's egress
# to its own tasks, one rule per service on the load balancer's group, which holds 60 (AWS's default
# quota). Kept only while an existing service's tasks move into the shared group (its first apply
# with this version): until the new tasks run, the old ones are reachable through this rule alone.
resource "aws_vpc_security_group_egress_rule" "alb_to_tasks" {
  count = var.keep_load_balancer_egress_rule ? 1 : 0

  security_group_id            = var.alb_security_group_id
  description                  = "Load balancer to the tasks of one service on its container port"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = aws_security_group.tasks.id
  tags                         = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:KMS is optional (log_kms_key_arn); CloudWatch encrypts log data at rest either way.
  #checkov:skip=CKV_AWS_338:Retention is the caller's choice (log_retention_days); a year by force would cost every small service.
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_ecs_task_definition" "this" {
  #checkov:skip=CKV_AWS_336:Read-only root filesystems are opt-in (readonly_root_filesystem); many images write to theirs.
  family                   = var.name
  network_mode             = "awsvpc"
  requires_compatibilities = ["EC2"]
  cpu                      = tostring(var.cpu)
  memory                   = tostring(var.memory)
  # Both roles come from the iam administrator's workspace (the execution role from the
  # workload-roles module): whoever applies this module may pass roles under /art-service/workloads/
  # but create none. Without a task role the code gets no AWS credentials at all: awsvpc tasks cannot
  # reach the instance role either (ECS_AWSVPC_BLOCK_IMDS in the ecs-cluster module).
  execution_role_arn    = var.execution_role_arn
  task_role_arn         = var.task_role_arn
  container_definitions = jsonencode([local.container])
  tags                  = var.tags

  lifecycle {
    # A task definition cannot change: every change of the container (image, port, size, secrets) is
    # a new revision of the same family. Registered before the service moves to it, the old revision
    # deregistered only after, so the service never names a revision that is being deregistered.
    create_before_destroy = true

    # A precondition, not a validation: a validation referring to another variable needs Terraform
    # 1.9, and this module supports 1.7.
    precondition {
      condition     = length(setintersection(keys(var.secrets), keys(var.environment))) == 0
      error_message = "A name is both in environment and in secrets: each container variable comes from one of them."
    }

    precondition {
      condition     = var.task_role_arn != var.execution_role_arn
      error_message = "The task_role_arn must not be the execution role: the service's code would get the permissions ECS pulls images and writes logs with, for every service."
    }
  }
}

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; tasks in private subnets, reachable only from it, speak HTTP.
  name                 = local.target_group_name
  target_type          = "ip"
  protocol             = "HTTP"
  port                 = var.container_port
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  # Healthy after 2 checks 10 s apart: a new task takes traffic within about 30 s of starting.
  health_check {
    path                = var.health_check_path
    matcher             = "200-399"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags

  lifecycle {
    # A new port (or VPC) replaces the group: the new one, under its new name, is created first; the
    # listener rule and the service move to it in place; then the old one, used by nothing, goes.
    create_before_destroy = true
    # Groups named before the name carried the port keep their name until something replaces them:
    # renaming alone would replace every service's group at once. A replacement takes the new name.
    ignore_changes = [name]
  }
}

resource "aws_lb_listener_rule" "this" {
  listener_arn = var.listener_arn
  priority     = var.listener_rule_priority

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  condition {
    path_pattern {
      values = local.path_patterns
    }
  }

  dynamic "condition" {
    for_each = length(var.host_headers) > 0 ? [1] : []
    content {
      host_header {
        values = var.host_headers
      }
    }
  }

  tags = var.tags
}

# Two resources, one of which exists: ignore_changes cannot be conditional. Without autoscaling the
# declared desired_count is enforced on every apply; with it, the count is the scaler's. Switching
# moves the service between the two addresses (see the README: the portal writes the moved block).
locals {
  service = one(concat(aws_ecs_service.this, aws_ecs_service.autoscaled))
}

resource "aws_ecs_service" "this" {
  count = var.enable_autoscaling ? 0 : 1

  name                               = var.name
  cluster                            = var.cluster_arn
  task_definition                    = aws_ecs_task_definition.this.arn
  desired_count                      = var.desired_count
  launch_type                        = var.capacity_provider_name == null ? "EC2" : null
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = var.health_check_grace_period_seconds
  propagate_tags                     = "SERVICE"

  dynamic "capacity_provider_strategy" {
    for_each = var.capacity_provider_name == null ? [] : [var.capacity_provider_name]
    content {
      capacity_provider = capacity_provider_strategy.value
      weight            = 1
    }
  }

  deployment_controller {
    type = "ECS"
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = concat([aws_security_group.tasks.id, var.service_tasks_security_group_id], var.security_group_ids)
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = var.name
    container_port   = var.container_port
  }

  tags = merge(var.tags, { Name = var.name })

  lifecycle {
    # Not managed here (AWS's default applies). The emulator never returns it, so without this
    # every plan would show a change.
    ignore_changes = [availability_zone_rebalancing]
  }

  # A service's target group must be attached to a listener before the service uses it, and its
  # tasks must be reachable from the load balancer before they are checked.
  depends_on = [aws_lb_listener_rule.this, aws_vpc_security_group_ingress_rule.tasks_from_alb]
}

resource "aws_ecs_service" "autoscaled" {
  count = var.enable_autoscaling ? 1 : 0

  name                               = var.name
  cluster                            = var.cluster_arn
  task_definition                    = aws_ecs_task_definition.this.arn
  desired_count                      = var.desired_count
  launch_type                        = var.capacity_provider_name == null ? "EC2" : null
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = var.health_check_grace_period_seconds
  propagate_tags                     = "SERVICE"

  dynamic "capacity_provider_strategy" {
    for_each = var.capacity_provider_name == null ? [] : [var.capacity_provider_name]
    content {
      capacity_provider = capacity_provider_strategy.value
      weight            = 1
    }
  }

  deployment_controller {
    type = "ECS"
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = concat([aws_security_group.tasks.id, var.service_tasks_security_group_id], var.security_group_ids)
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = var.name
    container_port   = var.container_port
  }

  tags = merge(var.tags, { Name = var.name })

  lifecycle {
    # The scaler owns the count: an apply (an image deploy) must not put a busy service back to the
    # declared count. desired_count is only the count the service starts with.
    ignore_changes = [availability_zone_rebalancing, desired_count]

    precondition {
      condition     = var.autoscaling_min_capacity <= var.autoscaling_max_capacity
      error_message = "The autoscaling_min_capacity must not exceed autoscaling_max_capacity."
    }
  }

  # A service's target group must be attached to a listener before the service uses it, and its
  # tasks must be reachable from the load balancer before they are checked.
  depends_on = [aws_lb_listener_rule.this, aws_vpc_security_group_ingress_rule.tasks_from_alb]
}

resource "aws_appautoscaling_target" "this" {
  count = var.enable_autoscaling ? 1 : 0

  service_namespace  = "ecs"
  resource_id        = "service/${element(split("/", var.cluster_arn), 1)}/${local.service.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.autoscaling_min_capacity
  max_capacity       = var.autoscaling_max_capacity
}

resource "aws_appautoscaling_policy" "cpu" {
  count = var.enable_autoscaling ? 1 : 0

  name               = "${var.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  resource_id        = aws_appautoscaling_target.this[0].resource_id
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = var.autoscaling_cpu_target

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
