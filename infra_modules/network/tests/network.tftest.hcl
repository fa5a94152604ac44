mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = {
      names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    }
  }
}

variables {
  name = "art-service"
}

run "two_zones_with_public_and_private_subnets" {
  command = plan

  assert {
    condition     = length(aws_subnet.public) == 2 && length(aws_subnet.private) == 2
    error_message = "One public and one private subnet per zone."
  }

  assert {
    condition     = toset(aws_subnet.public[*].availability_zone) == toset(["eu-west-1a", "eu-west-1b"])
    error_message = "Subnets must spread over the first two zones."
  }

  assert {
    condition     = aws_subnet.public[0].cidr_block == "10.0.0.0/24" && aws_subnet.private[1].cidr_block == "10.0.11.0/24"
    error_message = "Subnet ranges are carved from the VPC range."
  }

  assert {
    condition     = alltrue([for s in aws_subnet.public : !s.map_public_ip_on_launch])
    error_message = "Nothing gets a public address by accident."
  }
}

run "single_nat_serves_every_private_subnet" {
  command = plan

  assert {
    condition     = length(aws_nat_gateway.this) == 1 && length(aws_route.private_nat) == 2
    error_message = "single: one NAT gateway, a default route in each private table."
  }
}

run "per_az_nat" {
  command = plan

  variables {
    nat_mode = "per_az"
    az_count = 3
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 3 && length(aws_route_table.private) == 3
    error_message = "per_az: a NAT gateway and a private route table per zone."
  }
}

run "no_nat" {
  command = plan

  variables {
    nat_mode = "none"
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 0 && length(aws_route.private_nat) == 0 && length(aws_eip.nat) == 0
    error_message = "none: no NAT gateway and no default route from private subnets."
  }
}

run "only_http_and_https_reach_the_load_balancer_and_nothing_reaches_ssh" {
  command = plan

  assert {
    condition     = toset([for r in aws_vpc_security_group_ingress_rule.alb : r.from_port]) == toset([80, 443])
    error_message = "The load balancer admits 80 and 443 only."
  }

  assert {
    condition     = alltrue([for r in aws_vpc_security_group_ingress_rule.alb : r.from_port != 22])
    error_message = "No SSH."
  }

  assert {
    condition     = alltrue([for r in aws_vpc_security_group_ingress_rule.alb : r.from_port == r.to_port && r.ip_protocol == "tcp"])
    error_message = "Each load balancer rule admits one TCP port, never a range."
  }
}

run "the_instances_admit_nothing_and_the_load_balancer_sends_only_to_the_service_tasks" {
  # apply: the groups' ids and rule sets are only known after apply (mocked, nothing is created).
  command = apply

  assert {
    condition     = length(aws_security_group.instances.ingress) == 0
    error_message = "The instances admit nothing: tasks run in awsvpc mode behind their own security groups."
  }

  assert {
    condition = (
      aws_vpc_security_group_egress_rule.alb_to_service_tasks.security_group_id == aws_security_group.alb.id
      && aws_vpc_security_group_egress_rule.alb_to_service_tasks.referenced_security_group_id == aws_security_group.service_tasks.id
      && aws_vpc_security_group_egress_rule.alb_to_service_tasks.cidr_ipv4 == null && aws_vpc_security_group_egress_rule.alb_to_service_tasks.cidr_ipv6 == null
      && aws_vpc_security_group_egress_rule.alb_to_service_tasks.ip_protocol == "tcp"
    )
    error_message = "The load balancer's one egress rule sends TCP to the shared service tasks group, never to an address range."
  }

  assert {
    condition     = length(aws_security_group.service_tasks.ingress) == 0 && length(aws_security_group.service_tasks.egress) == 0
    error_message = "The shared service tasks group admits nothing itself: each service's own group admits its port."
  }

  assert {
    condition     = output.service_tasks_security_group_id == aws_security_group.service_tasks.id && aws_security_group.service_tasks.vpc_id == aws_vpc.this.id
    error_message = "The services read the shared group from the network's outputs."
  }
}

