# What the emulator cannot check (conditions, permissions boundaries, resource ARNs other than S3
# and IAM roles) is asserted here on the policy documents.

mock_provider "aws" {
  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "123456789012" }
  }

  override_data {
    target = data.aws_partition.current
    values = { partition = "aws" }
  }
}

variables {
  administrators = {
    ecs         = { name_patterns = ["art-service-*"] }
    ecr         = { name_patterns = ["art-service-*"] }
    s3          = { name_patterns = ["art-service-*"] }
    vpc         = { name_patterns = ["art-service-*"] }
    iam         = { name_patterns = ["art-service-*"] }
    logs        = { name_patterns = ["art-service-*"] }
    elb         = { name_patterns = ["art-service-*"] }
    autoscaling = { name_patterns = ["art-service-*"] }
  }
  state_bucket_name = "art-service-terraform-state"
  state_key_prefixes = {
    ecs = ["ecs/clusters/", "ecs/services/"]
    ecr = ["ecs/ecr-repositories/"]
    s3  = ["s3/"]
    vpc = ["vpc/"]
    iam = ["iam/"]
  }
  shared_state_keys = [
    "iam/workload-roles/art-service/terraform.tfstate",
    "vpc/art-service-network/terraform.tfstate",
  ]
  runner_principal_arns = ["arn:aws:iam::123456789012:user/portal"]
}

run "roles_users_and_groups_per_type" {
  command = plan

  assert {
    condition     = toset(keys(aws_iam_role.admin)) == toset(["ecs", "ecr", "s3", "vpc", "iam", "logs", "elb", "autoscaling"]) && toset(keys(aws_iam_role.state)) == toset(keys(aws_iam_role.admin)) && toset(keys(aws_iam_user.this)) == toset(keys(aws_iam_role.admin))
    error_message = "Every type has an admin role, a state role and a user."
  }

  assert {
    condition     = aws_iam_role.admin["ecs"].name == "art-service-ecs-admin" && aws_iam_role.state["ecs"].name == "art-service-ecs-state" && aws_iam_role.admin["ecs"].path == "/art-service/admins/"
    error_message = "Roles are <prefix>-<type>-admin and <prefix>-<type>-state under the path."
  }

  assert {
    condition     = aws_iam_user.this["ecs"].name == "art-service-ecs-admin" && aws_iam_group.this["vpc"].name == "art-service-vpc-admins" && aws_iam_policy.admin["iam"].name == "art-service-iam-admin"
    error_message = "Users, groups and policies keep their names."
  }

  assert {
    condition     = alltrue([for r in concat(values(aws_iam_role.admin), values(aws_iam_role.state)) : r.permissions_boundary == "arn:aws:iam::123456789012:policy/art-service/admins/art-service-admin-boundary" && r.max_session_duration == 3600])
    error_message = "Every role carries the boundary and one-hour sessions."
  }

  assert {
    condition     = alltrue([for u in aws_iam_user.this : u.permissions_boundary == "arn:aws:iam::123456789012:policy/art-service/admins/art-service-admin-boundary" && u.force_destroy == false])
    error_message = "Every user carries the boundary; a user with hand-made credentials is not destroyed silently."
  }

  assert {
    condition     = alltrue([for r in concat(values(aws_iam_role.admin), values(aws_iam_role.state)) : jsondecode(r.assume_role_policy).Statement == [{ Sid = "PortalRunner", Effect = "Allow", Principal = { AWS = ["arn:aws:iam::123456789012:user/portal"] }, Action = "sts:AssumeRole" }]])
    error_message = "Only the runner may assume the roles."
  }

  assert {
    condition     = aws_iam_policy.boundary.name == "art-service-admin-boundary" && aws_iam_policy.boundary.path == "/art-service/admins/" && aws_iam_policy.runner.name == "art-service-portal-runner"
    error_message = "The boundary and the runner policy sit with the administrators."
  }

  assert {
    condition     = aws_iam_policy.admin["ecs"].description == "Administers ecs for art-service; managed by the infrastructure portal."
    error_message = "A policy's description cannot change in IAM, so it must not name the patterns."
  }

  assert {
    condition     = output.administrators["ecr"].name_patterns == tolist(["art-service-*"])
    error_message = "The administrators output carries each type's scope."
  }
}

run "every_statement_has_a_sid_and_every_policy_fits" {
  command = plan

  assert {
    condition = alltrue([for doc in concat(values(output.policy_documents), values(output.state_policy_documents), [output.boundary_policy_document, output.workload_boundary_policy_document]) :
    alltrue([for s in jsondecode(doc).Statement : can(regex("^[A-Za-z0-9]+$", s.Sid))])])
    error_message = "Every statement has a Sid."
  }

  assert {
    condition     = alltrue([for doc in concat(flatten([for t, d in output.managed_policy_documents : [d.named, d.base]]), [output.boundary_policy_document, output.workload_boundary_policy_document]) : length(doc) < 6144])
    error_message = "Every managed policy stays under IAM's 6144 characters with a single name pattern."
  }

  assert {
    condition = alltrue([for t, d in output.managed_policy_documents :
    jsonencode(sort([for s in concat(jsondecode(d.named).Statement, jsondecode(d.base).Statement) : s.Sid])) == jsonencode(sort([for s in jsondecode(output.policy_documents[t]).Statement : s.Sid]))])
    error_message = "The two managed policies of a type hold together exactly what its whole document says."
  }
}

