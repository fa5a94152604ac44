variable "bucket_name" {
  type        = string
  description = "Name of the S3 bucket that holds every workspace's Terraform state."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) && !can(regex("\\.\\.|^\\d+\\.\\d+\\.\\d+\\.\\d+$|^xn--|-s3alias$", var.bucket_name))
    error_message = "The bucket_name must be 3 to 63 lowercase letters, digits, '.' or '-', start and end with a letter or digit, and not look like an IP address."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key that encrypts state objects. Null uses the AWS managed key for S3 (aws/s3)."
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "The kms_key_arn must be a KMS key ARN (arn:aws:kms:...)."
  }
}

variable "noncurrent_version_retention_days" {
  type        = number
  description = "Days an overwritten state version is kept, to recover from a bad apply."
  default     = 90

  validation {
    condition     = var.noncurrent_version_retention_days >= 1 && floor(var.noncurrent_version_retention_days) == var.noncurrent_version_retention_days
    error_message = "The noncurrent_version_retention_days value must be a whole number of at least 1."
  }
}

variable "require_tls" {
  type        = bool
  description = "Deny every request to the bucket that does not use TLS. Only an endpoint that speaks plain HTTP (a local emulator) needs false."
  default     = true
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
