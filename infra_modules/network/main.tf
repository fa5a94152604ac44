data "aws_availability_zones" "available" {
  count = var.availability_zones == null ? 1 : 0

  state = "available"
}

locals {
  zones = var.availability_zones != null ? var.availability_zones : slice(data.aws_availability_zones.available[0].names, 0, var.az_count)
  # /24 subnets in a /16: public from .0, private from .10; fewer bits for smaller VPCs.
  newbits   = 24 - tonumber(split("/", var.cidr_block)[1])
  nat_count = { none = 0, single = 1, per_az = length(local.zones) }[var.nat_mode]
  flow_logs = var.enable_flow_logs ? 1 : 0
  # The load balancer's group admits each of these ports from each allowed range: one rule per pair.
  alb_ingress_ports = [80, 443]
  alb_ingress_rules = { for pair in setproduct(local.alb_ingress_ports, var.alb_ingress_cidrs) : "${pair[0]}-${pair[1]}" => pair }
  name_tag          = { for k in ["vpc", "igw"] : k => "${var.name}-${k}" }
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr_block
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = merge(var.tags, { Name = var.name })
}

# The default security group admits everything inside the VPC; managed here with no rules, closed.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${var.name}-default-closed" })
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = local.name_tag.igw })
}

resource "aws_subnet" "public" {
  count = length(local.zones)

  vpc_id            = aws_vpc.this.id
  availability_zone = local.zones[count.index]
  cidr_block        = cidrsubnet(var.cidr_block, local.newbits, count.index)
  # Nothing gets a public address by accident: only the load balancer and NAT gateways live here.
  map_public_ip_on_launch = false
  tags                    = merge(var.tags, { Name = "${var.name}-public-${local.zones[count.index]}", Tier = "public" })
}

resource "aws_subnet" "private" {
  count = length(local.zones)

  vpc_id            = aws_vpc.this.id
  availability_zone = local.zones[count.index]
  cidr_block        = cidrsubnet(var.cidr_block, local.newbits, count.index + 10)
  tags              = merge(var.tags, { Name = "${var.name}-private-${local.zones[count.index]}", Tier = "private" })
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${var.name}-public" })
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  count = length(local.zones)

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_eip" "nat" {
  count = local.nat_count

  domain = "vpc"
  tags   = merge(var.tags, { Name = "${var.name}-nat-${local.zones[count.index]}" })
}

resource "aws_nat_gateway" "this" {
  count = local.nat_count

  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id
  tags          = merge(var.tags, { Name = "${var.name}-nat-${local.zones[count.index]}" })

  depends_on = [aws_internet_gateway.this]
}

# One route table per zone, so per_az NAT keeps a zone's traffic in its zone.
resource "aws_route_table" "private" {
  count = length(local.zones)

  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${var.name}-private-${local.zones[count.index]}" })
}

resource "aws_route" "private_nat" {
  count = local.nat_count == 0 ? 0 : length(local.zones)

  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[min(count.index, local.nat_count - 1)].id
}

resource "aws_route_table_association" "private" {
  count = length(local.zones)

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

resource "aws_security_group" "alb" {
  #checkov:skip=CKV2_AWS_5:Attached by the ecs-cluster module's load balancer, in another workspace.
  name        = "${var.name}-alb"
  description = "Load balancer: HTTP and HTTPS from the allowed ranges"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-alb" })

  lifecycle {
    # AWS refuses a rule past the quota (RulesPerSecurityGroupLimitExceeded) half-way through an apply.
    precondition {
      condition     = length(local.alb_ingress_rules) <= var.security_group_rules_quota
      error_message = "The load balancer's group would need ${length(local.alb_ingress_rules)} inbound rules (${length(local.alb_ingress_ports)} ports for each of the ${length(var.alb_ingress_cidrs)} alb_ingress_cidrs), more than the ${var.security_group_rules_quota} a security group holds (security_group_rules_quota): give at most ${floor(var.security_group_rules_quota / length(local.alb_ingress_ports))} ranges, e.g. by joining neighbouring ones."
    }
  }
}

resource "aws_vpc_security_group_ingress_rule" "alb" {
  for_each = local.alb_ingress_rules

  security_group_id = aws_security_group.alb.id
  description       = "HTTP(S) to the load balancer"
  ip_protocol       = "tcp"
  from_port         = each.value[0]
  to_port           = each.value[0]
  cidr_ipv4         = each.value[1]
}

# Every service's tasks join this group beside their own (ecs-service), so that the load balancer's
# group needs one egress rule, whatever the number of services: one rule per service would stop at
# service 61 (60 outbound rules per group, AWS's default quota). The group admits nothing itself; what
# reaches a task is what its own group admits, its container port from the load balancer's group.
resource "aws_security_group" "service_tasks" {
  #checkov:skip=CKV2_AWS_5:Attached to every service's tasks by the ecs-service module, in the services' workspaces.
  name        = "${var.name}-service-tasks"
  description = "Tasks of every ECS service: the load balancer may send to them; each service's own group admits its port"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-service-tasks" })
}

# A range, because the services' ports are theirs to choose; the path it opens is as narrow as before:
# a task admits the load balancer on its container port only (tests/test_traffic_paths.py pins it).
resource "aws_vpc_security_group_egress_rule" "alb_to_service_tasks" {
  security_group_id            = aws_security_group.alb.id
  description                  = "Load balancer to the tasks of every service; each task's own group admits its container port only"
  ip_protocol                  = "tcp"
  from_port                    = 1
  to_port                      = 65535
  referenced_security_group_id = aws_security_group.service_tasks.id
}

resource "aws_security_group" "instances" {
  #checkov:skip=CKV2_AWS_5:Attached by the ecs-cluster module's instances, in another workspace.
  name = "${var.name}-instances"
  # Kept as first written: AWS cannot change a group's description, so a new one would replace the
  # group under the running instances. It admits less than it says: nothing.
  description = "ECS instances and tasks: traffic only from the load balancer, no SSH"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-instances" })
}

# No ingress at all: tasks run in awsvpc mode with their own network interfaces and security groups
# (one per service), so nothing needs to reach the instances themselves. SSM Session Manager works
# outbound only.

resource "aws_vpc_security_group_egress_rule" "instances_out" {
  #checkov:skip=CKV_AWS_382:Instances pull images from ECR and Docker registries and reach AWS APIs; their addresses are not fixed.
  security_group_id = aws_security_group.instances.id
  description       = "Images, AWS APIs and the services' own dependencies"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  #checkov:skip=CKV_AWS_158:KMS is optional (flow_log_kms_key_arn); CloudWatch encrypts log data at rest either way.
  count = local.flow_logs

  name              = "/vpc/${var.name}/flow-logs"
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = var.flow_log_kms_key_arn
  tags              = var.tags
}

# The role is made by the workload-roles module (the iam administrator's workspace): the vpc
# administrator may pass roles under /art-service/workloads/ but create none.
resource "aws_flow_log" "this" {
  count = local.flow_logs

  vpc_id          = aws_vpc.this.id
  traffic_type    = "ALL"
  log_destination = aws_cloudwatch_log_group.flow_logs[0].arn
  iam_role_arn    = var.flow_logs_role_arn
  tags            = var.tags
}
