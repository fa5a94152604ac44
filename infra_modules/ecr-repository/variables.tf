variable "name" {
  type        = string
  description = "Repository name, e.g. `art-service-sourcing-data-service`."

  validation {
    condition     = length(var.name) >= 2 && length(var.name) <= 256
    error_message = "The name must be 2 to 256 characters long."
  }

  validation {
    condition     = can(regex("^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$", var.name))
    error_message = "The name may contain lowercase letters, digits and single '.', '_', '-' or '/' separators, and must start and end with a letter or digit."
  }
}

variable "keep_tagged_images" {
  type        = number
  description = "How many images the lifecycle policy keeps besides the deployed ones; older ones that no service was deployed with expire."
  default     = 30

  validation {
    condition     = var.keep_tagged_images >= 1 && var.keep_tagged_images <= 1000 && floor(var.keep_tagged_images) == var.keep_tagged_images
    error_message = "The keep_tagged_images value must be a whole number from 1 to 1000."
  }
}

variable "deployed_tag_prefix" {
  type        = string
  description = "Tag prefix the portal gives an image when a service is deployed with it (`deployed-<tag>`): images carrying it are never expired by the count rule."
  default     = "deployed-"

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$", var.deployed_tag_prefix))
    error_message = "The deployed_tag_prefix must be 1 to 64 letters, digits, '_', '.' or '-', not starting with '.' or '-'."
  }
}

variable "keep_deployed_images" {
  type        = number
  description = "How many of the images services were deployed with are kept (the newest by push time); older deployed images expire."
  default     = 100

  validation {
    condition     = var.keep_deployed_images >= 1 && var.keep_deployed_images <= 10000 && floor(var.keep_deployed_images) == var.keep_deployed_images
    error_message = "The keep_deployed_images value must be a whole number from 1 to 10000."
  }
}

variable "untagged_image_expiry_days" {
  type        = number
  description = "Days after which untagged images (layers of failed or replaced pushes) expire."
  default     = 7

  validation {
    condition     = var.untagged_image_expiry_days >= 1 && floor(var.untagged_image_expiry_days) == var.untagged_image_expiry_days
    error_message = "The untagged_image_expiry_days value must be a whole number of at least 1."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key for image encryption. Null uses the AWS managed key for ECR."
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "The kms_key_arn must be a KMS key ARN (arn:aws:kms:...)."
  }
}

variable "force_delete" {
  type        = bool
  description = "Allow destroying the repository while it still holds images."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
