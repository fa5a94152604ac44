provider "aws" {
  region = "eu-west-1"
}

module "network" {
  source = "../../../network"

  name = "art-service"
}

# In the portal this is the iam administrator's own workspace; the cluster's administrator may pass
# the instance role but not create it.
module "workload_roles" {
  source = "../../../workload-roles"

  permissions_boundary_arn = "arn:aws:iam::123456789012:policy/art-service-workload-boundary"
  flow_logs                = false
}

module "cluster" {
  source = "../.."

  name                       = "art-service"
  vpc_id                     = module.network.vpc_id
  private_subnet_ids         = module.network.private_subnet_ids
  public_subnet_ids          = module.network.public_subnet_ids
  instance_security_group_id = module.network.instance_security_group_id
  alb_security_group_id      = module.network.alb_security_group_id
  instance_profile_arn       = module.workload_roles.instance_profile_arn
}

output "alb_dns_name" {
  value = module.cluster.alb_dns_name
}
