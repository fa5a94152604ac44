# Rendered by the portal; values come from terraform.tfvars.json only.
provider "aws" {
  default_tags {
    tags = var.default_tags
  }
}

variable "name" {
  type        = string
  description = "Name of the network."
}

variable "nat_mode" {
  type        = string
  description = "none, single or per_az."
}

variable "default_tags" {
  type        = map(string)
  description = "Tags on every resource of this workspace."
}

module "this" {
  source = "$module_source"

  name     = var.name
  nat_mode = var.nat_mode
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

output "instance_security_group_id" {
  description = "Security group of instances and tasks: admits only the load balancer."
  value       = module.this.instance_security_group_id
}
