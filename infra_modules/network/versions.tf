terraform {
  # 1.9: the validation of flow_logs_role_arn refers to enable_flow_logs.
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 6.0"
    }
  }
}
