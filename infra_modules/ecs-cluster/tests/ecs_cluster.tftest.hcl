mock_provider "aws" {
  mock_data "aws_ssm_parameter" {
    defaults = {
      value = "ami-0123456789abcdef0"
    }
  }

  # The subnets that vpc_id holds: those of the variables below.
  mock_data "aws_subnets" {
    defaults = {
      ids = ["subnet-a1", "subnet-b1", "subnet-a2", "subnet-b2"]
    }
  }

  mock_resource "aws_ecs_cluster" {
    override_during = plan
    defaults = {
      arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/art-service"
    }
  }

  mock_resource "aws_lb" {
    override_during = plan
    defaults = {
      arn      = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/art-service/0123456789abcdef"
      dns_name = "art-service-123456789.eu-west-1.elb.amazonaws.com"
    }
  }

  mock_resource "aws_lb_listener" {
    override_during = plan
    defaults = {
      arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/art-service-alb/1/2"
    }
  }
}

variables {
  name                       = "art-service"
  vpc_id                     = "vpc-0123456789abcdef0"
  private_subnet_ids         = ["subnet-a1", "subnet-b1"]
  public_subnet_ids          = ["subnet-a2", "subnet-b2"]
  instance_security_group_id = "sg-instances"
  alb_security_group_id      = "sg-alb"
  instance_profile_arn       = "arn:aws:iam::123456789012:instance-profile/art-service/workloads/art-service-ecs-instance"
}

run "instances_are_hardened" {
  command = plan

  assert {
    condition     = aws_launch_template.this.metadata_options[0].http_tokens == "required"
    error_message = "IMDSv2 must be required."
  }

  assert {
    condition     = aws_launch_template.this.metadata_options[0].http_put_response_hop_limit == 1
    error_message = "The hop limit keeps bridge-mode containers away from the instance role."
  }

  assert {
    condition     = aws_launch_template.this.block_device_mappings[0].ebs[0].encrypted == "true"
    error_message = "The root volume must be encrypted."
  }

  assert {
    condition     = aws_launch_template.this.block_device_mappings[0].ebs[0].volume_type == "gp3" && aws_launch_template.this.block_device_mappings[0].ebs[0].volume_size == 30
    error_message = "The root volume is gp3 with the default 30 GiB."
  }

  assert {
    condition     = length(data.aws_ssm_parameter.ecs_ami) == 1 && data.aws_ssm_parameter.ecs_ami[0].name == "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
    error_message = "The default AMI is read from the ECS-optimized AL2023 image_id parameter."
  }

  assert {
    condition     = aws_launch_template.this.image_id == "ami-0123456789abcdef0"
    error_message = "The AMI comes from the public SSM parameter by default."
  }

  assert {
    condition     = strcontains(base64decode(aws_launch_template.this.user_data), "ECS_CLUSTER=art-service\n")
    error_message = "User data must register the instance with the cluster."
  }

  assert {
    condition     = strcontains(base64decode(aws_launch_template.this.user_data), "ECS_AWSVPC_BLOCK_IMDS=true")
    error_message = "awsvpc tasks must not reach IMDS."
  }

  assert {
    condition     = aws_launch_template.this.iam_instance_profile[0].arn == "arn:aws:iam::123456789012:instance-profile/art-service/workloads/art-service-ecs-instance" && aws_launch_template.this.iam_instance_profile[0].name == null
    error_message = "Instances get the given instance profile (made by the workload-roles module), by ARN."
  }

  assert {
    condition     = aws_ecs_cluster.this.setting == toset([{ name = "containerInsights", value = "enabled" }])
    error_message = "Container insights must be on."
  }

  assert {
    condition     = aws_launch_template.this.vpc_security_group_ids == toset(["sg-instances"])
    error_message = "Instances use the instance security group only."
  }
}

run "explicit_ami_skips_the_ssm_parameter" {
  command = plan

  variables {
    ami_id = "ami-0fedcba9876543210"
  }

  assert {
    condition     = aws_launch_template.this.image_id == "ami-0fedcba9876543210" && length(data.aws_ssm_parameter.ecs_ami) == 0
    error_message = "An explicit AMI overrides the SSM parameter, which is then not read."
  }
}