run "the_boundary_denies_what_nobody_may_do" {
  command = plan

  # Its own edits.
  assert {
    condition = length([for s in jsondecode(output.boundary_policy_document).Statement : s if s.Effect == "Deny" && s.Resource == ["arn:aws:iam::123456789012:policy/art-service/admins/art-service-admin-boundary", "arn:aws:iam::123456789012:policy/art-service/admins/art-service-workload-boundary"] &&
    length(setsubtract(["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"], s.Action)) == 0 && !can(s.Condition)]) == 1
    error_message = "Nobody may change or delete either boundary."
  }

  # Removing a boundary.
  assert {
    condition     = length([for s in jsondecode(output.boundary_policy_document).Statement : s if s.Effect == "Deny" && s.Resource == ["*"] && contains(s.Action, "iam:DeleteRolePermissionsBoundary") && contains(s.Action, "iam:DeleteUserPermissionsBoundary") && !can(s.Condition)]) == 1
    error_message = "Nobody may remove a permissions boundary."
  }

  # Roles and users without their path's boundary.
  assert {
    condition = length([for s in jsondecode(output.boundary_policy_document).Statement : s if s.Effect == "Deny" &&
      s.Resource == ["arn:aws:iam::123456789012:role/art-service/admins/*", "arn:aws:iam::123456789012:user/art-service/admins/*"] &&
      length(setsubtract(["iam:CreateRole", "iam:CreateUser", "iam:PutRolePermissionsBoundary", "iam:PutUserPermissionsBoundary"], s.Action)) == 0 &&
    try(s.Condition, null) == { StringNotEquals = { "iam:PermissionsBoundary" = "arn:aws:iam::123456789012:policy/art-service/admins/art-service-admin-boundary" } }]) == 1
    error_message = "Under the administrators' path, roles and users are created, and boundaries set, only with this boundary."
  }

  assert {
    condition = length([for s in jsondecode(output.boundary_policy_document).Statement : s if s.Effect == "Deny" &&
      s.Resource == ["arn:aws:iam::123456789012:role/art-service/workloads/*"] &&
      length(setsubtract(["iam:CreateRole", "iam:PutRolePermissionsBoundary"], s.Action)) == 0 &&
    try(s.Condition, null) == { StringNotEquals = { "iam:PermissionsBoundary" = "arn:aws:iam::123456789012:policy/art-service/admins/art-service-workload-boundary" } }]) == 1
    error_message = "Under the workloads' path, roles are created, and boundaries set, only with the workloads' boundary."
  }

  # The boundary allowed ec2:*, s3:* and ssm:* on every resource: every bucket and subnet of the
  # account to a role the iam administrator makes.
  assert {
    condition     = alltrue([for s in jsondecode(output.boundary_policy_document).Statement : length(setintersection(s.Action, ["*", "ec2:*", "s3:*", "ssm:*", "iam:*", "kms:*", "secretsmanager:*"])) == 0 if s.Effect == "Allow" && contains(s.Resource, "*")])
    error_message = "The boundary allows no EC2, S3, SSM, IAM, KMS or Secrets Manager wildcard on every resource."
  }

  assert {
    condition     = [for s in jsondecode(output.boundary_policy_document).Statement : s.Resource if s.Sid == "BucketsOfThePrefix"][0] == ["arn:aws:s3:::art-service-terraform-state", "arn:aws:s3:::art-service-terraform-state/*", "arn:aws:s3:::art-service*", "arn:aws:s3:::art-service*/*"] && length([for s in jsondecode(output.boundary_policy_document).Statement : s if s.Effect == "Allow" && anytrue([for a in s.Action : startswith(a, "s3:")]) && contains(s.Resource, "*")]) == 1
    error_message = "Within the boundary, S3 reaches the state bucket and the prefix's buckets, and lists buckets (the one S3 action on \"*\")."
  }

  assert {
    condition     = alltrue([for s in jsondecode(output.boundary_policy_document).Statement : s.Resource == ["arn:aws:ssm:*::parameter/aws/service/*"] if s.Effect == "Allow" && anytrue([for a in s.Action : startswith(a, "ssm")])])
    error_message = "Within the boundary, SSM reaches only AWS's public parameters (the ECS-optimized AMI)."
  }

  assert {
    condition     = contains([for s in jsondecode(output.boundary_policy_document).Statement : s.Sid if s.Effect == "Allow" && contains(s.Action, "ec2:RunInstances") && contains(s.Action, "ec2:CreateVpc") && !contains(s.Action, "ec2:CreateSnapshot")], "TheEc2ActionsOfTheAdministrators")
    error_message = "Within the boundary, EC2 is what the administrators' policies name (RunInstances, CreateVpc...), not a snapshot."
  }

  # AWS's broad policies, and the boundary as a permissions policy.
  assert {
    condition = length([for s in jsondecode(output.boundary_policy_document).Statement : s if s.Effect == "Deny" &&
      length(setsubtract(["iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:AttachGroupPolicy"], s.Action)) == 0 &&
      length(setsubtract([
        "arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/IAMFullAccess", "arn:aws:iam::aws:policy/PowerUserAccess",
        "arn:aws:iam::123456789012:policy/art-service/admins/art-service-admin-boundary",
        "arn:aws:iam::123456789012:policy/art-service/admins/art-service-workload-boundary",
    ], try(s.Condition.ArnEquals["iam:PolicyARN"], []))) == 0]) == 1
    error_message = "Nobody may attach AdministratorAccess, IAMFullAccess, PowerUserAccess or a boundary as permissions."
  }

  assert {
    condition     = length([for s in jsondecode(output.boundary_policy_document).Statement : s if s.Effect == "Deny" && s.Action == ["iam:CreateAccessKey"] && s.Resource == ["*"] && !can(s.Condition)]) == 1
    error_message = "Nobody may create access keys."
  }

  assert {
    condition = length([for s in jsondecode(output.boundary_policy_document).Statement : s if s.Effect == "Deny" && !can(s.Condition) &&
      s.Resource == ["arn:aws:s3:::art-service-terraform-state", "arn:aws:s3:::art-service-terraform-state/*"] &&
      length(setsubtract([
        "s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteObjectVersion", "s3:PutBucketVersioning",
        "s3:PutLifecycleConfiguration", "s3:PutBucketObjectLockConfiguration", "s3:PutEncryptionConfiguration",
    ], s.Action)) == 0]) == 1
    error_message = "Nobody may delete the state bucket, its policy or its versions, nor loosen its protections."
  }

  assert {
    condition     = [for s in jsondecode(output.boundary_policy_document).Statement : s.Resource if s.Sid == "IamUnderTheAdministratorsAndWorkloadsPaths"][0] == ["arn:aws:iam::123456789012:group/art-service/admins/*", "arn:aws:iam::123456789012:instance-profile/art-service/admins/*", "arn:aws:iam::123456789012:instance-profile/art-service/workloads/*", "arn:aws:iam::123456789012:policy/art-service/admins/*", "arn:aws:iam::123456789012:policy/art-service/workloads/*", "arn:aws:iam::123456789012:role/art-service/admins/*", "arn:aws:iam::123456789012:role/art-service/workloads/*", "arn:aws:iam::123456789012:user/art-service/admins/*"]
    error_message = "Within the boundary, IAM reaches only the administrators' and the workloads' paths."
  }
}

