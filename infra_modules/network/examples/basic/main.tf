provider "aws" {
  region = "eu-west-1"
}

module "network" {
  source = "../.."

  name             = "art-service"
  nat_mode         = "single"
  enable_flow_logs = true
}

output "private_subnet_ids" {
  value = module.network.private_subnet_ids
}
