data "aws_ssm_parameter" "ecs_ami" {
  count = var.ami_id == null ? 1 : 0

  # The image_id parameter, not the JSON one: the JSON form is also unreadable on the local emulator.
  name = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
}

# Those of the given subnets that lie in vpc_id, to check that all of them do. Filtering on the subnet
# IDs also makes the read wait until the subnets exist when the caller creates them in the same run.
data "aws_subnets" "vpc" {
  filter {
    name   = "vpc-id"
    values = [var.vpc_id]
  }

  filter {
    name   = "subnet-id"
    values = concat(var.private_subnet_ids, var.public_subnet_ids)
  }
}

locals {
  ami_id = var.ami_id != null ? var.ami_id : nonsensitive(data.aws_ssm_parameter.ecs_ami[0].value)
  https  = var.certificate_arn != null

  # How far an instance refresh may grow the group above its desired capacity. Above 100 the group
  # launches replacements before it terminates old instances, so drained tasks have somewhere to go.
  # AWS allows 100 to 200 and at most 100 above the minimum; deriving it from the minimum keeps both
  # true without a cross-variable check (which would need Terraform 1.9).
  instance_refresh_max_healthy_percentage = min(200, var.instance_refresh_min_healthy_percentage + 100)

  # Graviton (arm64) families: a digit, then "g" (m6g, c7gn, t4g, im4gn), and a1. The default AMI is the
  # x86_64 ECS-optimized one, on which such an instance never boots.
  arm64_instance = can(regex("^([a-z]+[0-9]+g[a-z-]*|a1)\\.", var.instance_type))

  user_data = <<-EOT
    #!/bin/bash
    cat >> /etc/ecs/ecs.config <<'EOF'
    ECS_CLUSTER=${aws_ecs_cluster.this.name}
    ECS_AWSVPC_BLOCK_IMDS=true
    ECS_RESERVED_MEMORY=${var.reserved_memory_mib}
    EOF
  EOT
}

# ENI trunking for every principal of the account without a setting of its own, the instance role
# among them: only the root user may set it for another principal, and an instance setting it for its
# own role would need ecs:PutAccountSetting in that role. The instances must launch after it.
resource "aws_ecs_account_setting_default" "awsvpc_trunking" {
  count = var.awsvpc_trunking ? 1 : 0

  name  = "awsvpcTrunking"
  value = "enabled"
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = var.tags
}

resource "aws_launch_template" "this" {
  name_prefix            = "${var.name}-"
  image_id               = local.ami_id
  instance_type          = var.instance_type
  vpc_security_group_ids = [var.instance_security_group_id]
  user_data              = base64encode(local.user_data)

  # Made by the workload-roles module (the iam administrator's workspace): whoever applies this
  # module may pass roles under /art-service/workloads/ but create none.
  iam_instance_profile {
    arn = var.instance_profile_arn
  }

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
    # Hop limit 1, not 2: the ECS agent uses host networking (one hop), and tasks get their task
    # role's credentials from the agent (169.254.170.2), never from IMDS. A limit of 2 would only let
    # bridge-mode containers reach the instance role. awsvpc tasks own an ENI and reach IMDS without
    # an extra hop, so ECS_AWSVPC_BLOCK_IMDS in the user data closes that path too.
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size           = var.root_volume_size
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  monitoring {
    enabled = true
  }

  # An instance whose resource-based IPv4 DNS (A record) requests are on fails to register with
  # trunking; they are off by default, and said so here where it matters.
  dynamic "private_dns_name_options" {
    for_each = var.awsvpc_trunking ? [1] : []
    content {
      enable_resource_name_dns_a_record = false
      hostname_type                     = "ip-name"
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = "${var.name}-ecs" })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(var.tags, { Name = "${var.name}-ecs" })
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.ami_id != null || !local.arm64_instance
      error_message = "The instance_type is a Graviton (arm64) type, and the default AMI is the x86_64 ECS-optimized one: give an arm64 ami_id, or choose an x86_64 instance type."
    }
  }
}

