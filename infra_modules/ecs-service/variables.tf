variable "name" {
  type        = string
  description = "Name of the ECS service, its task family and log group."

  validation {
    # ECS service names allow 255 characters; the shorter target group name is cut and hashed.
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_-]{0,254}$", var.name))
    error_message = "The name must be 1 to 255 letters, digits, hyphens or underscores, starting with a letter."
  }
}

variable "cluster_arn" {
  type        = string
  description = "ECS cluster the service runs in."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecs:", var.cluster_arn))
    error_message = "The cluster_arn must be an ECS cluster ARN."
  }
}

variable "capacity_provider_name" {
  type        = string
  description = "Capacity provider to place tasks with. Null uses the EC2 launch type."
  default     = null
}

variable "image" {
  type        = string
  description = "Container image, e.g. `<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>`."

  validation {
    condition     = can(regex("^[^\\s]+$", var.image))
    error_message = "The image must be a non-empty image reference without spaces."
  }
}

variable "container_port" {
  type        = number
  description = "Port the container listens on."

  validation {
    condition     = var.container_port >= 1 && var.container_port <= 65535 && floor(var.container_port) == var.container_port
    error_message = "The container_port must be a whole number from 1 to 65535."
  }
}

variable "cpu" {
  type        = number
  description = "CPU units of the task (1024 = 1 vCPU)."

  validation {
    condition     = var.cpu >= 128 && var.cpu <= 196608
    error_message = "The cpu must be from 128 to 196608 units (ECS on EC2)."
  }
}

variable "memory" {
  type        = number
  description = "Memory of the task in MiB."

  validation {
    condition     = var.memory >= 128 && var.memory <= 786432
    error_message = "The memory must be from 128 to 786432 MiB."
  }
}

variable "desired_count" {
  type        = number
  description = "Tasks to run; enforced on every apply unless enable_autoscaling is on (then only the starting count)."
  default     = 1

  validation {
    condition     = var.desired_count >= 0 && var.desired_count <= 5000 && floor(var.desired_count) == var.desired_count
    error_message = "The desired_count must be a whole number from 0 to 5000."
  }
}

variable "readonly_root_filesystem" {
  type        = bool
  description = "Mount the container's root filesystem read-only."
  default     = false
}

variable "environment" {
  type        = map(string)
  description = "Environment variables of the container (not for secrets: see secrets)."
  default     = {}
}

variable "secrets" {
  type        = map(string)
  description = "Container variables read from Secrets Manager or SSM Parameter Store when a task starts: variable name => secret or parameter ARN. Only the references are in the task definition; the execution role must be granted exactly these ARNs (the workload-roles module's service_secrets)."
  default     = {}

  validation {
    condition     = alltrue([for name in keys(var.secrets) : can(regex("^[A-Za-z_][A-Za-z0-9_]{0,254}$", name))])
    error_message = "Each secrets name must be a variable name: letters, digits and underscores, not starting with a digit."
  }

  validation {
    condition = alltrue([for arn in values(var.secrets) : can(regex(
      "^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+|ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9/_.-]+)$", arn
    ))])
    error_message = "Each secrets value must be the ARN of a Secrets Manager secret (arn:aws:secretsmanager:<region>:<account>:secret:<name>) or an SSM parameter (arn:aws:ssm:<region>:<account>:parameter/<name>), never the secret's value."
  }

  validation {
    condition     = length(var.secrets) <= 50
    error_message = "Give at most 50 secrets."
  }
}

