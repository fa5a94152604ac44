# Day-2 changes: a new AMI from the SSM parameter makes a new launch template version, and the
# autoscaling group rolls its instances onto it. The two apply runs share this file's state, so the
# second one updates what the first one made.
mock_provider "aws" {
  # The runs below that care which AMI the parameter names override this per run.
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

  # Computed values the provider validates where other resources use them (ARNs, the template ID),
  # given at apply like AWS would.
  mock_resource "aws_ecs_cluster" {
    defaults = {
      arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/art-service"
    }
  }

  mock_resource "aws_launch_template" {
    defaults = {
      id = "lt-0123456789abcdef0"
    }
  }

  mock_resource "aws_autoscaling_group" {
    defaults = {
      arn = "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:0b7a5b8e-1111-2222-3333-444455556666:autoScalingGroupName/art-service-20250101000000000000000001"
    }
  }

  mock_resource "aws_lb" {
    defaults = {
      arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/art-service/0123456789abcdef"
    }
  }

  mock_resource "aws_lb_listener" {
    defaults = {
      arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/art-service/0123456789abcdef/0123456789abcdef"
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
  deletion_protection        = false
}

run "first_ami" {
  command = apply

  override_data {
    target = data.aws_ssm_parameter.ecs_ami
    values = {
      value = "ami-0aaaaaaaaaaaaaaa1"
    }
  }

  # Replaces the mock's defaults for the template, so it repeats the ID.
  override_resource {
    target = aws_launch_template.this
    values = {
      id             = "lt-0123456789abcdef0"
      latest_version = 1
    }
  }

  assert {
    condition     = aws_launch_template.this.image_id == "ami-0aaaaaaaaaaaaaaa1" && output.ami_id == "ami-0aaaaaaaaaaaaaaa1"
    error_message = "The launch template runs the AMI the SSM parameter names."
  }

  assert {
    condition     = aws_autoscaling_group.this.launch_template[0].id == aws_launch_template.this.id && aws_autoscaling_group.this.launch_template[0].version == "1" && aws_autoscaling_group.this.launch_template[0].version == tostring(aws_launch_template.this.latest_version)
    error_message = "The group launches the launch template's latest version."
  }

  assert {
    condition     = aws_autoscaling_group.this.instance_refresh[0].strategy == "Rolling"
    error_message = "A launch template change rolls through the instances."
  }

  assert {
    condition     = aws_autoscaling_group.this.instance_refresh[0].preferences[0].min_healthy_percentage == 90 && aws_autoscaling_group.this.instance_refresh[0].preferences[0].max_healthy_percentage == 190
    error_message = "By default 90 percent stay in service and the refresh may launch up to 190 percent (min + 100) first."
  }

  assert {
    condition     = aws_autoscaling_group.this.instance_refresh[0].preferences[0].instance_warmup == "300" && aws_autoscaling_group.this.instance_refresh[0].preferences[0].skip_matching
    error_message = "The refresh waits the default warmup and skips instances already on the new version."
  }

  assert {
    condition     = aws_autoscaling_group.this.protect_from_scale_in && aws_autoscaling_group.this.instance_refresh[0].preferences[0].scale_in_protected_instances == "Refresh"
    error_message = "The instances are protected from scale-in, so the refresh must replace protected instances too."
  }

  assert {
    condition     = aws_ecs_capacity_provider.this.auto_scaling_group_provider[0].managed_draining == "ENABLED" && aws_ecs_capacity_provider.this.auto_scaling_group_provider[0].managed_termination_protection == "ENABLED"
    error_message = "ECS drains an instance's tasks before the refresh terminates it."
  }
}

run "new_ami_rolls_the_instances" {
  command = apply

  override_data {
    target = data.aws_ssm_parameter.ecs_ami
    values = {
      value = "ami-0bbbbbbbbbbbbbbb2"
    }
  }

  assert {
    condition     = aws_launch_template.this.image_id == "ami-0bbbbbbbbbbbbbbb2" && output.ami_id == "ami-0bbbbbbbbbbbbbbb2" && output.ami_id != run.first_ami.ami_id
    error_message = "The launch template now runs the new AMI."
  }

  # On AWS the template's latest_version goes up and the group's launch_template.version with it: the
  # change the provider starts the refresh on. A mocked provider keeps computed values on an update
  # (overrides only apply on create), so this checks the wiring rather than the new number.
  assert {
    condition     = aws_autoscaling_group.this.launch_template[0].id == aws_launch_template.this.id && aws_autoscaling_group.this.launch_template[0].version == tostring(aws_launch_template.this.latest_version)
    error_message = "The group follows the launch template's latest version (not a pinned number, $Latest or $Default)."
  }

  assert {
    condition     = aws_autoscaling_group.this.instance_refresh[0].strategy == "Rolling" && aws_autoscaling_group.this.instance_refresh[0].preferences[0].min_healthy_percentage == 90 && aws_autoscaling_group.this.instance_refresh[0].preferences[0].scale_in_protected_instances == "Refresh"
    error_message = "The new version rolls through the instances, keeping 90 percent in service and replacing protected instances."
  }
}

run "refresh_preferences_follow_the_variables" {
  command = plan

  variables {
    instance_refresh_min_healthy_percentage = 100
    instance_refresh_warmup_seconds         = 0
  }

  assert {
    condition     = aws_autoscaling_group.this.instance_refresh[0].preferences[0].min_healthy_percentage == 100 && aws_autoscaling_group.this.instance_refresh[0].preferences[0].max_healthy_percentage == 200
    error_message = "At 100 percent the maximum is capped at AWS's 200."
  }

  assert {
    condition     = aws_autoscaling_group.this.instance_refresh[0].preferences[0].instance_warmup == "0"
    error_message = "The warmup follows instance_refresh_warmup_seconds."
  }
}

run "accepts_min_healthy_50" {
  command = plan

  variables {
    instance_refresh_min_healthy_percentage = 50
  }

  assert {
    condition     = aws_autoscaling_group.this.instance_refresh[0].preferences[0].min_healthy_percentage == 50 && aws_autoscaling_group.this.instance_refresh[0].preferences[0].max_healthy_percentage == 150
    error_message = "The maximum stays within 100 of the minimum, as AWS requires."
  }
}

run "capacity_provider_drains_instances" {
  command = plan

  assert {
    condition     = aws_ecs_capacity_provider.this.auto_scaling_group_provider[0].managed_draining == "ENABLED"
    error_message = "Managed draining must be on so tasks leave an instance before it is terminated."
  }
}

run "rejects_min_healthy_below_50" {
  command = plan

  variables {
    instance_refresh_min_healthy_percentage = 49
  }

  expect_failures = [var.instance_refresh_min_healthy_percentage]
}

run "rejects_min_healthy_above_100" {
  command = plan

  variables {
    instance_refresh_min_healthy_percentage = 101
  }

  expect_failures = [var.instance_refresh_min_healthy_percentage]
}

run "rejects_fractional_min_healthy" {
  command = plan

  variables {
    instance_refresh_min_healthy_percentage = 90.5
  }

  expect_failures = [var.instance_refresh_min_healthy_percentage]
}

run "rejects_negative_warmup" {
  command = plan

  variables {
    instance_refresh_warmup_seconds = -1
  }

  expect_failures = [var.instance_refresh_warmup_seconds]
}

run "rejects_fractional_warmup" {
  command = plan

  variables {
    instance_refresh_warmup_seconds = 1.5
  }

  expect_failures = [var.instance_refresh_warmup_seconds]
}