run "thirty_ranges_fill_the_load_balancers_sixty_inbound_rules" {
  command = plan

  variables {
    alb_ingress_cidrs = ["203.0.113.0/29", "203.0.113.8/29", "203.0.113.16/29", "203.0.113.24/29", "203.0.113.32/29", "203.0.113.40/29", "203.0.113.48/29", "203.0.113.56/29", "203.0.113.64/29", "203.0.113.72/29", "203.0.113.80/29", "203.0.113.88/29", "203.0.113.96/29", "203.0.113.104/29", "203.0.113.112/29", "203.0.113.120/29", "203.0.113.128/29", "203.0.113.136/29", "203.0.113.144/29", "203.0.113.152/29", "203.0.113.160/29", "203.0.113.168/29", "203.0.113.176/29", "203.0.113.184/29", "203.0.113.192/29", "203.0.113.200/29", "203.0.113.208/29", "203.0.113.216/29", "203.0.113.224/29", "203.0.113.232/29"]
  }

  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.alb) == 60
    error_message = "Two rules (80 and 443) per range: 30 ranges make the 60 a group holds by default."
  }
}

run "rejects_more_ranges_than_the_load_balancers_group_holds" {
  command = plan

  variables {
    alb_ingress_cidrs = ["203.0.113.0/29", "203.0.113.8/29", "203.0.113.16/29", "203.0.113.24/29", "203.0.113.32/29", "203.0.113.40/29", "203.0.113.48/29", "203.0.113.56/29", "203.0.113.64/29", "203.0.113.72/29", "203.0.113.80/29", "203.0.113.88/29", "203.0.113.96/29", "203.0.113.104/29", "203.0.113.112/29", "203.0.113.120/29", "203.0.113.128/29", "203.0.113.136/29", "203.0.113.144/29", "203.0.113.152/29", "203.0.113.160/29", "203.0.113.168/29", "203.0.113.176/29", "203.0.113.184/29", "203.0.113.192/29", "203.0.113.200/29", "203.0.113.208/29", "203.0.113.216/29", "203.0.113.224/29", "203.0.113.232/29", "203.0.113.240/29"]
  }

  expect_failures = [aws_security_group.alb]
}

run "a_raised_quota_holds_more_ranges" {
  command = plan

  variables {
    alb_ingress_cidrs          = ["203.0.113.0/29", "203.0.113.8/29", "203.0.113.16/29", "203.0.113.24/29", "203.0.113.32/29", "203.0.113.40/29", "203.0.113.48/29", "203.0.113.56/29", "203.0.113.64/29", "203.0.113.72/29", "203.0.113.80/29", "203.0.113.88/29", "203.0.113.96/29", "203.0.113.104/29", "203.0.113.112/29", "203.0.113.120/29", "203.0.113.128/29", "203.0.113.136/29", "203.0.113.144/29", "203.0.113.152/29", "203.0.113.160/29", "203.0.113.168/29", "203.0.113.176/29", "203.0.113.184/29", "203.0.113.192/29", "203.0.113.200/29", "203.0.113.208/29", "203.0.113.216/29", "203.0.113.224/29", "203.0.113.232/29", "203.0.113.240/29"]
    security_group_rules_quota = 100
  }

  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.alb) == 62
    error_message = "With the quota raised by AWS, 31 ranges fit."
  }
}

run "rejects_a_range_given_twice" {
  command = plan

  variables {
    alb_ingress_cidrs = ["203.0.113.0/24", "203.0.113.0/24"]
  }

  expect_failures = [var.alb_ingress_cidrs]
}

run "rejects_a_quota_past_what_an_interface_allows" {
  command = plan

  variables {
    security_group_rules_quota = 250
  }

  expect_failures = [var.security_group_rules_quota]
}

run "default_security_group_is_closed" {
  # apply: the rule sets are only known after apply (mocked, nothing is created).
  command = apply

  assert {
    condition     = length(aws_default_security_group.this.ingress) == 0 && length(aws_default_security_group.this.egress) == 0
    error_message = "The default security group must be closed."
  }
}

