# Rendered by the portal; values come from terraform.tfvars.json only.
variable "name" {
  type        = string
  description = "Repository name."
}

variable "force_delete" {
  type        = bool
  description = "Delete the repository's images with it when it is destroyed."
  default     = false
}

variable "default_tags" {
  type        = map(string)
  description = "Tags on every resource of this workspace."
}

module "this" {
  source = "$module_source"

  name         = var.name
  force_delete = var.force_delete
}

output "repository_url" {
  description = "Where images for this service are pushed."
  value       = module.this.repository_url
}
