output "task_execution_role_arn" {
  description = "Role ECS pulls images and writes logs with (the ecs-service module's execution_role_arn)."
  value       = aws_iam_role.task_execution.arn
}

output "instance_role_arn" {
  description = "Role of the ECS container instances."
  value       = aws_iam_role.instance.arn
}

output "instance_profile_arn" {
  description = "Instance profile of the ECS container instances (the ecs-cluster module's instance_profile_arn)."
  value       = aws_iam_instance_profile.instance.arn
}

output "instance_profile_name" {
  description = "Name of the instance profile of the ECS container instances."
  value       = aws_iam_instance_profile.instance.name
}

output "flow_logs_role_arn" {
  description = "Role VPC Flow Logs write with (the network module's flow_logs_role_arn); null when flow_logs is false."
  value       = one(aws_iam_role.flow_logs[*].arn)
}

output "service_execution_role_arns" {
  description = "ECS service name => its own execution role, for the services given secrets in service_secrets."
  value       = { for service, role in aws_iam_role.service_execution : service => role.arn }
}

output "service_secret_arns" {
  description = "ECS service name => the sorted ARNs its execution role may read: what each service's plan checks its declared secrets against."
  value       = { for service, grant in local.service_secrets : service => sort(concat(grant.secrets, grant.parameters)) }
}
