# Rendered by the portal; values come from terraform.tfvars.json only.
variable "name" {
  type        = string
  description = "Name of the ECS service and its resources."
}

variable "repository_name" {
  type        = string
  description = "The service's ECR repository."
}

variable "image_tag" {
  type        = string
  description = "Image tag to run."
}

variable "container_port" {
  type        = number
  description = "Port the container listens on."
}

variable "cpu" {
  type        = number
  description = "CPU units of the task."
}

variable "memory" {
  type        = number
  description = "Memory of the task in MiB."
}

variable "desired_count" {
  type        = number
  description = "Tasks to run."
}

variable "health_check_path" {
  type        = string
  description = "Path the load balancer checks."
}

variable "listener_rule_priority" {
  type        = number
  description = "Priority of the service's rule on the shared listener."
}

variable "use_capacity_provider" {
  type        = bool
  description = "Place tasks with the cluster's capacity provider (else the EC2 launch type)."
}

variable "health_check_grace_period_seconds" {
  type        = number
  description = "Seconds a new task may fail health checks."
}

variable "enable_autoscaling" {
  type        = bool
  description = "Scale the service on CPU."
}

variable "secrets" {
  type        = map(string)
  description = "Container variable name => Secrets Manager secret or SSM parameter ARN, read when a task starts."
}

variable "keep_load_balancer_egress_rule" {
  type        = bool
  description = "Keep the service's own egress rule on the load balancer's group while its tasks move into the shared service tasks group (its first apply since that group exists)."
  # Inputs recorded before this input existed (a drift check renders a service's last applied ones)
  # leave it out; a drift check counts only what changed in AWS outside the portal, whatever it plans.
  default = false
}

variable "workload_role_path" {
  type        = string
  description = "IAM path of the workload roles; a service with secrets runs with its own execution role there."
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

variable "cluster_state_key" {
  type        = string
  description = "State key of the cluster workspace."
}

variable "roles_state_key" {
  type        = string
  description = "State key of the workload roles workspace."
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

data "terraform_remote_state" "cluster" {
  backend = "s3"
  config = {
    bucket         = var.state.bucket
    region         = var.state.region
    use_path_style = var.state.use_path_style
    assume_role    = local.remote_state_assume_role
    key            = var.cluster_state_key
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

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  # Computed rather than read from the repository workspace, so that a new service's two
  # workspaces can be planned together before the repository exists.
  image = "${data.aws_caller_identity.current.account_id}.dkr.ecr.${data.aws_region.current.name}.amazonaws.com/${var.repository_name}:${var.image_tag}"

  # A service with secrets runs with an execution role of its own, granted exactly its secrets by
  # the workload roles workspace (iam), which the same change applies first. Computed, like the
  # image, so that both plans are made together.
  own_execution_role_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role${var.workload_role_path}${var.name}-execution"
  execution_role_arn     = length(var.secrets) == 0 ? data.terraform_remote_state.roles.outputs.task_execution_role_arn : local.own_execution_role_arn
}

# Said in the plan when the grant and the declaration differ (the roles change not applied yet).
check "secrets_are_granted" {
  assert {
    condition = length(var.secrets) == 0 || (
      jsonencode(sort(distinct(values(var.secrets)))) == jsonencode(try(data.terraform_remote_state.roles.outputs.service_secret_arns[var.name], []))
    )
    error_message = "The execution role of this service is not yet granted exactly its secrets: the workload roles workspace must apply first (the same change does it, in order)."
  }
}

module "this" {
  source = "$module_source"

  name                   = var.name
  cluster_arn            = data.terraform_remote_state.cluster.outputs.cluster_arn
  capacity_provider_name = var.use_capacity_provider ? data.terraform_remote_state.cluster.outputs.capacity_provider_name : null
  image                  = local.image
  container_port         = var.container_port
  cpu                    = var.cpu
  memory                 = var.memory
  desired_count          = var.desired_count
  health_check_path      = var.health_check_path
  vpc_id                 = data.terraform_remote_state.network.outputs.vpc_id
  subnet_ids             = data.terraform_remote_state.network.outputs.private_subnet_ids
  alb_security_group_id  = data.terraform_remote_state.network.outputs.alb_security_group_id
  # Null until the network workspace has applied the version that makes it: the module says so.
  service_tasks_security_group_id = try(data.terraform_remote_state.network.outputs.service_tasks_security_group_id, null)
  keep_load_balancer_egress_rule  = var.keep_load_balancer_egress_rule
  secrets                         = var.secrets
  listener_arn                    = data.terraform_remote_state.cluster.outputs.listener_arn
  listener_rule_priority          = var.listener_rule_priority
  enable_autoscaling              = var.enable_autoscaling
  execution_role_arn              = local.execution_role_arn

  health_check_grace_period_seconds = var.health_check_grace_period_seconds
}

output "url" {
  description = "Where the load balancer routes to the service."
  # A cluster applied before base_url existed served plain HTTP.
  value = "${try(data.terraform_remote_state.cluster.outputs.base_url, "http://${data.terraform_remote_state.cluster.outputs.alb_dns_name}")}${trimsuffix(module.this.path_patterns[0], "/*")}/"
}

output "target_group_arn" {
  description = "The service's target group."
  value       = module.this.target_group_arn
}

output "service_name" {
  description = "The ECS service."
  value       = module.this.service_name
}