run "every_admin_policy_protects_the_state_bucket_and_leaves_its_objects_alone" {
  command = plan

  assert {
    condition = alltrue([for t, doc in output.policy_documents : length([for s in jsondecode(doc).Statement : s if s.Effect == "Deny" && !can(s.Condition) &&
      s.Resource == ["arn:aws:s3:::art-service-terraform-state", "arn:aws:s3:::art-service-terraform-state/*"] &&
    contains(s.Action, "s3:DeleteBucket") && contains(s.Action, "s3:DeleteObjectVersion") && contains(s.Action, "s3:PutBucketPolicy")]) == 1])
    error_message = "Every admin policy denies the state bucket's protected actions, unconditionally."
  }

  assert {
    condition = alltrue([for t, doc in output.policy_documents : length([for s in jsondecode(doc).Statement : s if s.Effect == "Deny" && !can(s.Condition) &&
    s.Resource == ["arn:aws:s3:::art-service-terraform-state/*"] && contains(s.Action, "s3:GetObject*") && contains(s.Action, "s3:PutObject*")]) == 1])
    error_message = "No administrator reads or writes state objects: that is the state roles' job."
  }

  assert {
    condition = alltrue([for t, doc in output.policy_documents : alltrue([for s in jsondecode(doc).Statement :
    !contains(s.Resource, "arn:aws:s3:::art-service-terraform-state/*") if s.Effect == "Allow"])])
    error_message = "No admin policy allows anything on the state objects."
  }
}

