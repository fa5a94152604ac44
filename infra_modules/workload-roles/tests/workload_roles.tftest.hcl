mock_provider "aws" {
  override_data {
    target = data.aws_caller_identity.current
    values = {
      account_id = "123456789012"
    }
  }

  override_data {
    target = data.aws_partition.current
    values = {
      partition = "aws"
    }
  }
}

variables {
  permissions_boundary_arn = "arn:aws:iam::123456789012:policy/art-service-workload-boundary"
}

run "fixed_names_under_the_workloads_path" {
  command = plan

  assert {
    condition     = aws_iam_role.task_execution.name == "art-service-ecs-task-execution" && aws_iam_role.instance.name == "art-service-ecs-instance" && aws_iam_role.flow_logs[0].name == "art-service-vpc-flow-logs"
    error_message = "Roles are named <prefix>-ecs-task-execution, <prefix>-ecs-instance and <prefix>-vpc-flow-logs."
  }

  assert {
    condition     = aws_iam_instance_profile.instance.name == "art-service-ecs-instance" && aws_iam_instance_profile.instance.role == "art-service-ecs-instance"
    error_message = "The instance profile is named <prefix>-ecs-instance and holds the instance role."
  }

  assert {
    condition     = alltrue([for p in [aws_iam_role.task_execution.path, aws_iam_role.instance.path, aws_iam_role.flow_logs[0].path, aws_iam_instance_profile.instance.path] : p == "/art-service/workloads/"])
    error_message = "Everything lives under /art-service/workloads/, the only path the ecs and vpc administrators may pass."
  }
}

run "every_role_carries_the_boundary" {
  command = plan

  assert {
    condition     = alltrue([for r in concat([aws_iam_role.task_execution, aws_iam_role.instance], aws_iam_role.flow_logs) : r.permissions_boundary == "arn:aws:iam::123456789012:policy/art-service-workload-boundary"])
    error_message = "Every role carries the permissions boundary."
  }
}

run "trusts" {
  command = plan

  assert {
    condition     = jsondecode(aws_iam_role.task_execution.assume_role_policy).Statement[0].Principal.Service == "ecs-tasks.amazonaws.com"
    error_message = "ECS tasks assume the execution role."
  }

  assert {
    condition     = jsondecode(aws_iam_role.task_execution.assume_role_policy).Statement[0].Condition.StringEquals["aws:SourceAccount"] == "123456789012"
    error_message = "Only ECS tasks of this account may assume the execution role (confused deputy)."
  }

  assert {
    condition     = jsondecode(aws_iam_role.instance.assume_role_policy).Statement[0].Principal.Service == "ec2.amazonaws.com"
    error_message = "EC2 instances assume the instance role."
  }

  assert {
    condition     = jsondecode(aws_iam_role.flow_logs[0].assume_role_policy).Statement[0].Principal.Service == "vpc-flow-logs.amazonaws.com"
    error_message = "VPC Flow Logs assume the flow logs role."
  }

  assert {
    condition     = jsondecode(aws_iam_role.flow_logs[0].assume_role_policy).Statement[0].Condition.StringEquals["aws:SourceAccount"] == "123456789012" && jsondecode(aws_iam_role.flow_logs[0].assume_role_policy).Statement[0].Condition.ArnLike["aws:SourceArn"] == "arn:aws:ec2:*:123456789012:vpc-flow-log/*"
    error_message = "Only flow logs of this account may assume the flow logs role (confused deputy)."
  }

  assert {
    condition     = alltrue([for r in concat([aws_iam_role.task_execution, aws_iam_role.instance], aws_iam_role.flow_logs) : length(jsondecode(r.assume_role_policy).Statement) == 1 && jsondecode(r.assume_role_policy).Statement[0].Action == "sts:AssumeRole"])
    error_message = "Each role trusts one service, for sts:AssumeRole only."
  }
}

run "managed_policies" {
  command = plan

  assert {
    condition     = aws_iam_role_policy_attachment.task_execution.policy_arn == "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy" && aws_iam_role_policy_attachment.task_execution.role == "art-service-ecs-task-execution"
    error_message = "The execution role carries AmazonECSTaskExecutionRolePolicy."
  }

  assert {
    condition     = toset(values(aws_iam_role_policy_attachment.instance)[*].policy_arn) == toset(["arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role", "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"])
    error_message = "The instance role carries the ECS agent's and SSM Session Manager's managed policies."
  }

  assert {
    condition     = alltrue([for a in aws_iam_role_policy_attachment.instance : a.role == "art-service-ecs-instance"])
    error_message = "The instance policies are attached to the instance role."
  }
}

