provider "aws" {
  region = "eu-west-1"
}

module "admins" {
  source = "../.."

  service_types    = ["ecs", "ecr", "s3", "vpc", "iam"]
  state_bucket_arn = "arn:aws:s3:::art-service-terraform-state"
}

output "users" {
  value = module.admins.users
}