run "autoscaling_group_and_capacity_provider" {
  command = plan

  variables {
    min_size                = 2
    desired_capacity        = 2
    max_size                = 6
    target_capacity_percent = 80
  }

  assert {
    condition     = aws_autoscaling_group.this.min_size == 2 && aws_autoscaling_group.this.max_size == 6
    error_message = "The group has the requested sizes."
  }

  assert {
    condition     = toset(aws_autoscaling_group.this.vpc_zone_identifier) == toset(["subnet-a1", "subnet-b1"])
    error_message = "Instances live in the private subnets."
  }

  assert {
    condition     = aws_ecs_capacity_provider.this.auto_scaling_group_provider[0].managed_scaling[0].status == "ENABLED"
    error_message = "Managed scaling must be on."
  }

  assert {
    condition     = aws_autoscaling_group.this.desired_capacity == 2
    error_message = "The group starts with the requested capacity."
  }

  assert {
    condition     = aws_ecs_capacity_provider.this.auto_scaling_group_provider[0].managed_scaling[0].target_capacity == 80
    error_message = "Managed scaling targets the requested capacity."
  }

  assert {
    condition     = aws_autoscaling_group.this.protect_from_scale_in && aws_autoscaling_group.this.force_delete && aws_ecs_capacity_provider.this.auto_scaling_group_provider[0].managed_termination_protection == "ENABLED"
    error_message = "Managed termination protection needs instances protected from scale-in."
  }

  assert {
    condition     = aws_ecs_cluster_capacity_providers.this.capacity_providers == toset(["art-service-ec2"]) && one(aws_ecs_cluster_capacity_providers.this.default_capacity_provider_strategy).capacity_provider == "art-service-ec2"
    error_message = "The capacity provider is attached to the cluster and is its default strategy."
  }

  assert {
    condition     = output.capacity_provider_name == "art-service-ec2"
    error_message = "The capacity provider's name is exported."
  }
}

run "http_answers_404_without_a_certificate" {
  command = plan

  assert {
    condition     = aws_lb_listener.http.default_action[0].type == "fixed-response" && aws_lb_listener.http.default_action[0].fixed_response[0].status_code == "404"
    error_message = "Without a route, HTTP answers 404."
  }

  assert {
    condition     = length(aws_lb_listener.https) == 0 && output.https_listener_arn == null
    error_message = "No HTTPS listener without a certificate."
  }

  assert {
    condition     = output.listener_arn == aws_lb_listener.http.arn
    error_message = "Services attach to the HTTP listener without a certificate."
  }

  assert {
    condition     = aws_lb.this.internal == false && aws_lb.this.drop_invalid_header_fields
    error_message = "The load balancer is public and drops invalid headers."
  }

  assert {
    condition     = aws_lb.this.name == "art-service" && toset(aws_lb.this.subnets) == toset(["subnet-a2", "subnet-b2"]) && aws_lb.this.security_groups == toset(["sg-alb"])
    error_message = "The load balancer carries the name, lives in the public subnets and uses the ALB security group."
  }

  assert {
    condition     = aws_lb.this.enable_deletion_protection && length(aws_lb.this.access_logs) == 0
    error_message = "Deletion protection is on and access logs are off by default."
  }
}

run "access_logs_and_tags_when_asked" {
  command = plan

  variables {
    access_logs_bucket  = "art-service-alb-logs"
    deletion_protection = false
    tags                = { team = "platform" }
  }

  assert {
    condition     = aws_lb.this.access_logs[0].enabled && aws_lb.this.access_logs[0].bucket == "art-service-alb-logs"
    error_message = "Access logs go to the given bucket."
  }

  assert {
    condition     = aws_lb.this.enable_deletion_protection == false
    error_message = "Deletion protection can be turned off."
  }

  assert {
    condition     = contains([for t in aws_autoscaling_group.this.tag : t.key if t.value == "platform"], "team") && aws_launch_template.this.tag_specifications[0].tags["team"] == "platform"
    error_message = "Tags reach the group and, through the launch template, the instances."
  }
}

run "accepts_a_32_character_name" {
  command = plan

  variables {
    name = "a2345678901234567890123456789012"
  }

  assert {
    condition     = aws_lb.this.name == "a2345678901234567890123456789012" && aws_ecs_capacity_provider.this.name == "a2345678901234567890123456789012-ec2" && aws_launch_template.this.name_prefix == "a2345678901234567890123456789012-"
    error_message = "A 32-character name fits the load balancer, the capacity provider and the launch template's name prefix."
  }
}

