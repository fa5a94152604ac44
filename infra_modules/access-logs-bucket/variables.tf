variable "bucket_name" {
  type        = string
  description = "Name of the bucket the load balancer writes its access logs to. S3 bucket names are global: the portal names it `<prefix>-<account>-<region>-lb-logs`."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) && !can(regex("\\.\\.|^\\d+\\.\\d+\\.\\d+\\.\\d+$|^xn--|-s3alias$", var.bucket_name))
    error_message = "The bucket_name must be 3 to 63 lowercase letters, digits, '.' or '-', start and end with a letter or digit, and not look like an IP address (with a long name prefix, shorten the prefix)."
  }
}

variable "log_prefixes" {
  type        = list(string)
  description = "The prefixes load balancers write under (each load balancer's access_logs prefix, its name in the ecs-cluster module). Each may write only `<prefix>/AWSLogs/<this account>/`."

  validation {
    condition     = length(var.log_prefixes) >= 1 && alltrue([for p in var.log_prefixes : can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", p)) && !strcontains(p, "AWSLogs")])
    error_message = "Give 1 or more prefixes of letters, digits, '.', '_' or '-' (no '/', and not containing AWSLogs, which ELB adds itself)."
  }
}

variable "retention_days" {
  type        = number
  description = "Days access logs are kept before they expire."
  default     = 90

  validation {
    condition     = var.retention_days >= 1 && var.retention_days <= 3650 && floor(var.retention_days) == var.retention_days
    error_message = "The retention_days must be a whole number from 1 to 3650."
  }
}

variable "require_tls" {
  type        = bool
  description = "Deny every request to the bucket that does not use TLS. Only an endpoint that speaks plain HTTP (a local emulator) needs false."
  default     = true
}

variable "force_destroy" {
  type        = bool
  description = "Delete the logs with the bucket when it is destroyed. Off, destroying a bucket that holds logs fails, so nobody loses them by surprise."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
