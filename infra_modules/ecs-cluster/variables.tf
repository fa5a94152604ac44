variable "name" {
  type        = string
  description = "Name of the cluster, its load balancer and (with suffixes) its other resources."

  validation {
    # The load balancer carries the name as is: AWS allows 32 characters, letters, digits and hyphens,
    # no hyphen at either end.
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$", var.name))
    error_message = "The name must be 1 to 32 lowercase letters, digits or hyphens, starting and ending with a letter or digit."
  }

  validation {
    # ALB names must not begin with "internal-"; capacity provider names ("<name>-ec2") must not begin
    # with "aws", "ecs" or "fargate".
    condition     = !can(regex("^(internal-|aws|ecs|fargate)", var.name))
    error_message = "The name must not begin with \"internal-\" (reserved by ELB) or \"aws\", \"ecs\", \"fargate\" (reserved for capacity providers)."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC of the cluster."

  validation {
    condition     = can(regex("^vpc-", var.vpc_id))
    error_message = "The vpc_id must be a VPC ID (vpc-...)."
  }
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Subnets of the instances, in at least 2 zones."

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "Give at least 2 private subnets, in different zones."
  }

  validation {
    condition     = alltrue([for id in var.private_subnet_ids : can(regex("^subnet-", id))])
    error_message = "The private_subnet_ids must be subnet IDs (subnet-...)."
  }
}

variable "public_subnet_ids" {
  type        = list(string)
  description = "Subnets of the load balancer, in at least 2 zones (an ALB refuses fewer)."

  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "Give at least 2 public subnets, in different zones: an ALB refuses fewer."
  }

  validation {
    condition     = alltrue([for id in var.public_subnet_ids : can(regex("^subnet-", id))])
    error_message = "The public_subnet_ids must be subnet IDs (subnet-...)."
  }
}

variable "instance_security_group_id" {
  type        = string
  description = "Security group of the instances (admits only the load balancer)."

  validation {
    condition     = can(regex("^sg-", var.instance_security_group_id))
    error_message = "The instance_security_group_id must be a security group ID (sg-...)."
  }
}

variable "alb_security_group_id" {
  type        = string
  description = "Security group of the load balancer."

  validation {
    condition     = can(regex("^sg-", var.alb_security_group_id))
    error_message = "The alb_security_group_id must be a security group ID (sg-...)."
  }
}

variable "instance_profile_arn" {
  type        = string
  description = "Instance profile of the container instances, made by the workload-roles module (its instance_profile_arn output): the ECS agent's and SSM Session Manager's permissions."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:instance-profile/", var.instance_profile_arn))
    error_message = "The instance_profile_arn must be an IAM instance profile ARN (arn:aws:iam::<account>:instance-profile/...)."
  }
}

variable "instance_type" {
  type        = string
  description = "EC2 instance type of the container instances."
  default     = "t3.small"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "The instance_type must look like an EC2 instance type, e.g. t3.small."
  }
}

variable "min_size" {
  type        = number
  description = "Fewest instances. min_size <= desired_capacity <= max_size."
  default     = 1

  validation {
    condition     = var.min_size >= 0 && floor(var.min_size) == var.min_size
    error_message = "The min_size must be a whole number of at least 0."
  }
}

variable "max_size" {
  type        = number
  description = "Most instances."
  default     = 3

  validation {
    condition     = var.max_size >= 1 && floor(var.max_size) == var.max_size
    error_message = "The max_size must be a whole number of at least 1."
  }
}

variable "desired_capacity" {
  type        = number
  description = "Instances to start with; managed scaling moves it afterwards."
  default     = 1

  validation {
    condition     = var.desired_capacity >= 0 && floor(var.desired_capacity) == var.desired_capacity
    error_message = "The desired_capacity must be a whole number of at least 0."
  }
}

variable "awsvpc_trunking" {
  type        = bool
  description = "Turn on ENI trunking (the awsvpcTrunking ECS account setting) as the default of the whole account in this region, so that instances of the types that support it hold many more awsvpc tasks (a c5.large: 10 instead of 2). Only instances launched after it is on get the trunk interface. Account-wide: destroying this module sets the default back to disabled."
  default     = false
  nullable    = false
}