variable "health_check_path" {
  type        = string
  description = "Path the load balancer requests to decide a task is healthy."
  default     = "/health"

  validation {
    condition     = can(regex("^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$", var.health_check_path)) && length(var.health_check_path) <= 1024
    error_message = "The health_check_path must start with / and hold only URL path characters (at most 1024)."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC of the target group."

  validation {
    condition     = can(regex("^vpc-", var.vpc_id))
    error_message = "The vpc_id must be a VPC ID (vpc-...)."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Subnets of the tasks (awsvpc network mode)."

  validation {
    condition     = length(var.subnet_ids) >= 1
    error_message = "Give at least one subnet."
  }
}

variable "alb_security_group_id" {
  type        = string
  description = "Security group of the load balancer: the tasks' own group admits it on container_port only."

  validation {
    condition     = can(regex("^sg-[0-9a-f]+$", var.alb_security_group_id))
    error_message = "The alb_security_group_id must be a security group ID (sg-...)."
  }
}

variable "service_tasks_security_group_id" {
  type        = string
  description = "The platform's shared service tasks group (the network module's service_tasks_security_group_id output). Every service's tasks join it: the load balancer's group has one egress rule, to this group, however many services there are, and this group admits nothing itself."

  validation {
    condition     = can(regex("^sg-[0-9a-f]+$", var.service_tasks_security_group_id))
    error_message = "The service_tasks_security_group_id must be a security group ID (sg-...), the network module's service_tasks_security_group_id output. A network applied before that group existed has none: apply the network workspace first."
  }
}

variable "keep_load_balancer_egress_rule" {
  type        = bool
  description = "Keep this service's own egress rule on the load balancer's group (the design before the shared service tasks group). Only for the apply that moves an existing service's tasks into the shared group: until its new tasks run, the old ones are reachable through that rule alone. Off, the rule goes (or is never made)."
  default     = false
}

variable "security_group_ids" {
  type        = list(string)
  description = "More security groups for the tasks, beside their own (which admits the load balancer on container_port only) and the shared service tasks group."
  default     = []

  validation {
    # AWS: at most 5 security groups per network interface (default quota); awsvpc gives each task one.
    condition     = alltrue([for id in var.security_group_ids : can(regex("^sg-[0-9a-f]+$", id))]) && length(var.security_group_ids) <= 3
    error_message = "Give at most 3 more security group IDs (sg-...): a task's network interface holds at most 5 groups, two of them its own and the shared service tasks group."
  }
}

variable "listener_arn" {
  type        = string
  description = "Load balancer listener the service's rule is added to."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:elasticloadbalancing:", var.listener_arn))
    error_message = "The listener_arn must be a load balancer listener ARN."
  }
}

variable "listener_rule_priority" {
  type        = number
  description = "Priority of the service's rule; unique on the listener."

  validation {
    condition     = var.listener_rule_priority >= 1 && var.listener_rule_priority <= 50000 && floor(var.listener_rule_priority) == var.listener_rule_priority
    error_message = "The listener_rule_priority must be a whole number from 1 to 50000."
  }
}

variable "path_patterns" {
  type        = list(string)
  description = "Paths routed to the service. Null routes /<name> and /<name>/*."
  default     = null

  validation {
    condition     = var.path_patterns == null || (length(coalesce(var.path_patterns, [])) >= 1 && length(coalesce(var.path_patterns, [])) <= 5)
    error_message = "Give 1 to 5 path patterns (a listener rule holds at most 5 values)."
  }
}

variable "host_headers" {
  type        = list(string)
  description = "Host names routed to the service, in addition to the paths."
  default     = []

  validation {
    condition     = length(var.host_headers) <= 5
    error_message = "Give at most 5 host headers."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days the container logs are kept."
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be a value CloudWatch Logs accepts, e.g. 7, 14, 30, 90, 365."
  }
}

variable "log_kms_key_arn" {
  type        = string
  description = "KMS key of the log group. Null uses CloudWatch's own encryption."
  default     = null

  validation {
    condition     = var.log_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.log_kms_key_arn))
    error_message = "The log_kms_key_arn must be a KMS key ARN (arn:aws:kms:...)."
  }
}

variable "execution_role_arn" {
  type        = string
  description = "Role ECS pulls the image and writes the container logs with, made by the workload-roles module (its task_execution_role_arn output)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.execution_role_arn))
    error_message = "The execution_role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/...)."
  }
}

variable "task_role_arn" {
  type        = string
  description = "Role the service's own code calls AWS with. Null: the code gets no AWS permissions."
  default     = null

  validation {
    condition     = var.task_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.task_role_arn))
    error_message = "The task_role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/...)."
  }
}

variable "enable_autoscaling" {
  type        = bool
  description = "Scale the number of tasks on average CPU. While on, desired_count is only the starting count: applies leave the running count to the scaler. Switching moves the service between two addresses (see the README)."
  default     = true
}

variable "autoscaling_min_capacity" {
  type        = number
  description = "Fewest tasks when autoscaling."
  default     = 1

  validation {
    condition     = var.autoscaling_min_capacity >= 0
    error_message = "The autoscaling_min_capacity must be at least 0."
  }
}

variable "autoscaling_max_capacity" {
  type        = number
  description = "Most tasks when autoscaling."
  default     = 4

  validation {
    condition     = var.autoscaling_max_capacity >= 1
    error_message = "The autoscaling_max_capacity must be at least 1."
  }
}

variable "autoscaling_cpu_target" {
  type        = number
  description = "Average CPU percent that autoscaling keeps the tasks at."
  default     = 60

  validation {
    condition     = var.autoscaling_cpu_target >= 1 && var.autoscaling_cpu_target <= 100
    error_message = "The autoscaling_cpu_target must be from 1 to 100."
  }
}

variable "health_check_grace_period_seconds" {
  type        = number
  description = "Seconds a new task may fail health checks while it starts."
  default     = 30

  validation {
    condition     = var.health_check_grace_period_seconds >= 0 && var.health_check_grace_period_seconds <= 2147483647
    error_message = "The health_check_grace_period_seconds must be at least 0."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
