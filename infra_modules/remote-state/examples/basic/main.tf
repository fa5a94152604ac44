provider "aws" {
  region = "eu-west-1"
}

module "state" {
  source = "../.."

  bucket_name = "art-service-terraform-state"
}

output "bucket_name" {
  value = module.state.bucket_name
}
