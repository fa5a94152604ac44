output "users" {
  description = "Administrator per service type: name and ARN."
  value       = { for type, user in aws_iam_user.this : type => { name = user.name, arn = user.arn } }
}

output "group_names" {
  description = "Group per service type that carries its policy."
  value       = { for type, group in aws_iam_group.this : type => group.name }
}

output "policy_arns" {
  description = "Policy per service type."
  value       = { for type, policy in aws_iam_policy.this : type => policy.arn }
}