run "the_ecs_administrator_passes_workload_roles_and_calls_no_other_iam" {
  command = plan

  assert {
    condition     = alltrue([for s in jsondecode(output.policy_documents["ecs"]).Statement : alltrue([for a in s.Action : !startswith(a, "iam:") || contains(["iam:PassRole", "iam:CreateServiceLinkedRole"], a)]) if s.Effect == "Allow"])
    error_message = "The ecs administrator may call no IAM action but PassRole and CreateServiceLinkedRole."
  }

  # In an account that never used ECS, Elastic Load Balancing, EC2 Auto Scaling or Application Auto
  # Scaling, the first cluster, load balancer, group or scalable target makes its service-linked role.
  assert {
    condition = [for s in jsondecode(output.policy_documents["ecs"]).Statement : s if contains(s.Action, "iam:CreateServiceLinkedRole")] == [{
      Sid       = "ServiceLinkedRolesOfThePlatform"
      Effect    = "Allow"
      Action    = ["iam:CreateServiceLinkedRole"]
      Resource  = ["arn:aws:iam::123456789012:role/aws-service-role/*"]
      Condition = { StringEquals = { "iam:AWSServiceName" = ["autoscaling.amazonaws.com", "ecs.amazonaws.com", "ecs.application-autoscaling.amazonaws.com", "elasticloadbalancing.amazonaws.com"] } }
    }]
    error_message = "The ecs administrator may create the four service-linked roles the platform needs, and no other."
  }

  # Application Auto Scaling checks, before it makes a target-tracking policy, that the caller may
  # put, describe and delete CloudWatch alarms.
  assert {
    condition     = length([for s in jsondecode(output.policy_documents["ecs"]).Statement : s if s.Effect == "Allow" && length(setsubtract(["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"], s.Action)) == 0 && s.Resource == ["arn:aws:cloudwatch:*:123456789012:alarm:*"]]) == 1
    error_message = "The ecs administrator may put, describe and delete the account's CloudWatch alarms, and only alarms."
  }

  assert {
    condition = alltrue([for s in jsondecode(output.policy_documents["ecs"]).Statement : s.Action == ["iam:PassRole"] &&
      s.Resource == ["arn:aws:iam::123456789012:role/art-service/workloads/*"] &&
    s.Condition == { StringEquals = { "iam:PassedToService" = ["ecs-tasks.amazonaws.com", "ec2.amazonaws.com"] } } if contains(s.Action, "iam:PassRole")])
    error_message = "PassRole only on workload roles, only to ECS tasks and EC2."
  }

  assert {
    condition     = contains([for s in jsondecode(output.policy_documents["ecs"]).Statement : s.Sid if contains(s.Action, "iam:PassRole")], "PassWorkloadRolesToEcsAndEc2")
    error_message = "The ecs administrator may pass workload roles."
  }

  assert {
    condition     = [for s in jsondecode(output.policy_documents["ecs"]).Statement : s.Resource if s.Sid == "EcsClustersServicesTaskDefinitions"][0] == ["arn:aws:ecs:*:123456789012:cluster/art-service-*", "arn:aws:ecs:*:123456789012:capacity-provider/art-service-*", "arn:aws:ecs:*:123456789012:task-definition/art-service-*", "arn:aws:ecs:*:123456789012:service/art-service-*/*", "arn:aws:ecs:*:123456789012:task/art-service-*/*", "arn:aws:ecs:*:123456789012:container-instance/art-service-*/*"]
    error_message = "ECS resources are scoped by the name patterns."
  }

  assert {
    condition     = [for s in jsondecode(output.policy_documents["ecs"]).Statement : s.Resource if s.Sid == "EcsLogGroups"][0] == ["arn:aws:logs:*:123456789012:log-group:/ecs/art-service-*"]
    error_message = "The ecs administrator's log groups are /ecs/<pattern>."
  }

  assert {
    condition     = [for s in jsondecode(output.policy_documents["ecs"]).Statement : s.Condition if s.Sid == "CreateTaggedManagedBy"][0] == { StringEquals = { "aws:RequestTag/ManagedBy" = "infra-portal" } } && [for s in jsondecode(output.policy_documents["ecs"]).Statement : s.Condition if s.Sid == "ChangeManagedBy"][0] == { StringEquals = { "aws:ResourceTag/ManagedBy" = "infra-portal" } }
    error_message = "Launch templates are created tagged ManagedBy and changed only when they carry it."
  }

  assert {
    condition     = [for s in jsondecode(output.policy_documents["ecs"]).Statement : s.Action if s.Sid == "CreateTaggedManagedBy"][0] == ["ec2:CreateLaunchTemplate", "ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress"]
    error_message = "The ecs administrator creates launch templates and the services' security groups and rules, tagged, and no other EC2 resource."
  }

  assert {
    condition     = alltrue([for s in jsondecode(output.policy_documents["ecs"]).Statement : alltrue([for a in flatten([s.Action]) : !can(regex("^ec2:(Create|Delete)(Vpc|Subnet|Route|InternetGateway|NatGateway|NetworkAcl)", a))])])
    error_message = "The ecs administrator makes security groups for its tasks, never the network itself."
  }

  assert {
    condition     = [for s in jsondecode(output.policy_documents["ecs"]).Statement : s.Condition if s.Sid == "RunInstancesFromLaunchTemplates"][0] == { ArnLike = { "ec2:LaunchTemplate" = "arn:aws:ec2:*:123456789012:launch-template/*" } }
    error_message = "Instances are launched only from launch templates."
  }
}

run "the_ecs_administrator_turns_on_eni_trunking_and_no_other_account_setting" {
  command = plan

  assert {
    condition = [for s in jsondecode(output.policy_documents["ecs"]).Statement : s if contains(s.Action, "ecs:PutAccountSettingDefault")] == [{
      Sid       = "EcsAwsvpcTrunkingAccountDefault"
      Effect    = "Allow"
      Action    = ["ecs:PutAccountSettingDefault"]
      Resource  = ["*"]
      Condition = { StringEquals = { "ecs:account-setting" = "awsvpcTrunking" } }
    }]
    error_message = "The ecs administrator may set the awsvpcTrunking default, and no other account setting."
  }
}

run "the_vpc_administrator_works_on_what_carries_the_portal_tag" {
  command = plan

  assert {
    condition     = alltrue([for s in jsondecode(output.policy_documents["vpc"]).Statement : alltrue([for a in s.Action : !startswith(a, "iam:") || a == "iam:PassRole"]) if s.Effect == "Allow"])
    error_message = "The vpc administrator may call no IAM action but PassRole."
  }

  assert {
    condition     = alltrue([for s in jsondecode(output.policy_documents["vpc"]).Statement : s.Condition == { StringEquals = { "iam:PassedToService" = "vpc-flow-logs.amazonaws.com" } } && s.Resource == ["arn:aws:iam::123456789012:role/art-service/workloads/*"] if contains(s.Action, "iam:PassRole")])
    error_message = "The vpc administrator passes workload roles to VPC Flow Logs only."
  }

  assert {
    condition     = [for s in jsondecode(output.policy_documents["vpc"]).Statement : s.Condition if s.Sid == "CreateNetworkingTaggedManagedBy"][0] == { StringEquals = { "aws:RequestTag/ManagedBy" = "infra-portal" } }
    error_message = "Networking is created only tagged ManagedBy = infra-portal."
  }

  assert {
    condition     = [for s in jsondecode(output.policy_documents["vpc"]).Statement : s.Condition if s.Sid == "ChangeNetworkingManagedBy"][0] == { StringEquals = { "aws:ResourceTag/ManagedBy" = "infra-portal" } }
    error_message = "Networking is changed and deleted only when it carries ManagedBy = infra-portal."
  }

  assert {
    condition     = alltrue([for s in jsondecode(output.policy_documents["vpc"]).Statement : can(s.Condition) if s.Effect == "Allow" && anytrue([for a in s.Action : startswith(a, "ec2:") && !startswith(a, "ec2:Describe")])])
    error_message = "Every EC2 write of the vpc administrator carries a tag condition."
  }

  assert {
    condition     = [for s in jsondecode(output.policy_documents["vpc"]).Statement : s.Resource if s.Sid == "FlowLogGroups"][0] == ["arn:aws:logs:*:123456789012:log-group:/vpc/art-service-*"]
    error_message = "The vpc administrator's log groups are /vpc/<pattern>."
  }
}

