# Rendered by the portal; values come from terraform.tfvars.json only.
variable "name" {
  type        = string
  description = "Name of the cluster and its load balancer."
}

variable "state" {
  type = object({
    bucket         = string
    region         = string
    use_path_style = bool
  })
  description = "Where the platform's state is read from."
}

variable "network_state_key" {
  type        = string
  description = "State key of the network workspace."
}

variable "roles_state_key" {
  type        = string
  description = "State key of the workload roles workspace."
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the load balancer from deletion."
}

variable "instance_refresh_min_healthy_percentage" {
  type        = number
  description = "Share of the instances kept in service while a new launch template rolls through."
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate of the HTTPS listener; null serves plain HTTP."
}

variable "internal" {
  type        = bool
  description = "An internal load balancer, in the private subnets."
}

variable "access_logs_bucket" {
  type        = string
  description = "Bucket of the load balancer's access logs; null leaves them off."
}

variable "instance_type" {
  type        = string
  description = "EC2 instance type of the container instances (a platform setting, see portal.capacity)."
}

variable "min_size" {
  type        = number
  description = "Fewest instances."
}

variable "max_size" {
  type        = number
  description = "Most instances: the room the portal counts services against."
}

variable "desired_capacity" {
  type        = number
  description = "Instances to start with; managed scaling moves it afterwards."
}

variable "awsvpc_trunking" {
  type        = bool
  description = "ENI trunking as the account's default (account-wide)."
}

variable "default_tags" {
  type        = map(string)
  description = "Tags on every resource of this workspace."
}

data "terraform_remote_state" "network" {
  backend = "s3"
  config = {
    bucket         = var.state.bucket
    region         = var.state.region
    use_path_style = var.state.use_path_style
    assume_role    = local.remote_state_assume_role
    key            = var.network_state_key
  }
}

data "terraform_remote_state" "roles" {
  backend = "s3"
  config = {
    bucket         = var.state.bucket
    region         = var.state.region
    use_path_style = var.state.use_path_style
    assume_role    = local.remote_state_assume_role
    key            = var.roles_state_key
  }
}

module "this" {
  source = "$module_source"

  name                       = var.name
  vpc_id                     = data.terraform_remote_state.network.outputs.vpc_id
  public_subnet_ids          = data.terraform_remote_state.network.outputs.public_subnet_ids
  private_subnet_ids         = data.terraform_remote_state.network.outputs.private_subnet_ids
  alb_security_group_id      = data.terraform_remote_state.network.outputs.alb_security_group_id
  instance_security_group_id = data.terraform_remote_state.network.outputs.instance_security_group_id
  deletion_protection        = var.deletion_protection
  instance_profile_arn       = data.terraform_remote_state.roles.outputs.instance_profile_arn
  certificate_arn            = var.certificate_arn
  internal                   = var.internal
  access_logs_bucket         = var.access_logs_bucket

  instance_refresh_min_healthy_percentage = var.instance_refresh_min_healthy_percentage

  instance_type    = var.instance_type
  min_size         = var.min_size
  max_size         = var.max_size
  desired_capacity = var.desired_capacity
  awsvpc_trunking  = var.awsvpc_trunking
}

# Read by the service workspaces through terraform_remote_state.
output "cluster_arn" {
  description = "The ECS cluster."
  value       = module.this.cluster_arn
}

output "capacity_provider_name" {
  description = "Capacity provider services place their tasks with."
  value       = module.this.capacity_provider_name
}

output "listener_arn" {
  description = "Listener that services attach their rules to."
  value       = module.this.listener_arn
}

output "alb_dns_name" {
  description = "DNS name of the load balancer."
  value       = module.this.alb_dns_name
}

output "base_url" {
  description = "Where the load balancer answers: https:// with a certificate, http:// without."
  value       = module.this.base_url
}
