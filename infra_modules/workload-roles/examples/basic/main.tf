provider "aws" {
  region = "eu-west-1"
}

# Applied by the iam administrator, in a workspace of its own.
module "workload_roles" {
  source = "../.."

  permissions_boundary_arn = "arn:aws:iam::123456789012:policy/art-service-workload-boundary"
}

output "task_execution_role_arn" {
  value = module.workload_roles.task_execution_role_arn
}

output "instance_profile_arn" {
  value = module.workload_roles.instance_profile_arn
}

output "flow_logs_role_arn" {
  value = module.workload_roles.flow_logs_role_arn
}