variable "reserved_memory_mib" {
  type        = number
  description = "Memory (MiB) the ECS agent keeps from tasks for itself and the system (ECS_RESERVED_MEMORY): each instance registers its memory less this."
  default     = 256
  nullable    = false

  validation {
    # Reserving more than a small instance's memory would leave it nothing to register, and no task
    # would ever be placed on it.
    condition     = var.reserved_memory_mib >= 0 && var.reserved_memory_mib <= 4096 && floor(var.reserved_memory_mib) == var.reserved_memory_mib
    error_message = "The reserved_memory_mib must be a whole number of MiB from 0 to 4096."
  }
}

variable "ami_id" {
  type        = string
  description = "AMI of the instances. Null reads the ECS-optimized Amazon Linux 2023 AMI from the public SSM parameter."
  default     = null

  validation {
    condition     = var.ami_id == null || can(regex("^ami-[0-9a-f]{8,17}$", var.ami_id))
    error_message = "The ami_id must be an AMI ID (ami- followed by 8 to 17 hex digits)."
  }
}

variable "root_volume_size" {
  type        = number
  description = "Size of the encrypted root volume in GiB."
  default     = 30

  validation {
    # The ECS-optimized AL2023 AMI's snapshot is 30 GiB; a smaller volume fails at launch.
    condition     = var.root_volume_size >= 30 && var.root_volume_size <= 16384
    error_message = "The root_volume_size must be 30 to 16384 GiB (the ECS-optimized AMI needs 30)."
  }
}

variable "target_capacity_percent" {
  type        = number
  description = "How full managed scaling keeps the instances (100 = no spare room)."
  default     = 100

  validation {
    condition     = var.target_capacity_percent >= 1 && var.target_capacity_percent <= 100
    error_message = "The target_capacity_percent must be from 1 to 100."
  }
}

variable "instance_refresh_min_healthy_percentage" {
  type        = number
  description = "Share of the desired capacity that stays in service while an instance refresh replaces the instances (after a new AMI or launch template change). The refresh may launch replacements up to this plus 100 percent (at most 200) before it terminates old ones."
  default     = 90
  nullable    = false

  validation {
    # Below 50 a refresh could take most of the cluster's capacity away at once and the tasks would
    # have nowhere to run; AWS itself allows 0.
    condition     = var.instance_refresh_min_healthy_percentage >= 50 && var.instance_refresh_min_healthy_percentage <= 100 && floor(var.instance_refresh_min_healthy_percentage) == var.instance_refresh_min_healthy_percentage
    error_message = "The instance_refresh_min_healthy_percentage must be a whole number from 50 to 100: a refresh must not take the cluster's capacity away from its tasks."
  }
}

variable "instance_refresh_warmup_seconds" {
  type        = number
  description = "Seconds an instance refresh waits after a new instance is in service before it counts the instance healthy and moves on."
  default     = 300
  nullable    = false

  validation {
    condition     = var.instance_refresh_warmup_seconds >= 0 && floor(var.instance_refresh_warmup_seconds) == var.instance_refresh_warmup_seconds
    error_message = "The instance_refresh_warmup_seconds must be a whole number of at least 0."
  }
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate for an HTTPS listener. With it, HTTP redirects to HTTPS."
  default     = null

  validation {
    condition     = var.certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "The certificate_arn must be an ACM certificate ARN (arn:aws:acm:...)."
  }
}

variable "ssl_policy" {
  type        = string
  description = "TLS policy of the HTTPS listener (an ELBSecurityPolicy-* name)."
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"

  validation {
    condition     = can(regex("^ELBSecurityPolicy-[A-Za-z0-9-]+$", var.ssl_policy))
    error_message = "The ssl_policy must be an ELB security policy name, e.g. ELBSecurityPolicy-TLS13-1-2-2021-06."
  }
}

variable "access_logs_bucket" {
  type        = string
  description = "S3 bucket for the load balancer's access logs (its policy must let ELB write). Null leaves access logs off."
  default     = null

  validation {
    condition     = var.access_logs_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_logs_bucket))
    error_message = "The access_logs_bucket must be an S3 bucket name (3 to 63 lowercase letters, digits, dots or hyphens)."
  }
}

variable "internal" {
  type        = bool
  description = "An internal load balancer: in the private subnets, with private addresses only, reachable from the VPC and what is connected to it (and only from the ranges the network's alb_ingress_cidrs admit)."
  default     = false
  nullable    = false
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the load balancer from deletion. Set false where the stack is destroyed routinely (tests, emulator)."
  default     = true
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
