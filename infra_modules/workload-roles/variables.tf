variable "name_prefix" {
  type        = string
  description = "Prefix of the role and instance profile names: `<prefix>-ecs-task-execution`, `<prefix>-ecs-instance`, `<prefix>-vpc-flow-logs`."
  default     = "art-service"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,31}$", var.name_prefix))
    error_message = "The name_prefix must be 1 to 32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "path" {
  type        = string
  description = "IAM path of the roles and the instance profile. The ecs and vpc administrators may pass only roles under /art-service/workloads/."
  default     = "/art-service/workloads/"

  validation {
    condition     = can(regex("^/([A-Za-z0-9+=,.@_-]+/)*$", var.path)) && length(var.path) <= 512
    error_message = "The path must start and end with / (e.g. /art-service/workloads/)."
  }
}

variable "permissions_boundary_arn" {
  type        = string
  description = "Permissions boundary of every role. The iam administrator may only create roles that carry its boundary."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/", var.permissions_boundary_arn))
    error_message = "The permissions_boundary_arn must be an IAM policy ARN (arn:aws:iam::<account>:policy/...)."
  }
}

variable "flow_logs" {
  type        = bool
  description = "Make the role VPC Flow Logs write to CloudWatch Logs with (the network module's flow_logs_role_arn)."
  default     = true
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
