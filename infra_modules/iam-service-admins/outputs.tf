output "administrators" {
  description = "Per type: its user and group (people), its role (the AWS provider of the type's workspaces), its state role (their S3 backend), its policy and its name patterns."
  value = {
    for t in local.types : t => {
      user_name       = aws_iam_user.this[t].name
      user_arn        = aws_iam_user.this[t].arn
      group_name      = aws_iam_group.this[t].name
      role_arn        = aws_iam_role.admin[t].arn
      state_role_arn  = aws_iam_role.state[t].arn
      policy_arn      = aws_iam_policy.admin[t].arn
      base_policy_arn = aws_iam_policy.base[t].arn
      name_patterns   = var.administrators[t].name_patterns
    }
  }
}

output "policy_documents" {
  description = "Per type: everything the administrator may do, as one document (JSON; its two managed policies together)."
  value       = local.whole_policies
}

output "managed_policy_documents" {
  description = "Per type: its two managed policies as IAM holds them (JSON): `named`, what its name patterns scope and the denies; `base`, the rest."
  value       = { for t in local.types : t => { named = local.admin_policies[t], base = local.base_policies[t] } }
}

output "state_policy_documents" {
  description = "Per type: the state role's policy (JSON)."
  value       = local.state_policies
}

output "boundary_policy_arn" {
  description = "The permissions boundary of every administrator, state role and administrator user. The iam administrator may create roles and users under the administrators' path only with it."
  value       = aws_iam_policy.boundary.arn
}

output "workload_boundary_policy_arn" {
  description = "The permissions boundary of the workloads' roles (the workload-roles module's permissions_boundary_arn). The iam administrator may create roles under workload_role_path only with it."
  value       = aws_iam_policy.workload_boundary.arn
}

output "workload_boundary_policy_document" {
  description = "The workloads' permissions boundary (JSON)."
  value       = local.workload_boundary_policy
}

output "boundary_policy_document" {
  description = "The permissions boundary (JSON)."
  value       = local.boundary_policy
}

output "runner_policy_arn" {
  description = "Attach to the portal's own principal: it may assume the admin and state roles, and nothing else."
  value       = aws_iam_policy.runner.arn
}

output "users" {
  description = "Administrator per service type: name and ARN."
  value       = { for type, user in aws_iam_user.this : type => { name = user.name, arn = user.arn } }
}
