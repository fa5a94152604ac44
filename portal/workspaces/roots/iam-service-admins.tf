# Rendered by the portal; values come from terraform.tfvars.json only.
provider "aws" {
  default_tags {
    tags = var.default_tags
  }
}

variable "name_prefix" {
  type        = string
  description = "Prefix of the administrator names."
}

variable "service_types" {
  type        = set(string)
  description = "One administrator per AWS service type."
}

variable "state_bucket_arn" {
  type        = string
  description = "The state bucket the administrators read and write state in."
}

variable "default_tags" {
  type        = map(string)
  description = "Tags on every resource of this workspace."
}

module "this" {
  source = "$module_source"

  name_prefix      = var.name_prefix
  service_types    = var.service_types
  state_bucket_arn = var.state_bucket_arn
}

output "users" {
  description = "Administrator per service type."
  value       = module.this.users
}
