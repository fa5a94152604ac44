# Rendered by the portal; values come from terraform.tfvars.json only.
variable "name" {
  type        = string
  description = "Name of the network."
}

variable "nat_mode" {
  type        = string
  description = "none, single or per_az."
}

variable "enable_flow_logs" {
  type        = bool
  description = "Send the VPC's flow logs to CloudWatch Logs, with the workload roles' flow log role."
}

variable "flow_logs_role_arn" {
  type        = string
  default     = null
  description = "The workload roles' flow log role, named by the portal as the workload-roles module names it (null with flow logs off): not read from their state, so the network may be planned once the role exists, before the roles' apply ends."
}

variable "alb_ingress_cidrs" {
  type        = list(string)
  description = "IPv4 ranges that may reach the load balancer on 80 and 443."
}

variable "default_tags" {
  type        = map(string)
  description = "Tags on every resource of this workspace."
}

module "this" {
  source = "$module_source"

  name              = var.name
  nat_mode          = var.nat_mode
  alb_ingress_cidrs = var.alb_ingress_cidrs

  enable_flow_logs   = var.enable_flow_logs
  flow_logs_role_arn = var.flow_logs_role_arn
}

# Read by the cluster and service workspaces through terraform_remote_state.
output "vpc_id" {
  description = "The VPC."
  value       = module.this.vpc_id
}

output "public_subnet_ids" {
  description = "Subnets of the load balancer."
  value       = module.this.public_subnet_ids
}

output "private_subnet_ids" {
  description = "Subnets of instances and tasks."
  value       = module.this.private_subnet_ids
}

output "alb_security_group_id" {
  description = "Security group of the load balancer."
  value       = module.this.alb_security_group_id
}

output "service_tasks_security_group_id" {
  description = "Security group every service's tasks join: the load balancer's one egress destination."
  value       = module.this.service_tasks_security_group_id
}

output "instance_security_group_id" {
  description = "Security group of instances and tasks: admits only the load balancer."
  value       = module.this.instance_security_group_id
}
