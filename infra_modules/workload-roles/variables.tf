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
  description = "Permissions boundary of every role: the workloads' boundary of iam-service-admins (its workload_boundary_policy_arn), the only one the iam administrator may give roles under the workloads' path."

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

variable "service_secrets" {
  type        = map(list(string))
  description = "ECS service name => the Secrets Manager secret and SSM parameter ARNs its containers read. Each service listed gets an execution role of its own (`<service>-execution`) granted exactly those ARNs."
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for service in keys(var.service_secrets) : can(regex("^[a-z][a-z0-9-]{0,53}$", service))])
    error_message = "Each service name must be 1 to 54 lowercase letters, digits or hyphens, starting with a letter (its role, <service>-execution, must fit IAM's 64 characters)."
  }

  validation {
    condition = alltrue(flatten([for arns in values(var.service_secrets) : [for arn in arns : can(regex(
      "^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+|ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9/_.-]+)$", arn
    ))]]))
    error_message = "Each ARN must be a whole Secrets Manager secret ARN or an SSM parameter ARN, without wildcards: the role is granted exactly what is listed."
  }

  validation {
    condition     = alltrue([for arns in values(var.service_secrets) : length(arns) >= 1 && length(arns) <= 50])
    error_message = "List 1 to 50 ARNs per service (leave a service without secrets out)."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
