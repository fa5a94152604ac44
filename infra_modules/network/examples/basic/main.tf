provider "aws" {
  region = "eu-west-1"
}

module "network" {
  source = "../.."

  name             = "art-service"
  nat_mode         = "single"
  enable_flow_logs = true
  # Made by the workload-roles module, in the iam administrator's workspace.
  flow_logs_role_arn = "arn:aws:iam::123456789012:role/art-service/workloads/art-service-vpc-flow-logs"
}

output "private_subnet_ids" {
  value = module.network.private_subnet_ids
}
