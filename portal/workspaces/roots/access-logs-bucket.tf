# Rendered by the portal; values come from terraform.tfvars.json only.
variable "bucket_name" {
  type        = string
  description = "The load balancer's access log bucket."
}

variable "log_prefixes" {
  type        = list(string)
  description = "The prefixes the platform's load balancers write under."
}

variable "require_tls" {
  type        = bool
  description = "Deny requests without TLS (false only for a plain-HTTP emulator)."
}

variable "force_destroy" {
  type        = bool
  description = "Delete the logs with the bucket (true only where the platform is destroyed routinely)."
}

variable "default_tags" {
  type        = map(string)
  description = "Tags on every resource of this workspace."
}

module "this" {
  source = "$module_source"

  bucket_name   = var.bucket_name
  log_prefixes  = var.log_prefixes
  require_tls   = var.require_tls
  force_destroy = var.force_destroy
}

output "bucket_name" {
  description = "The access log bucket."
  value       = module.this.bucket_name
}
