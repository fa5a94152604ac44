# Rendered by the portal into every workspace. The AWS provider acts as the workspace's type
# administrator (an assumed role); terraform_remote_state reads with the type's state role.
variable "portal_identity" {
  type = object({
    role_arn             = string
    session_name         = string
    state_role_arn       = string
    state_session_policy = string
  })
  description = "The roles this run acts with. Null only in the one-time bootstrap, which acts with the portal's own credentials."
  default     = null
}

provider "aws" {
  default_tags {
    tags = var.default_tags
  }

  dynamic "assume_role" {
    for_each = var.portal_identity == null ? [] : [var.portal_identity]
    content {
      role_arn     = assume_role.value.role_arn
      session_name = assume_role.value.session_name
    }
  }
}

locals {
  # The state role, narrowed by the run's session policy to reading what it may read.
  remote_state_assume_role = var.portal_identity == null ? null : {
    role_arn     = var.portal_identity.state_role_arn
    session_name = var.portal_identity.session_name
    policy       = var.portal_identity.state_session_policy
  }
}