run "flow_logs_policy_is_scoped_to_the_prefix_log_groups" {
  command = plan

  assert {
    condition     = toset(jsondecode(aws_iam_role_policy.flow_logs[0].policy).Statement[0].Action) == toset(["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"])
    error_message = "Flow logs may create streams, put events and describe streams, nothing else."
  }

  assert {
    condition     = jsondecode(aws_iam_role_policy.flow_logs[0].policy).Statement[0].Resource == ["arn:aws:logs:*:123456789012:log-group:/vpc/art-service*", "arn:aws:logs:*:123456789012:log-group:/vpc/art-service*:*"]
    error_message = "Flow logs write only to /vpc/<prefix>... log groups of this account."
  }

  assert {
    condition     = length(jsondecode(aws_iam_role_policy.flow_logs[0].policy).Statement) == 1 && aws_iam_role_policy.flow_logs[0].role == "art-service-vpc-flow-logs"
    error_message = "The inline policy is the flow logs role's, with one statement."
  }
}

run "outputs" {
  # apply: ARNs are only known after apply (mocked, nothing is created).
  command = apply

  assert {
    condition     = output.instance_profile_name == "art-service-ecs-instance"
    error_message = "The instance profile's name is exported."
  }

  assert {
    condition     = output.task_execution_role_arn == aws_iam_role.task_execution.arn && output.instance_role_arn == aws_iam_role.instance.arn && output.instance_profile_arn == aws_iam_instance_profile.instance.arn
    error_message = "The roles and the instance profile are exported."
  }

  assert {
    condition     = output.flow_logs_role_arn == aws_iam_role.flow_logs[0].arn
    error_message = "The flow logs role is exported."
  }
}

run "no_flow_logs_role_when_not_asked" {
  command = plan

  variables {
    flow_logs = false
  }

  assert {
    condition     = length(aws_iam_role.flow_logs) == 0 && length(aws_iam_role_policy.flow_logs) == 0
    error_message = "No flow logs role without flow_logs."
  }

  assert {
    condition     = output.flow_logs_role_arn == null
    error_message = "The flow logs role output is null without flow_logs."
  }
}

run "prefix_path_tags_and_partition" {
  command = plan

  variables {
    name_prefix = "gallery"
    path        = "/gallery/workloads/"
    tags        = { team = "platform" }
  }

  override_data {
    target = data.aws_partition.current
    values = {
      partition = "aws-cn"
    }
  }

  assert {
    condition     = aws_iam_role.task_execution.name == "gallery-ecs-task-execution" && aws_iam_role.instance.path == "/gallery/workloads/" && aws_iam_instance_profile.instance.path == "/gallery/workloads/"
    error_message = "The prefix and path are used."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.task_execution.policy_arn == "arn:aws-cn:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy" && aws_iam_role_policy_attachment.instance["ssm"].policy_arn == "arn:aws-cn:iam::aws:policy/AmazonSSMManagedInstanceCore"
    error_message = "Managed policy ARNs follow the partition."
  }

  assert {
    condition     = jsondecode(aws_iam_role_policy.flow_logs[0].policy).Statement[0].Resource[0] == "arn:aws-cn:logs:*:123456789012:log-group:/vpc/gallery*"
    error_message = "The flow logs policy follows the prefix and the partition."
  }

  assert {
    condition     = aws_iam_role.instance.tags["team"] == "platform" && aws_iam_instance_profile.instance.tags["team"] == "platform" && aws_iam_role.flow_logs[0].tags["team"] == "platform"
    error_message = "Tags reach the roles and the instance profile."
  }
}

run "requires_a_boundary" {
  command = plan

  variables {
    permissions_boundary_arn = null
  }

  expect_failures = [var.permissions_boundary_arn]
}

run "rejects_a_role_as_boundary" {
  command = plan

  variables {
    permissions_boundary_arn = "arn:aws:iam::123456789012:role/boundary"
  }

  expect_failures = [var.permissions_boundary_arn]
}

run "rejects_a_boundary_name" {
  command = plan

  variables {
    permissions_boundary_arn = "art-service-workload-boundary"
  }

  expect_failures = [var.permissions_boundary_arn]
}

run "rejects_bad_prefix" {
  command = plan

  variables {
    name_prefix = "Art_Service"
  }

  expect_failures = [var.name_prefix]
}

run "rejects_too_long_prefix" {
  command = plan

  variables {
    name_prefix = "a23456789012345678901234567890123"
  }

  expect_failures = [var.name_prefix]
}

run "rejects_path_without_slashes" {
  command = plan

  variables {
    path = "art-service/workloads"
  }

  expect_failures = [var.path]
}

run "rejects_path_with_spaces" {
  command = plan

  variables {
    path = "/art service/"
  }

  expect_failures = [var.path]
}

