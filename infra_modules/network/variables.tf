variable "name" {
  type        = string
  description = "Name of the network; prefixes every resource's Name tag."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,31}$", var.name))
    error_message = "The name must be 1 to 32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "cidr_block" {
  type        = string
  description = "IPv4 range of the VPC. Subnets are carved from it: /24s for a /16."
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.cidr_block)) && tonumber(split("/", var.cidr_block)[1]) >= 16 && tonumber(split("/", var.cidr_block)[1]) <= 20
    error_message = "The cidr_block must be an IPv4 CIDR from /16 to /20 (AWS allows /16 at most; smaller than /20 leaves no room for subnets)."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Availability zones of the subnets. Null takes the first az_count zones of the region."
  default     = null

  validation {
    # An application load balancer refuses subnets that are all in one zone.
    condition     = var.availability_zones == null || length(distinct(coalesce(var.availability_zones, []))) >= 2
    error_message = "Give at least 2 distinct availability zones: a load balancer needs subnets in 2 zones."
  }
}

variable "az_count" {
  type        = number
  description = "How many zones to use when availability_zones is null."
  default     = 2

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 6 && floor(var.az_count) == var.az_count
    error_message = "The az_count must be a whole number from 2 to 6: a load balancer needs subnets in 2 zones."
  }
}

variable "nat_mode" {
  type        = string
  description = "Outbound internet for private subnets: none, single (one NAT gateway) or per_az (one per zone, survives a zone outage)."
  default     = "single"

  validation {
    condition     = contains(["none", "single", "per_az"], var.nat_mode)
    error_message = "The nat_mode must be one of: none, single, per_az."
  }
}

variable "alb_ingress_cidrs" {
  type        = list(string)
  description = "IPv4 ranges allowed to reach the load balancer on 80 and 443."
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for cidr in var.alb_ingress_cidrs : can(cidrnetmask(cidr))])
    error_message = "Every alb_ingress_cidrs entry must be an IPv4 CIDR such as 203.0.113.0/24."
  }

  validation {
    condition     = length(distinct(var.alb_ingress_cidrs)) == length(var.alb_ingress_cidrs)
    error_message = "Each alb_ingress_cidrs range must be given once (each makes its own rules)."
  }
}

variable "security_group_rules_quota" {
  type        = number
  description = "Inbound rules (and, apart, outbound rules) a security group may hold in this account and region: AWS's default quota is 60. Give the raised value only once AWS has raised it; the load balancer's inbound rules are checked against it before anything is applied."
  default     = 60

  validation {
    # AWS: rules per group x groups per network interface may not exceed 1,000, at 5 groups at least.
    condition     = var.security_group_rules_quota >= 1 && var.security_group_rules_quota <= 200 && floor(var.security_group_rules_quota) == var.security_group_rules_quota
    error_message = "The security_group_rules_quota must be a whole number from 1 to 200 (AWS allows at most 1,000 rules over an interface's 5 security groups)."
  }
}

variable "enable_flow_logs" {
  type        = bool
  description = "Send the VPC's flow logs to CloudWatch Logs, written with flow_logs_role_arn (which is then required)."
  default     = false
}

variable "flow_logs_role_arn" {
  type        = string
  description = "The role VPC Flow Logs write with, made by the workload-roles module (its flow_logs_role_arn output). Required when enable_flow_logs is true; ignored otherwise."
  default     = null

  validation {
    condition     = var.flow_logs_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.flow_logs_role_arn))
    error_message = "The flow_logs_role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/...)."
  }

  validation {
    # Refers to another variable, which needs Terraform 1.9 (see versions.tf). The vpc administrator
    # may not create IAM roles, so the module cannot make one when none is given.
    condition     = !var.enable_flow_logs || var.flow_logs_role_arn != null
    error_message = "enable_flow_logs is true but flow_logs_role_arn is not set: give the role made by the workload-roles module (its flow_logs_role_arn output), or turn flow logs off."
  }
}

variable "flow_log_retention_days" {
  type        = number
  description = "Days the flow logs are kept."
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "The flow_log_retention_days must be a value CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "flow_log_kms_key_arn" {
  type        = string
  description = "KMS key that encrypts the flow log group. Null uses CloudWatch's own encryption."
  default     = null

  validation {
    condition     = var.flow_log_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.flow_log_kms_key_arn))
    error_message = "The flow_log_kms_key_arn must be a KMS key ARN (arn:aws:kms:...)."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