run "https_with_a_certificate_and_http_redirects" {
  command = plan

  variables {
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/abc"
  }

  assert {
    condition     = aws_lb_listener.http.default_action[0].type == "redirect" && aws_lb_listener.http.default_action[0].redirect[0].protocol == "HTTPS"
    error_message = "HTTP must redirect to HTTPS when a certificate is given."
  }

  assert {
    condition     = aws_lb_listener.https[0].port == 443 && aws_lb_listener.https[0].certificate_arn == "arn:aws:acm:eu-west-1:123456789012:certificate/abc"
    error_message = "An HTTPS listener on 443 uses the certificate."
  }

  assert {
    condition     = aws_lb_listener.https[0].ssl_policy == "ELBSecurityPolicy-TLS13-1-2-2021-06" && aws_lb_listener.https[0].default_action[0].fixed_response[0].status_code == "404"
    error_message = "HTTPS uses the modern TLS policy and answers 404 without a route."
  }

  assert {
    condition     = output.https_listener_arn == aws_lb_listener.https[0].arn && output.http_listener_arn == aws_lb_listener.http.arn
    error_message = "Both listeners are exported."
  }

  assert {
    condition     = output.listener_arn == aws_lb_listener.https[0].arn
    error_message = "Services attach to the HTTPS listener when there is one."
  }

  assert {
    condition     = output.base_url == "https://art-service-123456789.eu-west-1.elb.amazonaws.com"
    error_message = "With a certificate, people are sent to https://."
  }
}

run "an_internal_load_balancer_lives_in_the_private_subnets" {
  command = plan

  variables {
    internal = true
  }

  assert {
    condition     = aws_lb.this.internal && toset(aws_lb.this.subnets) == toset(["subnet-a1", "subnet-b1"])
    error_message = "An internal load balancer is internal and in the private subnets."
  }
}

run "the_base_url_is_plain_http_without_a_certificate" {
  command = plan

  assert {
    condition     = output.base_url == "http://art-service-123456789.eu-west-1.elb.amazonaws.com"
    error_message = "Without a certificate the load balancer answers http://."
  }
}

run "rejects_desired_above_max" {
  command = plan

  variables {
    desired_capacity = 5
    max_size         = 3
  }

  expect_failures = [aws_autoscaling_group.this]
}

run "rejects_min_above_desired" {
  command = plan

  variables {
    min_size         = 2
    desired_capacity = 1
  }

  expect_failures = [aws_autoscaling_group.this]
}

run "rejects_private_subnet_outside_the_vpc" {
  command = plan

  variables {
    private_subnet_ids = ["subnet-a1", "subnet-elsewhere"]
  }

  expect_failures = [aws_autoscaling_group.this]
}

run "rejects_public_subnet_outside_the_vpc" {
  command = plan

  variables {
    public_subnet_ids = ["subnet-a2", "subnet-elsewhere"]
  }

  expect_failures = [aws_lb.this]
}

run "rejects_33_character_name" {
  command = plan

  variables {
    name = "a23456789012345678901234567890123"
  }

  expect_failures = [var.name]
}

run "rejects_uppercase_name" {
  command = plan

  variables {
    name = "Art-Service"
  }

  expect_failures = [var.name]
}

run "rejects_name_ending_in_hyphen" {
  command = plan

  variables {
    name = "art-service-"
  }

  expect_failures = [var.name]
}

run "rejects_reserved_name_prefix" {
  command = plan

  variables {
    name = "ecs-art"
  }

  expect_failures = [var.name]
}

run "rejects_internal_name_prefix" {
  command = plan

  variables {
    name = "internal-art"
  }

  expect_failures = [var.name]
}

run "rejects_bad_vpc_id" {
  command = plan

  variables {
    vpc_id = "my-vpc"
  }

  expect_failures = [var.vpc_id]
}

run "rejects_one_private_subnet" {
  command = plan

  variables {
    private_subnet_ids = ["subnet-a1"]
  }

  expect_failures = [var.private_subnet_ids]
}

run "rejects_non_subnet_private_id" {
  command = plan

  variables {
    private_subnet_ids = ["subnet-a1", "b1"]
  }

  expect_failures = [var.private_subnet_ids]
}

run "rejects_non_subnet_public_id" {
  command = plan

  variables {
    public_subnet_ids = ["subnet-a2", "b2"]
  }

  expect_failures = [var.public_subnet_ids]
}

run "rejects_bad_instance_security_group" {
  command = plan

  variables {
    instance_security_group_id = "instances"
  }

  expect_failures = [var.instance_security_group_id]
}

run "rejects_bad_alb_security_group" {
  command = plan

  variables {
    alb_security_group_id = "alb"
  }

  expect_failures = [var.alb_security_group_id]
}

run "rejects_one_public_subnet" {
  command = plan

  variables {
    public_subnet_ids = ["subnet-a2"]
  }

  expect_failures = [var.public_subnet_ids]
}

run "rejects_role_as_instance_profile" {
  command = plan

  variables {
    instance_profile_arn = "arn:aws:iam::123456789012:role/art-service/workloads/art-service-ecs-instance"
  }

  expect_failures = [var.instance_profile_arn]
}

run "rejects_instance_profile_name" {
  command = plan

  variables {
    instance_profile_arn = "art-service-ecs-instance"
  }

  expect_failures = [var.instance_profile_arn]
}

