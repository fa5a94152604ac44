variable "name_prefix" {
  type        = string
  description = "Prefix of the users, groups and policies: `<prefix>-<type>-admin`."
  default     = "art-service"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,31}$", var.name_prefix))
    error_message = "The name_prefix must be 1 to 32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "service_types" {
  type        = set(string)
  description = "AWS service types that get an administrator: ecs, ecr, s3, vpc, iam, logs, elb, autoscaling."

  validation {
    condition     = length(var.service_types) >= 1
    error_message = "Give at least one service type."
  }

  validation {
    condition     = alltrue([for t in var.service_types : contains(["ecs", "ecr", "s3", "vpc", "iam", "logs", "elb", "autoscaling"], t)])
    error_message = "Each service type must be one of: ecs, ecr, s3, vpc, iam, logs, elb, autoscaling."
  }
}

variable "path" {
  type        = string
  description = "IAM path of the users, groups and policies."
  default     = "/art-service/admins/"

  validation {
    condition     = can(regex("^/([A-Za-z0-9+=,.@_-]+/)*$", var.path)) && length(var.path) <= 512
    error_message = "The path must start and end with / (e.g. /art-service/admins/)."
  }
}

variable "state_bucket_arn" {
  type        = string
  description = "The Terraform state bucket; every administrator may read and write state objects in it. Null grants nothing on it."
  default     = null

  validation {
    condition     = var.state_bucket_arn == null || can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]+$", var.state_bucket_arn))
    error_message = "The state_bucket_arn must be an S3 bucket ARN (arn:aws:s3:::bucket)."
  }
}

variable "permissions_boundary_arn" {
  type        = string
  description = "Permissions boundary applied to every administrator. Null applies none."
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/", var.permissions_boundary_arn))
    error_message = "The permissions_boundary_arn must be an IAM policy ARN."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}

variable "force_destroy" {
  type        = bool
  description = "When a user is destroyed, also delete access keys, login profiles, MFA devices and other credentials made by hand. Off: destroying a user that has them fails and names them, so nobody loses a credential by surprise."
  default     = false
}
