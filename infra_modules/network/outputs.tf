output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "IPv4 range of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "availability_zones" {
  description = "Zones the subnets are in, in subnet order."
  value       = local.zones
}

output "public_subnet_ids" {
  description = "Public subnets, one per zone: the load balancer and NAT gateways."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnets, one per zone: instances and tasks."
  value       = aws_subnet.private[*].id
}

output "alb_security_group_id" {
  description = "Security group of the load balancer (80/443 from alb_ingress_cidrs; sends only to service_tasks_security_group_id)."
  value       = aws_security_group.alb.id
}

output "service_tasks_security_group_id" {
  description = "Security group every service's tasks join: the one destination of the load balancer's egress. It admits nothing itself."
  value       = aws_security_group.service_tasks.id
}

output "instance_security_group_id" {
  description = "Security group of the ECS instances: admits nothing (tasks have their own groups, one per service)."
  value       = aws_security_group.instances.id
}

output "nat_gateway_ids" {
  description = "NAT gateways (none, one, or one per zone)."
  value       = aws_nat_gateway.this[*].id
}