run "explicit_zones" {
  command = plan

  variables {
    availability_zones = ["eu-west-1b", "eu-west-1c"]
  }

  assert {
    condition     = aws_subnet.private[0].availability_zone == "eu-west-1b"
    error_message = "Explicit zones are used as given."
  }
}

run "flow_logs" {
  command = plan

  variables {
    enable_flow_logs        = true
    flow_logs_role_arn      = "arn:aws:iam::123456789012:role/art-service/workloads/art-service-vpc-flow-logs"
    flow_log_retention_days = 30
  }

  assert {
    condition     = length(aws_flow_log.this) == 1 && aws_flow_log.this[0].traffic_type == "ALL"
    error_message = "Flow logs capture all traffic when enabled."
  }

  assert {
    condition     = aws_flow_log.this[0].iam_role_arn == "arn:aws:iam::123456789012:role/art-service/workloads/art-service-vpc-flow-logs"
    error_message = "Flow logs write with the given role (made by the workload-roles module)."
  }

  assert {
    condition     = aws_cloudwatch_log_group.flow_logs[0].name == "/vpc/art-service/flow-logs" && aws_cloudwatch_log_group.flow_logs[0].retention_in_days == 30
    error_message = "Flow logs go to /vpc/<name>/flow-logs (the name the workload-roles policy covers) for the configured days."
  }
}

run "no_flow_logs_by_default" {
  command = plan

  assert {
    condition     = length(aws_flow_log.this) == 0 && length(aws_cloudwatch_log_group.flow_logs) == 0
    error_message = "Flow logs are off by default."
  }
}

run "a_role_alone_does_not_enable_flow_logs" {
  command = plan

  variables {
    flow_logs_role_arn = "arn:aws:iam::123456789012:role/art-service/workloads/art-service-vpc-flow-logs"
  }

  assert {
    condition     = length(aws_flow_log.this) == 0 && length(aws_cloudwatch_log_group.flow_logs) == 0
    error_message = "Flow logs are made only when enable_flow_logs is true."
  }
}

run "rejects_flow_logs_without_a_role" {
  command = plan

  variables {
    enable_flow_logs = true
  }

  expect_failures = [var.flow_logs_role_arn]
}

run "rejects_non_role_flow_logs_arn" {
  command = plan

  variables {
    enable_flow_logs   = true
    flow_logs_role_arn = "arn:aws:iam::123456789012:instance-profile/art-service-ecs-instance"
  }

  expect_failures = [var.flow_logs_role_arn]
}

run "rejects_flow_logs_role_name" {
  command = plan

  variables {
    flow_logs_role_arn = "art-service-vpc-flow-logs"
  }

  expect_failures = [var.flow_logs_role_arn]
}

run "rejects_bad_name" {
  command = plan

  variables {
    name = "Art_Service"
  }

  expect_failures = [var.name]
}

run "rejects_bad_cidr" {
  command = plan

  variables {
    cidr_block = "10.0.0.0/8"
  }

  expect_failures = [var.cidr_block]
}

run "rejects_one_zone" {
  command = plan

  variables {
    availability_zones = ["eu-west-1a", "eu-west-1a"]
  }

  expect_failures = [var.availability_zones]
}

run "rejects_az_count_of_one" {
  command = plan

  variables {
    az_count = 1
  }

  expect_failures = [var.az_count]
}

run "rejects_unknown_nat_mode" {
  command = plan

  variables {
    nat_mode = "dual"
  }

  expect_failures = [var.nat_mode]
}

run "rejects_bad_ingress_cidr" {
  command = plan

  variables {
    alb_ingress_cidrs = ["everyone"]
  }

  expect_failures = [var.alb_ingress_cidrs]
}

run "rejects_unsupported_retention" {
  command = plan

  variables {
    flow_log_retention_days = 10
  }

  expect_failures = [var.flow_log_retention_days]
}

run "rejects_non_kms_flow_log_key" {
  command = plan

  variables {
    flow_log_kms_key_arn = "alias/logs"
  }

  expect_failures = [var.flow_log_kms_key_arn]
}
