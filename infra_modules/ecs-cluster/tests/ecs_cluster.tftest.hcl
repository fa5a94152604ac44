mock_provider "aws" {
  mock_data "aws_ssm_parameter" {
    defaults = {
      value = "ami-0123456789abcdef0"
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_resource "aws_ecs_cluster" {
    override_during = plan
    defaults = {
      arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/art-service"
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
}

run "instances_are_hardened" {
  command = plan

  assert {
    condition     = aws_launch_template.this.metadata_options[0].http_tokens == "required"
    error_message = "IMDSv2 must be required."
  }

  assert {
    condition     = aws_launch_template.this.block_device_mappings[0].ebs[0].encrypted == "true"
    error_message = "The root volume must be encrypted."
  }

  assert {
    condition     = aws_launch_template.this.image_id == "ami-0123456789abcdef0"
    error_message = "The AMI comes from the public SSM parameter by default."
  }

  assert {
    condition     = strcontains(base64decode(aws_launch_template.this.user_data), "ECS_CLUSTER=art-service")
    error_message = "User data must register the instance with the cluster."
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
    condition     = aws_ecs_capacity_provider.this.auto_scaling_group_provider[0].managed_scaling[0].target_capacity == 80
    error_message = "Managed scaling targets the requested capacity."
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
    condition     = output.listener_arn == aws_lb_listener.https[0].arn
    error_message = "Services attach to the HTTPS listener when there is one."
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

run "rejects_long_name" {
  command = plan

  variables {
    name = "a-name-that-is-far-too-long-for-an-alb"
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

run "rejects_one_public_subnet" {
  command = plan

  variables {
    public_subnet_ids = ["subnet-a2"]
  }

  expect_failures = [var.public_subnet_ids]
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

run "rejects_non_acm_certificate" {
  command = plan

  variables {
    certificate_arn = "arn:aws:iam::123456789012:server-certificate/x"
  }

  expect_failures = [var.certificate_arn]
}
