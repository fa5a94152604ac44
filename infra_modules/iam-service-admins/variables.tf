variable "name_prefix" {
  type        = string
  description = "Prefix of every name: `<prefix>-<type>-admin` (policy, role, user), `<prefix>-<type>-state` (role), `<prefix>-<type>-admins` (group), `<prefix>-admin-boundary`, `<prefix>-portal-runner`."
  default     = "art-service"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,31}$", var.name_prefix))
    error_message = "The name_prefix must be 1 to 32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "path" {
  type        = string
  description = "IAM path of the administrators' users, groups, roles and policies (the boundary and the runner policy included)."
  default     = "/art-service/admins/"

  validation {
    condition     = can(regex("^/([A-Za-z0-9+=,.@_-]+/)*$", var.path)) && length(var.path) <= 512
    error_message = "The path must start and end with / (e.g. /art-service/admins/)."
  }
}

variable "administrators" {
  type = map(object({
    name_patterns = list(string)
  }))
  description = <<-EOT
    One administrator per AWS service type; the key is the type: ecs, ecr, s3, vpc, iam, logs, elb, autoscaling.
    "iam" is required: after the first bootstrap, the iam administrator runs this module.
    name_patterns is the type's scope: the names of the resources it may manage (1 to 10 per type,
    lowercase letters, digits and hyphens, optionally ending in one "*", e.g. "art-service-*").
  EOT

  validation {
    condition     = length(var.administrators) >= 1
    error_message = "Give at least one administrator."
  }

  validation {
    condition     = alltrue([for t in keys(var.administrators) : contains(["ecs", "ecr", "s3", "vpc", "iam", "logs", "elb", "autoscaling"], t)])
    error_message = "Each administrator's type must be one of: ecs, ecr, s3, vpc, iam, logs, elb, autoscaling."
  }

  validation {
    condition     = contains(keys(var.administrators), "iam")
    error_message = "The administrators must include \"iam\": the iam administrator runs this module after the first bootstrap."
  }

  validation {
    condition     = alltrue([for a in values(var.administrators) : length(a.name_patterns) >= 1 && length(a.name_patterns) <= 10])
    error_message = "Each administrator needs 1 to 10 name_patterns."
  }

  validation {
    condition     = alltrue(flatten([for a in values(var.administrators) : [for p in a.name_patterns : can(regex("^[a-z0-9][a-z0-9-]{0,62}\\*?$", p))]]))
    error_message = "Each name pattern must be 1 to 63 lowercase letters, digits or hyphens, starting with a letter or digit, optionally ending in one \"*\" (e.g. \"art-service-*\")."
  }
}

variable "state_bucket_name" {
  type        = string
  description = "The Terraform state bucket. The state roles read and write their keys in it; nobody bounded by this module may delete it, its policy or its object versions."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name)) && !can(regex("\\.\\.|^\\d+\\.\\d+\\.\\d+\\.\\d+$|^xn--|-s3alias$", var.state_bucket_name))
    error_message = "The state_bucket_name must be 3 to 63 lowercase letters, digits, '.' or '-', start and end with a letter or digit, and not look like an IP address."
  }
}

variable "state_key_prefixes" {
  type        = map(list(string))
  description = "Per type, the key prefixes (folders, ending in /) whose state objects the type's state role may read and write, e.g. { ecs = [\"ecs/clusters/\", \"ecs/services/\"], vpc = [\"vpc/\"] }. A type without an entry writes nothing."
  default     = {}

  validation {
    condition     = alltrue([for t in keys(var.state_key_prefixes) : contains(["ecs", "ecr", "s3", "vpc", "iam", "logs", "elb", "autoscaling"], t)])
    error_message = "Each key of state_key_prefixes must be a type: ecs, ecr, s3, vpc, iam, logs, elb, autoscaling."
  }

  validation {
    condition     = alltrue(flatten([for prefixes in values(var.state_key_prefixes) : [for p in prefixes : can(regex("^[a-z0-9][a-z0-9._/-]*/$", p))]]))
    error_message = "Each state key prefix must be lowercase letters, digits, '.', '_', '-' and '/', start with a letter or digit and end with '/' (e.g. \"ecs/services/\"); no '*'."
  }
}

variable "shared_state_keys" {
  type        = list(string)
  description = "Full state keys every state role may read (terraform_remote_state of the platform), e.g. \"vpc/art-service-network/terraform.tfstate\"."
  default     = []

  validation {
    condition     = alltrue([for k in var.shared_state_keys : endswith(k, "/terraform.tfstate") && !strcontains(k, "*") && !startswith(k, "/")])
    error_message = "Each shared state key must be a full key ending in \"/terraform.tfstate\", without '*' and without a leading '/'."
  }
}

variable "runner_principal_arns" {
  type        = list(string)
  description = "The portal's own principals (IAM users or roles): the only ones the admin and state roles trust. Attach runner_policy_arn to them."

  validation {
    condition     = length(var.runner_principal_arns) >= 1
    error_message = "Give at least one runner principal."
  }

  validation {
    # A role session (arn:aws:sts::...:assumed-role/...) would be trusted for that one session name,
    # and IAM refuses a role ARN without the role's path ("Invalid principal"): give the role's own
    # ARN, path included (IAM Identity Center: role/aws-reserved/sso.amazonaws.com/<region>/...).
    condition     = alltrue([for arn in var.runner_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(root|(user|role)/[A-Za-z0-9+=,.@_/-]+)$", arn))])
    error_message = "Each runner principal must be an IAM user or role ARN, the role's path included (arn:aws:iam::123456789012:role/portal, arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_...), never an assumed-role session (arn:aws:sts::...:assumed-role/...)."
  }
}

variable "workload_role_path" {
  type        = string
  description = "IAM path under which the iam administrator creates the roles workloads use (ECS task execution, ECS instances, VPC flow logs). The ecs and vpc administrators may pass only roles under it."
  default     = "/art-service/workloads/"

  validation {
    condition     = can(regex("^/([A-Za-z0-9+=,.@_-]+/)+$", var.workload_role_path)) && length(var.workload_role_path) <= 512
    error_message = "The workload_role_path must start and end with / and name at least one folder (e.g. /art-service/workloads/)."
  }
}

variable "emulator_wildcard_resources" {
  type        = bool
  description = <<-EOT
    For the moto emulator only. moto evaluates identity policies with the request's resource as "*"
    for every service except S3 (bucket and object ARNs) and IAM calls naming an existing role (the
    role's ARN), so an Allow statement scoped to resource ARNs never matches there. When true, the
    Allow statements of services other than S3 (except the IAM statements on existing roles) use
    Resource "*" instead of their scoped ARNs; Deny statements and the S3 and state statements stay
    exact. Conditions are unchanged (moto treats every condition as met). Keep false on AWS.
  EOT
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource that takes tags (groups take none)."
  default     = {}
}

variable "force_destroy" {
  type        = bool
  description = "When a user is destroyed, also delete access keys, login profiles, MFA devices and other credentials made by hand. Off: destroying a user that has them fails and names them, so nobody loses a credential by surprise."
  default     = false
}

variable "user_permissions_boundary" {
  type        = bool
  description = "Give the people's IAM users the boundary too. Off only on the moto emulator, which neither keeps a user's boundary nor implements PutUserPermissionsBoundary, so every plan would try to set it again."
  default     = true
}
