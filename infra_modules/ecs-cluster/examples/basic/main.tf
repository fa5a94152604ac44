provider "aws" {
  region = "eu-west-1"
}

module "network" {
  source = "../../../network"

  name = "art-service"
}

module "cluster" {
  source = "../.."

  name                       = "art-service"
  vpc_id                     = module.network.vpc_id
  private_subnet_ids         = module.network.private_subnet_ids
  public_subnet_ids          = module.network.public_subnet_ids
  instance_security_group_id = module.network.instance_security_group_id
  alb_security_group_id      = module.network.alb_security_group_id
}

output "alb_dns_name" {
  value = module.cluster.alb_dns_name
}
