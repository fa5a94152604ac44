output "service_name" {
  description = "Name of the ECS service."
  value       = local.service.name
}

output "service_arn" {
  description = "ARN of the ECS service."
  value       = local.service.id
}

output "task_definition_arn" {
  description = "ARN of the task definition revision the service runs."
  value       = aws_ecs_task_definition.this.arn
}

output "target_group_arn" {
  description = "ARN of the service's target group."
  value       = aws_lb_target_group.this.arn
}

output "target_group_name" {
  description = "Name of the service's target group (at most 32 characters)."
  value       = aws_lb_target_group.this.name
}

output "listener_rule_arn" {
  description = "ARN of the listener rule routing to the service."
  value       = aws_lb_listener_rule.this.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the containers."
  value       = aws_cloudwatch_log_group.this.name
}

output "execution_role_arn" {
  description = "Role ECS pulls the image and writes logs with (the execution_role_arn given)."
  value       = aws_ecs_task_definition.this.execution_role_arn
}

output "task_role_arn" {
  description = "Role the service's code runs with (the task_role_arn given); null: no AWS permissions."
  value       = aws_ecs_task_definition.this.task_role_arn
}

output "path_patterns" {
  description = "Paths routed to the service."
  value       = local.path_patterns
}

output "security_group_id" {
  description = "The tasks' own security group: admits the load balancer on the container port only."
  value       = aws_security_group.tasks.id
}

output "secret_arns" {
  description = "Secrets Manager secrets and SSM parameters the container reads (what its execution role must be granted)."
  value       = sort(distinct(values(var.secrets)))
}