run "a_service_with_secrets_gets_a_role_granted_exactly_them" {
  command = plan

  variables {
    service_secrets = {
      art-service-billing = [
        "arn:aws:ssm:eu-west-1:123456789012:parameter/art-service/billing/api-token",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:art-service/billing-db-AbCdEf",
        "arn:aws:ssm:eu-west-1:123456789012:parameter/art-service/billing/api-token",
      ]
    }
  }

  assert {
    condition     = aws_iam_role.service_execution["art-service-billing"].name == "art-service-billing-execution" && aws_iam_role.service_execution["art-service-billing"].path == "/art-service/workloads/"
    error_message = "The service's own execution role is <service>-execution under the workloads path."
  }

  assert {
    condition     = aws_iam_role.service_execution["art-service-billing"].permissions_boundary == var.permissions_boundary_arn
    error_message = "The service's execution role carries the boundary."
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.service_secrets["art-service-billing"].policy).Statement == [
      {
        Sid      = "ReadOwnSecrets"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:art-service/billing-db-AbCdEf", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:art-service/billing-db-AbCdEf-??????"]
      },
      {
        Sid       = "DecryptOwnSecrets"
        Effect    = "Allow"
        Action    = ["kms:Decrypt"]
        Resource  = ["arn:aws:kms:*:123456789012:key/*"]
        Condition = { StringLike = { "kms:EncryptionContext:SecretARN" = ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:art-service/billing-db-AbCdEf", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:art-service/billing-db-AbCdEf-??????"] } }
      },
      {
        Sid      = "ReadOwnParameters"
        Effect   = "Allow"
        Action   = ["ssm:GetParameters"]
        Resource = ["arn:aws:ssm:eu-west-1:123456789012:parameter/art-service/billing/api-token"]
      },
      {
        Sid       = "DecryptOwnParameters"
        Effect    = "Allow"
        Action    = ["kms:Decrypt"]
        Resource  = ["arn:aws:kms:*:123456789012:key/*"]
        Condition = { StringEquals = { "kms:EncryptionContext:PARAMETER_ARN" = ["arn:aws:ssm:eu-west-1:123456789012:parameter/art-service/billing/api-token"] } }
      },
    ]
    error_message = "The role reads exactly the service's secrets and parameters, and decrypts them under a customer managed key only with their ARN in the encryption context."
  }

  assert {
    condition     = jsonencode(output.service_secret_arns) == jsonencode({ art-service-billing = ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:art-service/billing-db-AbCdEf", "arn:aws:ssm:eu-west-1:123456789012:parameter/art-service/billing/api-token"] })
    error_message = "What each service's role may read is an output, sorted, for the service's plan to check."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.service_execution["art-service-billing"].policy_arn == "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
    error_message = "It can still pull images and write logs."
  }
}

# A secret named without Secrets Manager's random suffix is the ARN of a task definition people
# write; IAM compares the grant with the secret's whole ARN.
run "a_secret_named_without_its_suffix_is_still_readable" {
  command = plan

  variables {
    service_secrets = { art-service-billing = ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:billing-db"] }
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.service_secrets["art-service-billing"].policy).Statement : s.Resource if s.Sid == "ReadOwnSecrets"][0] == ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:billing-db", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:billing-db-??????"]
    error_message = "A secret is granted as given and with its six-character suffix, and nothing wider."
  }

  assert {
    condition     = jsonencode(output.service_secret_arns) == jsonencode({ art-service-billing = ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:billing-db"] })
    error_message = "The grant the service's plan checks is still what was declared."
  }
}

run "only_secret_parameters_no_secrets_manager_statement" {
  command = plan

  variables {
    service_secrets = { art-service-billing = ["arn:aws:ssm:eu-west-1:123456789012:parameter/art-service/billing/api-token"] }
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.service_secrets["art-service-billing"].policy).Statement : s.Sid] == ["ReadOwnParameters", "DecryptOwnParameters"]
    error_message = "A service with parameters only may not read any Secrets Manager secret."
  }
}

run "no_secrets_no_service_roles" {
  command = plan

  assert {
    condition     = length(aws_iam_role.service_execution) == 0 && length(aws_iam_role_policy.service_secrets) == 0
    error_message = "Services without secrets use the shared execution role, which reads no secret."
  }
}

run "rejects_a_wildcard_grant" {
  command = plan
  variables {
    service_secrets = { art-service-billing = ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:*"] }
  }
  expect_failures = [var.service_secrets]
}

run "rejects_a_secret_value" {
  command = plan
  variables {
    service_secrets = { art-service-billing = ["correct horse battery staple"] }
  }
  expect_failures = [var.service_secrets]
}

run "rejects_a_service_name_too_long_for_its_role" {
  command = plan
  variables {
    service_secrets = { "art-service-a-name-that-is-far-too-long-for-an-iam-role-name" = ["arn:aws:ssm:eu-west-1:123456789012:parameter/x"] }
  }
  expect_failures = [var.service_secrets]
}

run "rejects_a_service_listed_without_secrets" {
  command = plan
  variables {
    service_secrets = { art-service-billing = [] }
  }
  expect_failures = [var.service_secrets]
}
