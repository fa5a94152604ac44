data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id

  # The ECS agent's permissions, and SSM Session Manager in place of SSH. Keys are fixed so that the
  # attachments' addresses are known before the partition is read.
  instance_policies = {
    ecs = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
    ssm = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
  }

  # Confused deputy: ECS may assume the execution roles only for tasks of this account.
  task_execution_policy = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
  ecs_tasks_trust_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EcsTasksOfThisAccount"
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })

  # The network module names its log group /vpc/<name>/flow-logs; a network named <prefix>... fits.
  flow_log_groups = "arn:${local.partition}:logs:*:${local.account_id}:log-group:/vpc/${var.name_prefix}*"
}

# Used by ECS to pull images and write logs, for every service.
resource "aws_iam_role" "task_execution" {
  name                 = "${var.name_prefix}-ecs-task-execution"
  path                 = var.path
  description          = "ECS pulls images and writes container logs with this role, for every ${var.name_prefix} service."
  permissions_boundary = var.permissions_boundary_arn

  assume_role_policy = local.ecs_tasks_trust_policy

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "task_execution" {
  role       = aws_iam_role.task_execution.name
  policy_arn = local.task_execution_policy
}

# Role of the ECS container instances.
resource "aws_iam_role" "instance" {
  name                 = "${var.name_prefix}-ecs-instance"
  path                 = var.path
  description          = "ECS container instances of ${var.name_prefix}: the ECS agent and SSM Session Manager."
  permissions_boundary = var.permissions_boundary_arn

  # No aws:SourceAccount condition: EC2 does not send it when an instance profile's role is assumed,
  # and such a condition would lock every instance out. Who may hand the role to an instance is
  # governed by iam:PassRole instead.
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "Ec2Instances"
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "instance" {
  for_each = local.instance_policies

  role       = aws_iam_role.instance.name
  policy_arn = each.value
}

resource "aws_iam_instance_profile" "instance" {
  name = "${var.name_prefix}-ecs-instance"
  path = var.path
  role = aws_iam_role.instance.name
  tags = var.tags
}

# VPC Flow Logs write to CloudWatch Logs with this role.
resource "aws_iam_role" "flow_logs" {
  count = var.flow_logs ? 1 : 0

  name                 = "${var.name_prefix}-vpc-flow-logs"
  path                 = var.path
  description          = "VPC Flow Logs of ${var.name_prefix} networks write to their log groups (/vpc/${var.name_prefix}*) with this role."
  permissions_boundary = var.permissions_boundary_arn

  # Confused deputy: only flow logs of this account may assume the role.
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "FlowLogsOfThisAccount"
      Effect    = "Allow"
      Principal = { Service = "vpc-flow-logs.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account_id }
        ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:ec2:*:${local.account_id}:vpc-flow-log/*" }
      }
    }]
  })

  tags = var.tags
}

resource "aws_iam_role_policy" "flow_logs" {
  count = var.flow_logs ? 1 : 0

  name = "write-flow-logs"
  role = aws_iam_role.flow_logs[0].name

  # The log groups are made by the network module, so no logs:CreateLogGroup.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "WriteVpcFlowLogs"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
      Resource = [local.flow_log_groups, "${local.flow_log_groups}:*"]
    }]
  })
}

# Services with secrets: an execution role each, granted exactly that service's secrets and SSM
# parameters, so that no service's tasks can be started with another service's secrets. The shared
# task_execution role above reads none.
locals {
  service_secrets = {
    for service, arns in var.service_secrets : service => {
      secrets    = sort([for arn in distinct(arns) : arn if can(regex("^arn:[^:]+:secretsmanager:", arn))])
      parameters = sort([for arn in distinct(arns) : arn if can(regex("^arn:[^:]+:ssm:", arn))])
    }
  }

  # A secret's own ARN ends in "-" and six random characters that Secrets Manager adds; a task
  # definition may name it without them, and IAM then compares the policy with the whole ARN. So each
  # secret is granted as given and with that suffix, the form AWS documents for naming a secret by
  # name ("Permissions policy examples", "Finding a secret from a partial ARN"): still one secret.
  secret_grants = {
    for service, grant in local.service_secrets : service => sort(flatten([for arn in grant.secrets : [arn, "${arn}-??????"]]))
  }
}

resource "aws_iam_role" "service_execution" {
  for_each = local.service_secrets

  name                 = "${each.key}-execution"
  path                 = var.path
  description          = "ECS pulls images, writes container logs and reads the secrets of ${each.key} with this role."
  permissions_boundary = var.permissions_boundary_arn

  assume_role_policy = local.ecs_tasks_trust_policy

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "service_execution" {
  for_each = local.service_secrets

  role       = aws_iam_role.service_execution[each.key].name
  policy_arn = local.task_execution_policy
}

# Exactly the ARNs given (a secret's also with its random suffix): no other wildcard, no prefix.
# A secret or parameter under a customer managed KMS key is decrypted by its service on this role's
# behalf, with the secret's or parameter's ARN in the encryption context, so the grant names them
# and no key; the key's own policy must still let the account's IAM policies allow its use (the
# default key policy does).
resource "aws_iam_role_policy" "service_secrets" {
  for_each = local.service_secrets

  name = "read-own-secrets"
  role = aws_iam_role.service_execution[each.key].name

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [for s in [
        {
          Sid      = "ReadOwnSecrets"
          Effect   = "Allow"
          Action   = ["secretsmanager:GetSecretValue"]
          Resource = local.secret_grants[each.key]
        },
        {
          # Secrets Manager's encryption context carries the secret's ARN ("How Secrets Manager
          # uses AWS KMS", Encryption context).
          Sid       = "DecryptOwnSecrets"
          Effect    = "Allow"
          Action    = ["kms:Decrypt"]
          Resource  = ["arn:${local.partition}:kms:*:${local.account_id}:key/*"]
          Condition = { StringLike = { "kms:EncryptionContext:SecretARN" = local.secret_grants[each.key] } }
        },
      ] : s if length(each.value.secrets) > 0],
      [for s in [
        {
          Sid      = "ReadOwnParameters"
          Effect   = "Allow"
          Action   = ["ssm:GetParameters"]
          Resource = each.value.parameters
        },
        {
          # Parameter Store's encryption context carries the parameter's ARN (PARAMETER_ARN).
          Sid       = "DecryptOwnParameters"
          Effect    = "Allow"
          Action    = ["kms:Decrypt"]
          Resource  = ["arn:${local.partition}:kms:*:${local.account_id}:key/*"]
          Condition = { StringEquals = { "kms:EncryptionContext:PARAMETER_ARN" = each.value.parameters } }
        },
      ] : s if length(each.value.parameters) > 0],
    )
  })
}
