# Rendered by the portal; values come from terraform.tfvars.json only.
variable "name_prefix" {
  type        = string
  description = "Prefix of the administrator names."
}

variable "administrators" {
  type = map(object({
    name_patterns = list(string)
  }))
  description = "One administrator per AWS service type, with the resource names it may manage."
}

variable "state_bucket_name" {
  type        = string
  description = "The Terraform state bucket."
}

variable "state_key_prefixes" {
  type        = map(list(string))
  description = "Per type, the state folders its state role may write."
}

variable "shared_state_keys" {
  type        = list(string)
  description = "Platform state keys every state role may read."
}

variable "runner_principal_arns" {
  type        = list(string)
  description = "The portal's own principal(s): the only ones that may assume the roles."
}

variable "emulator_wildcard_resources" {
  type        = bool
  description = "On the emulator, which sees most calls' resource as \"*\"."
}

variable "user_permissions_boundary" {
  type        = bool
  description = "Off only on the emulator, which cannot keep a user's boundary."
}

variable "default_tags" {
  type        = map(string)
  description = "Tags on every resource of this workspace."
}

module "this" {
  source = "$module_source"

  name_prefix                 = var.name_prefix
  administrators              = var.administrators
  state_bucket_name           = var.state_bucket_name
  state_key_prefixes          = var.state_key_prefixes
  shared_state_keys           = var.shared_state_keys
  runner_principal_arns       = var.runner_principal_arns
  emulator_wildcard_resources = var.emulator_wildcard_resources
  user_permissions_boundary   = var.user_permissions_boundary
}

output "administrators" {
  description = "Per type: its user, role, state role and policy."
  value       = module.this.administrators
}

output "policy_documents" {
  description = "Per type: what its administrator may do."
  value       = module.this.policy_documents
}

output "boundary_policy_arn" {
  description = "The permissions boundary of every administrator and workload role."
  value       = module.this.boundary_policy_arn
}

output "runner_policy_arn" {
  description = "Attach to the portal's own principal: it may only assume the roles."
  value       = module.this.runner_policy_arn
}