run "the_iam_administrator_bounds_what_it_creates_and_cannot_widen_itself" {
  command = plan

  assert {
    condition = alltrue([for s in jsondecode(output.policy_documents["iam"]).Statement :
      try(s.Condition, null) == { StringEquals = { "iam:PermissionsBoundary" = "arn:aws:iam::123456789012:policy/art-service/admins/art-service-admin-boundary" } } &&
      alltrue([for r in s.Resource : startswith(r, "arn:aws:iam::123456789012:role/art-service/admins/") || startswith(r, "arn:aws:iam::123456789012:user/art-service/admins/")])
    if s.Effect == "Allow" && length(setintersection(s.Action, ["iam:CreateRole", "iam:CreateUser", "iam:PutRolePermissionsBoundary", "iam:PutUserPermissionsBoundary"])) > 0 && !anytrue([for r in s.Resource : strcontains(r, "/workloads/")])])
    error_message = "Under the administrators' path, roles and users are created, and boundaries set, only with the administrators' boundary."
  }

  assert {
    condition = alltrue([for s in jsondecode(output.policy_documents["iam"]).Statement :
      try(s.Condition, null) == { StringEquals = { "iam:PermissionsBoundary" = "arn:aws:iam::123456789012:policy/art-service/admins/art-service-workload-boundary" } } &&
      s.Resource == ["arn:aws:iam::123456789012:role/art-service/workloads/*"] && length(setsubtract(s.Action, ["iam:CreateRole", "iam:PutRolePermissionsBoundary"])) == 0
    if s.Effect == "Allow" && length(setintersection(s.Action, ["iam:CreateRole", "iam:PutRolePermissionsBoundary"])) > 0 && anytrue([for r in s.Resource : strcontains(r, "/workloads/")])])
    error_message = "Under the workloads' path, roles are created, and boundaries set, only with the workloads' boundary."
  }

  assert {
    condition     = length([for s in jsondecode(output.policy_documents["iam"]).Statement : s if s.Effect == "Allow" && length(setintersection(s.Action, ["iam:CreateRole", "iam:CreateUser", "iam:PutRolePermissionsBoundary", "iam:PutUserPermissionsBoundary"])) > 0]) == 4
    error_message = "Creating roles and users, and setting boundaries, is allowed (with the condition), per path."
  }

  assert {
    condition = alltrue([for s in jsondecode(output.policy_documents["iam"]).Statement :
      keys(s.Condition) == ["ArnLike"] && length(setsubtract(s.Condition.ArnLike["iam:PolicyARN"], [
        "arn:aws:iam::123456789012:policy/art-service/admins/*", "arn:aws:iam::123456789012:policy/art-service/workloads/*",
        "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
        "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
      ])) == 0
    if s.Effect == "Allow" && anytrue([for a in s.Action : startswith(a, "iam:Attach") || startswith(a, "iam:Detach")])])
    error_message = "Policies are attached only when they are the module's own or the workload roles' AWS managed ones."
  }

  assert {
    condition = length([for s in jsondecode(output.policy_documents["iam"]).Statement : s if s.Effect == "Deny" && !can(s.Condition) &&
      length(setsubtract([
        "arn:aws:iam::123456789012:role/art-service/admins/art-service-iam-admin",
        "arn:aws:iam::123456789012:policy/art-service/admins/art-service-iam-admin",
        "arn:aws:iam::123456789012:policy/art-service/admins/art-service-iam-admin-base",
        "arn:aws:iam::123456789012:policy/art-service/admins/art-service-admin-boundary",
        "arn:aws:iam::123456789012:policy/art-service/admins/art-service-workload-boundary",
      ], s.Resource)) == 0 &&
    length(setsubtract(["iam:Attach*", "iam:Detach*", "iam:Put*", "iam:Delete*", "iam:Update*", "iam:Tag*", "iam:Untag*", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"], s.Action)) == 0]) == 1
    error_message = "The iam administrator may not change its own role, its own policies or either boundary."
  }

  assert {
    condition     = length([for s in jsondecode(output.policy_documents["iam"]).Statement : s if s.Effect == "Deny" && !can(s.Condition) && s.Resource == ["*"] && length(setsubtract(["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"], s.Action)) == 0]) == 1
    error_message = "The iam administrator may not remove a boundary."
  }

  assert {
    condition     = length([for s in jsondecode(output.policy_documents["iam"]).Statement : s if s.Effect == "Deny" && !can(s.Condition) && s.Resource == ["*"] && s.Action == ["iam:CreateAccessKey"]]) == 1
    error_message = "The iam administrator may not create access keys."
  }

  assert {
    condition     = alltrue([for s in jsondecode(output.policy_documents["iam"]).Statement : !can(s.Condition) if s.Effect == "Deny"])
    error_message = "No Deny is conditional: the emulator treats every condition as met, so it would deny the happy path."
  }

  assert {
    condition     = [for s in jsondecode(output.policy_documents["iam"]).Statement : s.Resource if s.Sid == "Roles"][0] == ["arn:aws:iam::123456789012:role/art-service/admins/*", "arn:aws:iam::123456789012:role/art-service/workloads/*"]
    error_message = "The iam administrator manages roles under the administrators' and the workloads' paths only."
  }

  assert {
    condition     = alltrue([for s in jsondecode(output.policy_documents["iam"]).Statement : s.Resource == ["arn:aws:iam::123456789012:role/art-service/workloads/*"] && can(s.Condition.ArnLike["iam:AssociatedResourceArn"]) if contains(s.Action, "iam:PassRole")])
    error_message = "The iam administrator passes workload roles only to instance profiles (AddRoleToInstanceProfile)."
  }
}

run "a_state_role_writes_its_prefixes_deletes_only_lock_files_and_reads_the_shared_keys" {
  command = plan

  assert {
    condition     = [for s in jsondecode(output.state_policy_documents["ecs"]).Statement : s.Resource if s.Sid == "ReadWriteOwnState"][0] == ["arn:aws:s3:::art-service-terraform-state/ecs/clusters/*", "arn:aws:s3:::art-service-terraform-state/ecs/services/*"]
    error_message = "The ecs state role reads and writes under its own prefixes."
  }

  assert {
    condition = alltrue([for s in jsondecode(output.state_policy_documents["ecs"]).Statement :
      alltrue([for r in s.Resource : startswith(r, "arn:aws:s3:::art-service-terraform-state/ecs/clusters/") || startswith(r, "arn:aws:s3:::art-service-terraform-state/ecs/services/")])
    if s.Effect == "Allow" && anytrue([for a in s.Action : contains(["s3:PutObject", "s3:DeleteObject"], a)])])
    error_message = "The ecs state role writes nowhere else."
  }

  assert {
    condition     = alltrue([for s in jsondecode(output.state_policy_documents["ecs"]).Statement : alltrue([for r in s.Resource : endswith(r, "*.tflock")]) if s.Effect == "Allow" && contains(s.Action, "s3:DeleteObject")])
    error_message = "A state role deletes lock files only, never state."
  }

  assert {
    condition     = [for s in jsondecode(output.state_policy_documents["ecs"]).Statement : s if s.Sid == "ReadSharedState"][0] == { Sid = "ReadSharedState", Effect = "Allow", Action = ["s3:GetObject"], Resource = ["arn:aws:s3:::art-service-terraform-state/iam/workload-roles/art-service/terraform.tfstate", "arn:aws:s3:::art-service-terraform-state/vpc/art-service-network/terraform.tfstate"] }
    error_message = "Every state role reads the shared keys, and only reads them."
  }

  # S3 answers a read of a missing key with 404 only to a caller with s3:ListBucket, evaluated with
  # the read's own context (no s3:prefix); terraform takes only 404 for "no state yet".
  assert {
    condition     = [for s in jsondecode(output.state_policy_documents["ecs"]).Statement : s if s.Sid == "ListStateKeys"][0] == { Sid = "ListStateKeys", Effect = "Allow", Action = ["s3:ListBucket"], Resource = ["arn:aws:s3:::art-service-terraform-state"] }
    error_message = "A state role lists the state bucket without a prefix condition, so that a missing state is a 404."
  }

  assert {
    condition     = length([for s in jsondecode(output.state_policy_documents["ecs"]).Statement : s if s.Effect == "Deny" && s.Sid == "ProtectStateBucket" && contains(s.Action, "s3:DeleteObjectVersion") && contains(s.Action, "s3:DeleteBucket")]) == 1
    error_message = "A state role may not delete the bucket, its policy or its versions."
  }

  # logs has no prefixes: it only reads the shared keys.
  assert {
    condition     = [for s in jsondecode(output.state_policy_documents["logs"]).Statement : s.Sid if s.Effect == "Allow" && anytrue([for a in s.Action : startswith(a, "s3:")])] == ["ListStateKeys", "ReadSharedState"]
    error_message = "A type without prefixes gets only the shared reads."
  }
}

run "the_runner_only_assumes_the_module_roles" {
  command = plan

  assert {
    condition = (
      length(jsondecode(aws_iam_policy.runner.policy).Statement) == 1 &&
      jsondecode(aws_iam_policy.runner.policy).Statement[0].Effect == "Allow" &&
      jsondecode(aws_iam_policy.runner.policy).Statement[0].Action == ["sts:AssumeRole"] &&
      !can(jsondecode(aws_iam_policy.runner.policy).Statement[0].Condition) &&
      jsonencode(jsondecode(aws_iam_policy.runner.policy).Statement[0].Resource) == jsonencode([
        "arn:aws:iam::123456789012:role/art-service/admins/art-service-*-admin",
        "arn:aws:iam::123456789012:role/art-service/admins/art-service-*-state",
      ])
    )
    error_message = "The runner may only assume the administrators' and state roles, named so that the document never changes."
  }

  assert {
    condition = contains(
      one([for s in jsondecode(aws_iam_policy.admin["iam"].policy).Statement : s if s.Sid == "ProtectOwnRolePolicyAndBoundary"]).Resource,
      "arn:aws:iam::123456789012:policy/art-service/admins/art-service-portal-runner"
    )
    error_message = "The iam administrator cannot widen the portal's own principal through the runner policy."
  }
}

run "resource_star_only_for_actions_aws_does_not_scope" {
  command = plan

  assert {
    condition = alltrue(flatten([for t, doc in output.policy_documents : [for s in jsondecode(doc).Statement : [for a in s.Action : contains([
      "ec2:Describe*", "elasticloadbalancing:Describe*", "autoscaling:Describe*", "application-autoscaling:Describe*",
      "logs:DescribeLogGroups", "ecs:DescribeTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:List*",
      "ecr:GetAuthorizationToken", "ecr:DescribeRegistry", "s3:ListAllMyBuckets", "ecs:PutAccountSettingDefault",
      "iam:ListRoles", "iam:ListPolicies", "iam:ListUsers", "iam:ListGroups", "iam:ListInstanceProfiles",
    ], a)] if s.Effect == "Allow" && contains(s.Resource, "*")]]))
    error_message = "An Allow on Resource \"*\" holds only actions AWS scopes by no resource."
  }
}

run "the_workloads_boundary_allows_what_a_task_needs_and_nothing_else" {
  command = plan

  assert {
    condition     = aws_iam_policy.workload_boundary.name == "art-service-workload-boundary" && aws_iam_policy.workload_boundary.path == "/art-service/admins/"
    error_message = "The workloads' boundary sits with the administrators, where the iam administrator may not change it."
  }

  # A task with a Secrets Manager secret, or one under a customer managed key, could not start
  # under the administrators' boundary (no secretsmanager:*, KMS only through S3 and ECR).
  assert {
    condition     = [for s in jsondecode(output.workload_boundary_policy_document).Statement : s.Resource if contains(s.Action, "secretsmanager:GetSecretValue")][0] == ["arn:aws:secretsmanager:*:123456789012:secret:*", "arn:aws:ssm:*:123456789012:parameter/*"]
    error_message = "Tasks may read this account's secrets and parameters (each execution role is granted exactly its own)."
  }

  assert {
    condition     = [for s in jsondecode(output.workload_boundary_policy_document).Statement : s.Condition if s.Action == ["kms:Decrypt"]][0] == { StringLike = { "kms:ViaService" = ["secretsmanager.*.amazonaws.com", "ssm.*.amazonaws.com"] } }
    error_message = "A secret under a customer managed key is decrypted through Secrets Manager or SSM only."
  }

  assert {
    condition     = alltrue(flatten([for s in jsondecode(output.workload_boundary_policy_document).Statement : [for a in s.Action : !startswith(a, "s3:") && !startswith(a, "iam:") && !startswith(a, "elasticloadbalancing:") && (!startswith(a, "ec2:") || a == "ec2:DescribeTags")]]))
    error_message = "No bucket, no IAM, no load balancer, no network for a workload role."
  }

  assert {
    condition     = alltrue([for s in jsondecode(output.workload_boundary_policy_document).Statement : s.Effect == "Allow" && !contains(s.Action, "*")])
    error_message = "The workloads' boundary names what it allows."
  }
}

run "policies_of_the_default" {
  command = plan
}

run "the_emulator_sees_star_resources_but_deny_s3_and_role_statements_stay_exact" {
  command = plan

  variables {
    emulator_wildcard_resources = true
  }

  assert {
    condition     = [for s in jsondecode(output.policy_documents["ecs"]).Statement : s.Resource if s.Sid == "EcsClustersServicesTaskDefinitions"][0] == ["*"] && [for s in jsondecode(output.policy_documents["ecr"]).Statement : s.Resource if s.Sid == "Repositories"][0] == ["*"]
    error_message = "Scoped Allow statements read \"*\" for the emulator."
  }

  assert {
    condition = alltrue([for t, doc in output.policy_documents :
    [for s in jsondecode(doc).Statement : s if s.Effect == "Deny"] == [for s in jsondecode(run.policies_of_the_default.policy_documents[t]).Statement : s if s.Effect == "Deny"]])
    error_message = "Deny statements stay exact."
  }

  assert {
    condition     = output.policy_documents["s3"] == run.policies_of_the_default.policy_documents["s3"] && output.state_policy_documents == run.policies_of_the_default.state_policy_documents && output.boundary_policy_document == run.policies_of_the_default.boundary_policy_document
    error_message = "S3 statements, state policies and the boundary stay exact."
  }

  assert {
    condition = alltrue([for sid in ["Roles", "BoundRolesOnlyWithTheBoundary", "AttachAllowedPoliciesToRoles", "PassWorkloadRolesToInstanceProfiles"] :
    [for s in jsondecode(output.policy_documents["iam"]).Statement : s if s.Sid == sid] == [for s in jsondecode(run.policies_of_the_default.policy_documents["iam"]).Statement : s if s.Sid == sid]])
    error_message = "IAM statements on existing roles stay exact: the emulator evaluates them against the role's ARN."
  }

  assert {
    condition = alltrue(flatten([for t, doc in output.policy_documents : [for s in jsondecode(doc).Statement :
      s.Resource == ["*"] || contains(jsondecode(run.policies_of_the_default.policy_documents[t]).Statement, s)
    if s.Effect == "Allow"]]))
    error_message = "Every other Allow statement either reads \"*\" or is unchanged."
  }

  assert {
    condition     = alltrue([for t, doc in output.policy_documents : [for s in jsondecode(doc).Statement : s.Condition if can(s.Condition)] == [for s in jsondecode(run.policies_of_the_default.policy_documents[t]).Statement : s.Condition if can(s.Condition)]])
    error_message = "Conditions are unchanged."
  }
}

run "people_without_a_boundary_on_the_emulator" {
  command = plan

  variables {
    user_permissions_boundary = false
  }

  assert {
    condition     = alltrue([for u in aws_iam_user.this : u.permissions_boundary == null])
    error_message = "Users get no boundary when it is turned off (the emulator keeps none)."
  }
}

run "force_destroy_can_be_chosen" {
  command = plan

  variables {
    force_destroy = true
  }

  assert {
    condition     = alltrue([for u in aws_iam_user.this : u.force_destroy])
    error_message = "force_destroy reaches every user."
  }
}

run "two_patterns_still_fit" {
  command = plan

  variables {
    administrators = {
      ecs = { name_patterns = ["art-service", "art-service-*"] }
      iam = { name_patterns = ["art-service", "art-service-*"] }
      vpc = { name_patterns = ["art-service", "art-service-*"] }
    }
  }

  assert {
    condition     = alltrue(flatten([for t, d in output.managed_policy_documents : [length(d.named) < 6144, length(d.base) < 6144]]))
    error_message = "Two name patterns per type still fit in the managed policies."
  }

  assert {
    condition     = [for s in jsondecode(output.policy_documents["vpc"]).Statement : s.Resource if s.Sid == "FlowLogGroups"][0] == ["arn:aws:logs:*:123456789012:log-group:/vpc/art-service", "arn:aws:logs:*:123456789012:log-group:/vpc/art-service:*", "arn:aws:logs:*:123456789012:log-group:/vpc/art-service/*", "arn:aws:logs:*:123456789012:log-group:/vpc/art-service-*"]
    error_message = "An exact name covers its log group, its streams and the groups under it."
  }
}

run "too_many_patterns_fail_at_plan_not_at_apply" {
  command = plan

  variables {
    administrators = {
      iam = { name_patterns = ["art-service-*"] }
      ecs = { name_patterns = ["art-service-a*", "art-service-b*", "art-service-c*", "art-service-d*", "art-service-e*", "art-service-f*", "art-service-g*", "art-service-h*", "art-service-i*", "art-service-j*"] }
    }
  }

  expect_failures = [aws_iam_policy.admin]
}

run "rejects_bad_prefix" {
  command = plan
  variables {
    name_prefix = "Art Service"
  }
  expect_failures = [var.name_prefix]
}

run "rejects_path_without_slashes" {
  command = plan
  variables {
    path = "admins"
  }
  expect_failures = [var.path]
}

run "rejects_no_administrators" {
  command = plan
  variables {
    administrators = {}
  }
  expect_failures = [var.administrators]
}

run "rejects_unknown_type" {
  command = plan
  variables {
    administrators = {
      iam    = { name_patterns = ["art-service-*"] }
      lambda = { name_patterns = ["art-service-*"] }
    }
  }
  expect_failures = [var.administrators]
}

run "rejects_administrators_without_iam" {
  command = plan
  variables {
    administrators = {
      ecs = { name_patterns = ["art-service-*"] }
    }
  }
  expect_failures = [var.administrators]
}

run "rejects_bad_name_pattern" {
  command = plan
  variables {
    administrators = {
      iam = { name_patterns = ["art-*-service"] }
    }
  }
  expect_failures = [var.administrators]
}

run "rejects_no_name_patterns" {
  command = plan
  variables {
    administrators = {
      iam = { name_patterns = [] }
    }
  }
  expect_failures = [var.administrators]
}

run "rejects_more_than_ten_name_patterns" {
  command = plan
  variables {
    administrators = {
      iam = { name_patterns = [for i in range(11) : "art-service-${i}-*"] }
    }
  }
  expect_failures = [var.administrators]
}

run "rejects_bad_bucket_name" {
  command = plan
  variables {
    state_bucket_name = "Art_Service_State"
  }
  expect_failures = [var.state_bucket_name]
}

run "rejects_prefix_with_a_star" {
  command = plan
  variables {
    state_key_prefixes = { ecs = ["ecs/*"] }
  }
  expect_failures = [var.state_key_prefixes]
}

run "rejects_prefix_without_trailing_slash" {
  command = plan
  variables {
    state_key_prefixes = { ecs = ["ecs/clusters"] }
  }
  expect_failures = [var.state_key_prefixes]
}

run "rejects_prefixes_of_an_unknown_type" {
  command = plan
  variables {
    state_key_prefixes = { lambda = ["lambda/"] }
  }
  expect_failures = [var.state_key_prefixes]
}

run "rejects_shared_key_that_is_not_a_state_file" {
  command = plan
  variables {
    shared_state_keys = ["vpc/*"]
  }
  expect_failures = [var.shared_state_keys]
}

run "rejects_no_runner" {
  command = plan
  variables {
    runner_principal_arns = []
  }
  expect_failures = [var.runner_principal_arns]
}

run "rejects_bad_runner_arn" {
  command = plan
  variables {
    runner_principal_arns = ["portal"]
  }
  expect_failures = [var.runner_principal_arns]
}

run "rejects_an_assumed_role_session_as_runner" {
  command = plan
  variables {
    runner_principal_arns = ["arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/someone@example.com"]
  }
  expect_failures = [var.runner_principal_arns]
}

run "accepts_a_role_with_a_path_as_runner" {
  command = plan
  variables {
    runner_principal_arns = ["arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef"]
  }

  assert {
    condition     = jsondecode(aws_iam_role.admin["iam"].assume_role_policy).Statement[0].Principal.AWS == ["arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef"]
    error_message = "A role is trusted by its whole ARN, path included."
  }
}

run "rejects_root_as_workload_role_path" {
  command = plan
  variables {
    workload_role_path = "/"
  }
  expect_failures = [var.workload_role_path]
}

run "rejects_workload_path_containing_the_admin_path" {
  command = plan
  variables {
    workload_role_path = "/art-service/"
  }
  expect_failures = [aws_iam_policy.boundary]
}
