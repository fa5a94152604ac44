# Rendered by the portal; values come from terraform.tfvars.json only.
variable "bucket_name" {
  type        = string
  description = "Name of the state bucket."
}

variable "require_tls" {
  type        = bool
  description = "Deny requests without TLS (false only for a plain-HTTP emulator)."
}

variable "default_tags" {
  type        = map(string)
  description = "Tags on every resource of this workspace."
}

module "this" {
  source = "$module_source"

  bucket_name = var.bucket_name
  require_tls = var.require_tls
}

output "bucket_name" {
  description = "The state bucket."
  value       = module.this.bucket_name
}
