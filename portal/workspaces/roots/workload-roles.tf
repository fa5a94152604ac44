# Rendered by the portal; values come from terraform.tfvars.json only.
variable "name_prefix" {
  type        = string
  description = "Prefix of the role names."
}

variable "permissions_boundary_arn" {
  type        = string
  description = "The administrators' permissions boundary, which every role made here carries."
}

variable "service_secrets" {
  type        = map(list(string))
  description = "ECS service name => the secret ARNs its own execution role may read."
}

variable "default_tags" {
  type        = map(string)
  description = "Tags on every resource of this workspace."
}

module "this" {
  source = "$module_source"

  name_prefix              = var.name_prefix
  permissions_boundary_arn = var.permissions_boundary_arn
  service_secrets          = var.service_secrets
}

# Read by the network, cluster and service workspaces through terraform_remote_state.
output "task_execution_role_arn" {
  description = "Role ECS pulls images and writes logs with, for every service."
  value       = module.this.task_execution_role_arn
}

output "instance_profile_arn" {
  description = "Instance profile of the cluster's instances."
  value       = module.this.instance_profile_arn
}

output "flow_logs_role_arn" {
  description = "Role VPC Flow Logs write with."
  value       = module.this.flow_logs_role_arn
}

output "service_execution_role_arns" {
  description = "ECS service name => its own execution role (services with secrets)."
  value       = module.this.service_execution_role_arns
}

output "service_secret_arns" {
  description = "ECS service name => the secret ARNs its execution role may read."
  value       = module.this.service_secret_arns
}