resource "aws_autoscaling_group" "this" {
  name_prefix         = "${var.name}-"
  vpc_zone_identifier = var.private_subnet_ids
  min_size            = var.min_size
  max_size            = var.max_size
  desired_capacity    = var.desired_capacity
  # Managed termination protection needs instances protected from scale-in; ECS lifts it per instance.
  protect_from_scale_in = true
  # Those protected instances never drain when the group is scaled to 0 on destroy; deleting the
  # group terminates them instead (the cluster, its capacity provider and services are gone by then).
  force_delete = true

  launch_template {
    id      = aws_launch_template.this.id
    version = aws_launch_template.this.latest_version
  }

  # A new launch template version (a new AMI from the SSM parameter, or any other template change)
  # changes launch_template above, and on that update the provider starts this refresh; no extra
  # triggers are needed. Instances that already run the new version are skipped.
  instance_refresh {
    strategy = "Rolling"

    preferences {
      min_healthy_percentage = var.instance_refresh_min_healthy_percentage
      max_healthy_percentage = local.instance_refresh_max_healthy_percentage
      instance_warmup        = tostring(var.instance_refresh_warmup_seconds)
      skip_matching          = true
      # Every instance is protected from scale-in (managed termination protection below); the default,
      # "Ignore", skips protected instances, so a refresh would never replace one that runs tasks.
      scale_in_protected_instances = "Refresh"
    }
  }

  # Instances get var.tags from the launch template; these tag the group itself.
  dynamic "tag" {
    for_each = var.tags
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = false
    }
  }

  tag {
    key                 = "AmazonECSManaged"
    value               = "true"
    propagate_at_launch = true
  }

  # Only instances launched after the account opts in to ENI trunking get a trunk interface.
  depends_on = [aws_ecs_account_setting_default.awsvpc_trunking]

  lifecycle {
    # Managed scaling owns the desired capacity once the cluster runs.
    ignore_changes = [desired_capacity]

    # A precondition, not a validation: a validation referring to other variables needs Terraform 1.9,
    # and this module supports 1.7.
    precondition {
      condition     = var.min_size <= var.desired_capacity && var.desired_capacity <= var.max_size
      error_message = "The sizes must satisfy min_size <= desired_capacity <= max_size."
    }

    precondition {
      condition     = length(setsubtract(var.private_subnet_ids, data.aws_subnets.vpc.ids)) == 0
      error_message = "Every private subnet must belong to vpc_id."
    }
  }
}

resource "aws_ecs_capacity_provider" "this" {
  name = "${var.name}-ec2"

  auto_scaling_group_provider {
    auto_scaling_group_arn = aws_autoscaling_group.this.arn
    # Managed termination protection only works together with managed scaling.
    managed_termination_protection = "ENABLED"
    # ECS drains an instance's tasks (starting them elsewhere) before Auto Scaling terminates it, as an
    # instance refresh or a scale-in does.
    managed_draining = "ENABLED"

    managed_scaling {
      status          = "ENABLED"
      target_capacity = var.target_capacity_percent
    }
  }

  tags = var.tags
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = [aws_ecs_capacity_provider.this.name]

  default_capacity_provider_strategy {
    capacity_provider = aws_ecs_capacity_provider.this.name
    weight            = 1
  }
}

resource "aws_lb" "this" {
  #checkov:skip=CKV_AWS_91:Access logs go to access_logs_bucket, which the portal always gives (the access-logs-bucket module); the module stays usable without one.
  #checkov:skip=CKV2_AWS_20:HTTP redirects to HTTPS whenever a certificate is given; without one there is no TLS to redirect to.
  #checkov:skip=CKV2_AWS_28:A WAF is an account-level choice with its own cost; attach one to this ALB from outside.
  name               = var.name
  load_balancer_type = "application"
  internal           = var.internal
  # An internal load balancer lives beside the instances; a public one in the public subnets.
  subnets                    = var.internal ? var.private_subnet_ids : var.public_subnet_ids
  security_groups            = [var.alb_security_group_id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection

  dynamic "access_logs" {
    for_each = var.access_logs_bucket == null ? [] : [var.access_logs_bucket]
    content {
      bucket  = access_logs.value
      prefix  = var.name
      enabled = true
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(setsubtract(var.public_subnet_ids, data.aws_subnets.vpc.ids)) == 0
      error_message = "Every public subnet must belong to vpc_id."
    }
  }
}

resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:HTTP answers 404 or redirects to HTTPS when a certificate is given.
  #checkov:skip=CKV_AWS_103:TLS applies to the HTTPS listener; this one only redirects or answers 404.
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = local.https ? "redirect" : "fixed-response"

    dynamic "redirect" {
      for_each = local.https ? [1] : []
      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }

    dynamic "fixed_response" {
      for_each = local.https ? [] : [1]
      content {
        content_type = "text/plain"
        message_body = "No service is routed here."
        status_code  = "404"
      }
    }
  }

  tags = var.tags
}

resource "aws_lb_listener" "https" {
  count = local.https ? 1 : 0

  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type = "fixed-response"

    fixed_response {
      content_type = "text/plain"
      message_body = "No service is routed here."
      status_code  = "404"
    }
  }

  tags = var.tags
}
