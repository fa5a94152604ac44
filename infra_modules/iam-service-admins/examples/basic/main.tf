provider "aws" {
  region = "eu-west-1"
}

# Applied once by the bootstrap identity (the portal's own credentials, before any role exists), then
# by the iam administrator it makes.
module "admins" {
  source = "../.."

  administrators = {
    # The platform's cluster, load balancer and network are named exactly "art-service".
    ecs = { name_patterns = ["art-service*"] }
    ecr = { name_patterns = ["art-service-*"] }
    s3  = { name_patterns = ["art-service-*"] }
    vpc = { name_patterns = ["art-service*"] }
    iam = { name_patterns = ["art-service-*"] }
  }

  state_bucket_name = "art-service-terraform-state"
  state_key_prefixes = {
    ecs = ["ecs/clusters/", "ecs/services/"]
    ecr = ["ecs/ecr-repositories/"]
    s3  = ["s3/"]
    vpc = ["vpc/"]
    iam = ["iam/"]
  }
  shared_state_keys = [
    "iam/workload-roles/art-service/terraform.tfstate",
    "vpc/art-service-network/terraform.tfstate",
    "ecs/clusters/art-service-cluster/terraform.tfstate",
  ]

  runner_principal_arns = ["arn:aws:iam::123456789012:role/infra-portal"]
}

output "administrators" {
  value = module.admins.administrators
}

# Attach this to the portal's own principal (arn:aws:iam::123456789012:role/infra-portal).
output "runner_policy_arn" {
  value = module.admins.runner_policy_arn
}

output "boundary_policy_arn" {
  value = module.admins.boundary_policy_arn
}
