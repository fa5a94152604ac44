# Rendered by the portal; values come from terraform.tfvars.json only.
provider "aws" {
  default_tags {
    tags = var.default_tags
  }
}

variable "name" {
  type        = string
  description = "Repository name."
}

variable "default_tags" {
  type        = map(string)
  description = "Tags on every resource of this workspace."
}

module "this" {
  source = "$module_source"

  name = var.name
}

output "repository_url" {
  description = "Where images for this service are pushed."
  value       = module.this.repository_url
}