run "rejects_bad_instance_type" {
  command = plan

  variables {
    instance_type = "small"
  }

  expect_failures = [var.instance_type]
}

run "rejects_negative_min_size" {
  command = plan

  variables {
    min_size = -1
  }

  expect_failures = [var.min_size]
}

run "rejects_zero_max_size" {
  command = plan

  variables {
    max_size         = 0
    desired_capacity = 0
    min_size         = 0
  }

  expect_failures = [var.max_size]
}

run "rejects_fractional_desired_capacity" {
  command = plan

  variables {
    desired_capacity = 1.5
  }

  expect_failures = [var.desired_capacity]
}

run "rejects_bad_ami" {
  command = plan

  variables {
    ami_id = "ubuntu"
  }

  expect_failures = [var.ami_id]
}

run "rejects_small_root_volume" {
  command = plan

  variables {
    root_volume_size = 8
  }

  expect_failures = [var.root_volume_size]
}

run "rejects_zero_target_capacity" {
  command = plan

  variables {
    target_capacity_percent = 0
  }

  expect_failures = [var.target_capacity_percent]
}

run "rejects_target_capacity_above_100" {
  command = plan

  variables {
    target_capacity_percent = 101
  }

  expect_failures = [var.target_capacity_percent]
}

run "rejects_unknown_ssl_policy" {
  command = plan

  variables {
    ssl_policy = "TLS1.3"
  }

  expect_failures = [var.ssl_policy]
}

run "rejects_bad_access_logs_bucket" {
  command = plan

  variables {
    access_logs_bucket = "s3://Logs"
  }

  expect_failures = [var.access_logs_bucket]
}

run "rejects_non_acm_certificate" {
  command = plan

  variables {
    certificate_arn = "arn:aws:iam::123456789012:server-certificate/x"
  }

  expect_failures = [var.certificate_arn]
}

run "trunking_is_off_and_memory_reserved_by_default" {
  command = plan

  assert {
    condition     = length(aws_ecs_account_setting_default.awsvpc_trunking) == 0
    error_message = "ENI trunking is account-wide: off unless asked for."
  }

  assert {
    condition     = length(aws_launch_template.this.private_dns_name_options) == 0
    error_message = "Without trunking the launch template keeps the subnet's DNS name options."
  }

  assert {
    condition     = strcontains(base64decode(aws_launch_template.this.user_data), "ECS_RESERVED_MEMORY=256\n")
    error_message = "The agent keeps 256 MiB from tasks by default (the portal counts memory so)."
  }
}

run "trunking_turns_on_the_account_default_before_instances_launch" {
  command = plan

  variables {
    awsvpc_trunking     = true
    instance_type       = "m6i.large"
    reserved_memory_mib = 512
  }

  assert {
    condition     = aws_ecs_account_setting_default.awsvpc_trunking[0].name == "awsvpcTrunking" && aws_ecs_account_setting_default.awsvpc_trunking[0].value == "enabled"
    error_message = "Trunking is the account's default setting awsvpcTrunking, enabled."
  }

  assert {
    condition     = aws_launch_template.this.private_dns_name_options[0].enable_resource_name_dns_a_record == false && aws_launch_template.this.private_dns_name_options[0].hostname_type == "ip-name"
    error_message = "Trunked instances must have resource-based IPv4 DNS requests off, or they fail to register."
  }

  assert {
    condition     = aws_launch_template.this.instance_type == "m6i.large"
    error_message = "The instances are of the given type."
  }

  assert {
    condition     = strcontains(base64decode(aws_launch_template.this.user_data), "ECS_RESERVED_MEMORY=512\n")
    error_message = "The reserved memory reaches the agent's configuration."
  }
}

run "accepts_a_graviton_type_with_an_arm64_ami" {
  command = plan

  variables {
    instance_type = "m7g.large"
    ami_id        = "ami-0fedcba9876543210"
  }

  assert {
    condition     = aws_launch_template.this.instance_type == "m7g.large"
    error_message = "An explicit (arm64) AMI lets a Graviton type through."
  }
}

run "rejects_a_graviton_type_on_the_x86_64_ami" {
  command = plan

  variables {
    instance_type = "c7gn.large"
  }

  expect_failures = [aws_launch_template.this]
}

run "rejects_negative_reserved_memory" {
  command = plan

  variables {
    reserved_memory_mib = -1
  }

  expect_failures = [var.reserved_memory_mib]
}

run "rejects_reserved_memory_above_4096" {
  command = plan

  variables {
    reserved_memory_mib = 8192
  }

  expect_failures = [var.reserved_memory_mib]
}
