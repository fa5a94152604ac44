data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

# ---------------------------------------------------------------------------------------------
# Names and ARNs. Every ARN is computed, not read from a resource: the policies are known at plan
# time, and the boundary can name itself without a cycle.
# ---------------------------------------------------------------------------------------------
locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  types      = toset(keys(var.administrators))

  iam = "arn:${local.partition}:iam::${local.account_id}"
  ec2 = "arn:${local.partition}:ec2:*:${local.account_id}"

  boundary_name   = "${var.name_prefix}-admin-boundary"
  boundary_arn    = "${local.iam}:policy${var.path}${local.boundary_name}"
  runner_name     = "${var.name_prefix}-portal-runner"
  runner_arn      = "${local.iam}:policy${var.path}${local.runner_name}"
  admin_names     = { for t in local.types : t => "${var.name_prefix}-${t}-admin" }
  admin_role_arns = { for t in local.types : t => "${local.iam}:role${var.path}${local.admin_names[t]}" }
  state_role_arns = { for t in local.types : t => "${local.iam}:role${var.path}${var.name_prefix}-${t}-state" }
  admin_policy_arns = {
    for t in local.types : t => "${local.iam}:policy${var.path}${local.admin_names[t]}"
  }

  bucket_arn = "arn:${local.partition}:s3:::${var.state_bucket_name}"

  # The portal tags every resource it makes with this, through the provider's default_tags.
  managed_by = { key = "ManagedBy", value = "infra-portal" }

  # The roles the iam administrator makes for workloads: the only roles anybody may pass.
  workload_roles = "${local.iam}:role${var.workload_role_path}*"

  # AWS's own broad policies: never attached by anyone this module bounds.
  broad_aws_policies = [
    for name in ["AdministratorAccess", "IAMFullAccess", "PowerUserAccess"] : "arn:${local.partition}:iam::aws:policy/${name}"
  ]

  # The managed policies the workload roles use (see the workload-roles module).
  workload_aws_policies = [
    "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
    "arn:${local.partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
    "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore",
  ]

  # Name patterns per type; an undeclared type has none (its statements are built but never used).
  patterns = { for t, a in var.administrators : t => a.name_patterns }
  p        = { for t in ["ecs", "ecr", "s3", "vpc", "iam", "logs", "elb", "autoscaling"] : t => lookup(local.patterns, t, []) }

  # A log group's own ARN, and with ":*" its streams (and the form several logs actions evaluate).
  # A pattern ending in "*" already covers both.
  log_groups = {
    ecs = flatten([for n in local.p.ecs : endswith(n, "*") ? ["log-group:/ecs/${n}"] : ["log-group:/ecs/${n}", "log-group:/ecs/${n}:*"]])
    # The network names its flow log group /vpc/<name>/flow-logs.
    vpc  = flatten([for n in local.p.vpc : endswith(n, "*") ? ["log-group:/vpc/${n}"] : ["log-group:/vpc/${n}", "log-group:/vpc/${n}:*", "log-group:/vpc/${n}/*"]])
    logs = flatten([for n in local.p.logs : endswith(n, "*") ? ["log-group:${n}", "log-group:/*/${n}"] : ["log-group:${n}", "log-group:${n}:*", "log-group:/*/${n}", "log-group:/*/${n}:*"]])
  }
  log_group_actions = [
    "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:*RetentionPolicy", "logs:*KmsKey", "logs:Tag*", "logs:Untag*",
    "logs:ListTags*", "logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents",
  ]
  log_group_arns = { for t, groups in local.log_groups : t => [for g in groups : "arn:${local.partition}:logs:*:${local.account_id}:${g}"] }

  # ECS: clusters, capacity providers and task definition families (with or without a revision) by
  # name; services, tasks and container instances by the cluster they run in.
  ecs_arns = flatten([for n in local.p.ecs : concat(
    [
      "arn:${local.partition}:ecs:*:${local.account_id}:cluster/${n}",
      "arn:${local.partition}:ecs:*:${local.account_id}:capacity-provider/${n}",
      "arn:${local.partition}:ecs:*:${local.account_id}:task-definition/${n}",
    ],
    endswith(n, "*") ? [] : ["arn:${local.partition}:ecs:*:${local.account_id}:task-definition/${n}:*"],
    [
      "arn:${local.partition}:ecs:*:${local.account_id}:service/${n}/*",
      "arn:${local.partition}:ecs:*:${local.account_id}:task/${n}/*",
      "arn:${local.partition}:ecs:*:${local.account_id}:container-instance/${n}/*",
    ],
  )])

  # Load balancers, listeners and rules are named after their load balancer; target groups by name.
  elb_arns = { for t, lb_type in { ecs = "app", elb = "*" } : t => flatten([for n in local.p[t] : [
    "arn:${local.partition}:elasticloadbalancing:*:${local.account_id}:loadbalancer/${lb_type}/${n}/*",
    "arn:${local.partition}:elasticloadbalancing:*:${local.account_id}:listener/${lb_type}/${n}/*",
    "arn:${local.partition}:elasticloadbalancing:*:${local.account_id}:listener-rule/${lb_type}/${n}/*",
    "arn:${local.partition}:elasticloadbalancing:*:${local.account_id}:targetgroup/${n}/*",
  ]]) }

  asg_arns = { for t in ["ecs", "autoscaling"] : t => [
    for n in local.p[t] : "arn:${local.partition}:autoscaling:*:${local.account_id}:autoScalingGroup:*:autoScalingGroupName/${n}"
  ] }

  # Application Auto Scaling names no scalable target (its id is random): the account's are the scope.
  scalable_targets = "arn:${local.partition}:application-autoscaling:*:${local.account_id}:scalable-target/*"

  # EC2 networking resources are named by id, not by name: the vpc administrator's scope is the
  # ManagedBy tag (set on create, required on every later change).
  network_arns = [for r in [
    "vpc", "subnet", "route-table", "internet-gateway", "natgateway", "elastic-ip",
    "security-group", "security-group-rule", "network-acl", "vpc-flow-log",
  ] : "${local.ec2}:${r}/*"]

  task_security_group_create_actions = ["ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress"]

  network_create_actions = [
    "ec2:CreateVpc", "ec2:CreateSubnet", "ec2:CreateRouteTable", "ec2:CreateInternetGateway",
    "ec2:CreateNatGateway", "ec2:AllocateAddress", "ec2:CreateSecurityGroup", "ec2:CreateNetworkAcl",
    "ec2:CreateFlowLogs", "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
  ]

  # IAM: the iam administrator's scope is its two paths, the administrators' and the workloads'
  # (people, users and groups, live under the administrators' path only).
  iam_paths = {
    role               = [var.path, var.workload_role_path]
    policy             = [var.path, var.workload_role_path]
    "instance-profile" = [var.path, var.workload_role_path]
    user               = [var.path]
    group              = [var.path]
  }
  iam_arns = { for kind, paths in local.iam_paths : kind => [for path in paths : "${local.iam}:${kind}${path}*"] }

  # What the iam administrator may attach: policies in its scope, and the AWS managed policies the
  # workload roles use.
  attachable_policies = concat(local.iam_arns.policy, local.workload_aws_policies)

  s3_bucket_arns = flatten([for n in local.p.s3 : ["arn:${local.partition}:s3:::${n}", "arn:${local.partition}:s3:::${n}/*"]])
  ecr_arns       = [for n in local.p.ecr : "arn:${local.partition}:ecr:*:${local.account_id}:repository/${n}"]

  # ---------------------------------------------------------------------------------------------
  # The state bucket: what nobody bounded here may do to it ("no administrator can delete the state
  # bucket, its policy or its versions", nor loosen its encryption, locking, ownership or access).
  # ---------------------------------------------------------------------------------------------
  state_bucket_protected_actions = [
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:DeleteObjectVersion",
    "s3:PutBucketVersioning",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutEncryptionConfiguration",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketAcl",
    "s3:PutReplicationConfiguration",
    "s3:BypassGovernanceRetention",
  ]

  protect_state_bucket = {
    Sid      = "ProtectStateBucket"
    Effect   = "Deny"
    Action   = local.state_bucket_protected_actions
    Resource = [local.bucket_arn, "${local.bucket_arn}/*"]
  }

  # Administrators never touch state objects: reading and writing state is the state roles' job.
  no_state_objects = {
    Sid      = "NoStateObjects"
    Effect   = "Deny"
    Action   = ["s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*", "s3:RestoreObject"]
    Resource = ["${local.bucket_arn}/*"]
  }

  # The KMS key of the state bucket (aws/s3 or the customer's), used only through S3; ECR
  # repositories' keys, only through ECR.
  kms_keys = "arn:${local.partition}:kms:*:${local.account_id}:key/*"

  # ---------------------------------------------------------------------------------------------
  # Admin policies, per type, in three parts:
  #   scoped: Allow statements on resource ARNs (become Resource "*" with emulator_wildcard_resources);
  #   exact:  Allow statements that stay as they are (S3, IAM on existing roles, and the statements
  #           on "*", each for actions AWS does not scope by resource: said at each one);
  #   deny:   explicit Deny statements, never conditional (the emulator would drop the condition).
  # ---------------------------------------------------------------------------------------------
  scoped = {
    ecs = [
      {
        Sid    = "EcsClustersServicesTaskDefinitions"
        Effect = "Allow"
        Action = [
          "ecs:Create*", "ecs:Update*", "ecs:Delete*", "ecs:PutClusterCapacityProviders", "ecs:RegisterTaskDefinition",
          "ecs:StopTask", "ecs:TagResource", "ecs:UntagResource", "ecs:Describe*", "ecs:List*",
        ]
        Resource = local.ecs_arns
      },
      {
        Sid      = "LoadBalancers"
        Effect   = "Allow"
        Action   = ["elasticloadbalancing:Create*", "elasticloadbalancing:Modify*", "elasticloadbalancing:Delete*", "elasticloadbalancing:Set*", "elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags", "elasticloadbalancing:*ListenerCertificates"]
        Resource = local.elb_arns.ecs
      },
      {
        Sid      = "AutoScalingGroups"
        Effect   = "Allow"
        Action   = ["autoscaling:*"]
        Resource = local.asg_arns.ecs
      },
      {
        # Launch templates, each service's own security group and its rule on the load balancer's
        # group (made by the vpc administrator): created only with the ManagedBy tag, changed only
        # where it is.
        Sid      = "CreateTaggedManagedBy"
        Effect   = "Allow"
        Action   = concat(["ec2:CreateLaunchTemplate"], local.task_security_group_create_actions)
        Resource = ["${local.ec2}:launch-template/*", "${local.ec2}:security-group*"]
        Condition = {
          StringEquals = { "aws:RequestTag/${local.managed_by.key}" = local.managed_by.value }
        }
      },
      {
        Sid    = "ChangeManagedBy"
        Effect = "Allow"
        Action = [
          "ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate", "ec2:DeleteLaunchTemplate*",
          "ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroup*", "ec2:RevokeSecurityGroup*", "ec2:ModifySecurityGroupRules",
          "ec2:DeleteSecurityGroup", "ec2:CreateTags", "ec2:DeleteTags",
        ]
        Resource = ["${local.ec2}:launch-template/*", "${local.ec2}:security-group*", "${local.ec2}:vpc/*"]
        Condition = {
          StringEquals = { "aws:ResourceTag/${local.managed_by.key}" = local.managed_by.value }
        }
      },
      {
        # The group launches its instances; creating or updating it checks that its creator may.
        Sid      = "RunInstancesFromLaunchTemplates"
        Effect   = "Allow"
        Action   = ["ec2:RunInstances"]
        Resource = ["${local.ec2}:*", "arn:${local.partition}:ec2:*::image/*"]
        Condition = {
          ArnLike = { "ec2:LaunchTemplate" = "${local.ec2}:launch-template/*" }
        }
      },
      {
        Sid      = "TagWhatItCreatesOnCreate"
        Effect   = "Allow"
        Action   = ["ec2:CreateTags"]
        Resource = ["${local.ec2}:*"]
        Condition = {
          StringEquals = { "ec2:CreateAction" = concat(["CreateLaunchTemplate", "RunInstances"], [for a in local.task_security_group_create_actions : trimprefix(a, "ec2:")]) }
        }
      },
      {
        Sid      = "EcsLogGroups"
        Effect   = "Allow"
        Action   = local.log_group_actions
        Resource = local.log_group_arns.ecs
      },
      {
        Sid      = "ScaleEcsServices"
        Effect   = "Allow"
        Action   = ["application-autoscaling:*ScalableTarget", "application-autoscaling:*ScalingPolicy"]
        Resource = [local.scalable_targets]
        Condition = {
          StringEquals = { "application-autoscaling:service-namespace" = "ecs" }
        }
      },
      {
        Sid      = "TagScalableTargets"
        Effect   = "Allow"
        Action   = ["application-autoscaling:TagResource", "application-autoscaling:UntagResource", "application-autoscaling:ListTagsForResource"]
        Resource = [local.scalable_targets]
      },
      {
        Sid      = "EcsOptimizedAmiParameters"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter", "ssm:GetParameters"]
        Resource = ["arn:${local.partition}:ssm:*::parameter/aws/service/ecs/*"]
      },
    ]

    ecr = [
      {
        Sid      = "Repositories"
        Effect   = "Allow"
        Action   = ["ecr:*"]
        Resource = local.ecr_arns
      },
      {
        # ECR makes a grant on the repository's key when it is created, and retires it on deletion.
        Sid      = "RepositoryKeysThroughEcr"
        Effect   = "Allow"
        Action   = ["kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey"]
        Resource = [local.kms_keys]
        Condition = {
          StringLike = { "kms:ViaService" = "ecr.*.amazonaws.com" }
        }
      },
    ]

    s3 = []

    vpc = [
      {
        Sid       = "CreateNetworkingTaggedManagedBy"
        Effect    = "Allow"
        Action    = local.network_create_actions
        Resource  = local.network_arns
        Condition = { StringEquals = { "aws:RequestTag/${local.managed_by.key}" = local.managed_by.value } }
      },
      {
        Sid       = "TagNetworkingOnCreate"
        Effect    = "Allow"
        Action    = ["ec2:CreateTags"]
        Resource  = local.network_arns
        Condition = { StringEquals = { "ec2:CreateAction" = [for a in local.network_create_actions : trimprefix(a, "ec2:")] } }
      },
      {
        # Creating in, attaching to, changing and deleting what carries the tag.
        Sid    = "ChangeNetworkingManagedBy"
        Effect = "Allow"
        Action = concat(local.network_create_actions, [
          "ec2:ModifyVpcAttribute", "ec2:ModifySubnetAttribute", "ec2:AttachInternetGateway", "ec2:DetachInternetGateway",
          "ec2:AssociateRouteTable", "ec2:DisassociateRouteTable", "ec2:ReplaceRouteTableAssociation",
          "ec2:CreateRoute", "ec2:ReplaceRoute", "ec2:DeleteRoute",
          "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress", "ec2:ModifySecurityGroupRules",
          "ec2:UpdateSecurityGroupRuleDescriptionsIngress", "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
          "ec2:CreateNetworkAclEntry", "ec2:ReplaceNetworkAclEntry", "ec2:DeleteNetworkAclEntry", "ec2:ReplaceNetworkAclAssociation",
          "ec2:DeleteVpc", "ec2:DeleteSubnet", "ec2:DeleteRouteTable", "ec2:DeleteInternetGateway", "ec2:DeleteNatGateway",
          "ec2:ReleaseAddress", "ec2:DeleteSecurityGroup", "ec2:DeleteNetworkAcl", "ec2:DeleteFlowLogs",
          "ec2:CreateTags", "ec2:DeleteTags",
        ])
        Resource  = local.network_arns
        Condition = { StringEquals = { "aws:ResourceTag/${local.managed_by.key}" = local.managed_by.value } }
      },
      {
        # A VPC's default security group is made by AWS without tags; the network module adopts it
        # (tags it, then closes it). Only an untagged group, and only with the tag.
        Sid      = "AdoptDefaultSecurityGroups"
        Effect   = "Allow"
        Action   = ["ec2:CreateTags"]
        Resource = ["${local.ec2}:security-group/*"]
        Condition = {
          StringEquals = { "aws:RequestTag/${local.managed_by.key}" = local.managed_by.value }
          Null         = { "aws:ResourceTag/${local.managed_by.key}" = "true" }
        }
      },
      {
        Sid      = "FlowLogGroups"
        Effect   = "Allow"
        Action   = local.log_group_actions
        Resource = local.log_group_arns.vpc
      },
    ]

    iam = [
      {
        # CreateRole names no existing role: the emulator sees "*" here.
        Sid      = "CreateOnlyWithTheBoundary"
        Effect   = "Allow"
        Action   = ["iam:CreateRole", "iam:CreateUser", "iam:PutUserPermissionsBoundary"]
        Resource = concat(local.iam_arns.role, local.iam_arns.user)
        Condition = {
          StringEquals = { "iam:PermissionsBoundary" = local.boundary_arn }
        }
      },
      {
        Sid       = "AttachAllowedPoliciesToUsersAndGroups"
        Effect    = "Allow"
        Action    = ["iam:AttachUserPolicy", "iam:DetachUserPolicy", "iam:AttachGroupPolicy", "iam:DetachGroupPolicy"]
        Resource  = concat(local.iam_arns.user, local.iam_arns.group)
        Condition = { ArnLike = { "iam:PolicyARN" = local.attachable_policies } }
      },
      {
        # Every action here names a policy or an instance profile, never a role: with
        # emulator_wildcard_resources these statements read "*", and a role action would then reach
        # every role. (AddRoleToInstanceProfile does name a role, which the emulator evaluates.)
        Sid    = "PoliciesAndInstanceProfiles"
        Effect = "Allow"
        Action = [
          "iam:CreatePolicy", "iam:DeletePolicy", "iam:GetPolicy", "iam:*PolicyVersion*",
          "iam:TagPolicy", "iam:UntagPolicy", "iam:ListPolicyTags", "iam:ListEntitiesForPolicy",
          "iam:*InstanceProfile", "iam:ListInstanceProfileTags",
        ]
        Resource = concat(local.iam_arns.policy, local.iam_arns["instance-profile"])
      },
      {
        # People. Their credentials are issued out of band; deleting hand-made ones is what
        # force_destroy needs.
        Sid    = "UsersAndGroups"
        Effect = "Allow"
        Action = [
          "iam:GetUser", "iam:DeleteUser", "iam:TagUser", "iam:UntagUser", "iam:ListUserTags", "iam:ListGroupsForUser",
          "iam:ListAttachedUserPolicies", "iam:ListUserPolicies", "iam:ListAccessKeys", "iam:DeleteAccessKey",
          "iam:ListSigningCertificates", "iam:DeleteSigningCertificate", "iam:ListSSHPublicKeys", "iam:DeleteSSHPublicKey",
          "iam:ListServiceSpecificCredentials", "iam:DeleteServiceSpecificCredential", "iam:ListMFADevices",
          "iam:DeactivateMFADevice", "iam:GetLoginProfile", "iam:DeleteLoginProfile",
          "iam:CreateGroup", "iam:GetGroup", "iam:DeleteGroup", "iam:AddUserToGroup", "iam:RemoveUserFromGroup",
          "iam:ListAttachedGroupPolicies", "iam:ListGroupPolicies",
        ]
        Resource = concat(local.iam_arns.user, local.iam_arns.group)
      },
    ]

    logs = [
      {
        Sid      = "LogGroups"
        Effect   = "Allow"
        Action   = ["logs:*"]
        Resource = local.log_group_arns.logs
      },
    ]

    elb = [
      {
        Sid      = "LoadBalancers"
        Effect   = "Allow"
        Action   = ["elasticloadbalancing:*"]
        Resource = local.elb_arns.elb
      },
    ]

    autoscaling = [
      {
        Sid      = "AutoScalingGroups"
        Effect   = "Allow"
        Action   = ["autoscaling:*"]
        Resource = local.asg_arns.autoscaling
      },
      {
        Sid      = "ScalableTargets"
        Effect   = "Allow"
        Action   = ["application-autoscaling:RegisterScalableTarget", "application-autoscaling:DeregisterScalableTarget", "application-autoscaling:PutScalingPolicy", "application-autoscaling:DeleteScalingPolicy", "application-autoscaling:PutScheduledAction", "application-autoscaling:DeleteScheduledAction", "application-autoscaling:TagResource", "application-autoscaling:UntagResource", "application-autoscaling:ListTagsForResource"]
        Resource = [local.scalable_targets]
      },
    ]
  }

  exact = {
    ecs = [
      {
        # Workload roles are made by the iam administrator; ECS and EC2 instances may be handed them.
        Sid      = "PassWorkloadRolesToEcsAndEc2"
        Effect   = "Allow"
        Action   = ["iam:PassRole"]
        Resource = [local.workload_roles]
        Condition = {
          StringEquals = { "iam:PassedToService" = ["ecs-tasks.amazonaws.com", "ec2.amazonaws.com"] }
        }
      },
      {
        # Describe/List calls of EC2, ELB, Auto Scaling and CloudWatch Logs, and ECS's task
        # definition reads and deregistration: AWS scopes none of these by resource.
        Sid    = "UnscopableReads"
        Effect = "Allow"
        Action = [
          "ec2:Describe*", "elasticloadbalancing:Describe*", "autoscaling:Describe*",
          "application-autoscaling:Describe*", "logs:DescribeLogGroups",
          "ecs:DescribeTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:ListClusters", "ecs:ListServices",
          "ecs:ListTaskDefinitions", "ecs:ListTaskDefinitionFamilies", "ecs:ListAccountSettings",
        ]
        Resource = ["*"]
      },
    ]

    ecr = [
      {
        # A registry login token is not a repository resource.
        Sid      = "RegistryLogin"
        Effect   = "Allow"
        Action   = ["ecr:GetAuthorizationToken", "ecr:DescribeRegistry"]
        Resource = ["*"]
      },
    ]

    s3 = [
      {
        Sid      = "Buckets"
        Effect   = "Allow"
        Action   = ["s3:*"]
        Resource = local.s3_bucket_arns
      },
      {
        # The s3 administrator runs the state bucket's workspace: reading its configuration (s3:Get*
        # on the bucket's own ARN reaches no object; HeadBucket is s3:ListBucket) is what a plan of it
        # needs. Its changes go through the bootstrap identity; its objects through the state roles.
        Sid      = "ReadStateBucketConfiguration"
        Effect   = "Allow"
        Action   = ["s3:ListBucket", "s3:Get*"]
        Resource = [local.bucket_arn]
      },
      {
        # Listing buckets is an account-wide call.
        Sid      = "ListBuckets"
        Effect   = "Allow"
        Action   = ["s3:ListAllMyBuckets"]
        Resource = ["*"]
      },
    ]

    vpc = [
      {
        Sid      = "PassFlowLogRoles"
        Effect   = "Allow"
        Action   = ["iam:PassRole"]
        Resource = [local.workload_roles]
        Condition = {
          StringEquals = { "iam:PassedToService" = "vpc-flow-logs.amazonaws.com" }
        }
      },
      {
        # EC2 Describe calls and listing log groups: AWS scopes neither by resource.
        Sid      = "UnscopableReads"
        Effect   = "Allow"
        Action   = ["ec2:Describe*", "logs:DescribeLogGroups"]
        Resource = ["*"]
      },
    ]

    iam = [
      {
        # Calls naming an existing role: the emulator sees that role's ARN, so these stay exact there.
        Sid    = "Roles"
        Effect = "Allow"
        Action = [
          "iam:Get*", "iam:List*", "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:PutRolePolicy",
          "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole",
        ]
        Resource = local.iam_arns.role
      },
      {
        Sid       = "BoundRolesOnlyWithTheBoundary"
        Effect    = "Allow"
        Action    = ["iam:PutRolePermissionsBoundary"]
        Resource  = local.iam_arns.role
        Condition = { StringEquals = { "iam:PermissionsBoundary" = local.boundary_arn } }
      },
      {
        Sid       = "AttachAllowedPoliciesToRoles"
        Effect    = "Allow"
        Action    = ["iam:AttachRolePolicy", "iam:DetachRolePolicy"]
        Resource  = local.iam_arns.role
        Condition = { ArnLike = { "iam:PolicyARN" = local.attachable_policies } }
      },
      {
        # AWS checks iam:PassRole when a role is added to an instance profile; the iam administrator
        # passes workload roles to nothing else (it may call no other service).
        Sid       = "PassWorkloadRolesToInstanceProfiles"
        Effect    = "Allow"
        Action    = ["iam:PassRole"]
        Resource  = [local.workload_roles]
        Condition = { ArnLike = { "iam:AssociatedResourceArn" = "${local.ec2}:instance/*" } }
      },
      {
        # Listing an account's roles, policies, users, groups and instance profiles: no resource.
        Sid      = "UnscopableLists"
        Effect   = "Allow"
        Action   = ["iam:ListRoles", "iam:ListPolicies", "iam:ListUsers", "iam:ListGroups", "iam:ListInstanceProfiles"]
        Resource = ["*"]
      },
    ]

    logs = [
      {
        # Listing log groups: no resource.
        Sid      = "UnscopableReads"
        Effect   = "Allow"
        Action   = ["logs:DescribeLogGroups"]
        Resource = ["*"]
      },
    ]

    elb = [
      {
        # ELB Describe calls: no resource.
        Sid      = "UnscopableReads"
        Effect   = "Allow"
        Action   = ["elasticloadbalancing:Describe*"]
        Resource = ["*"]
      },
    ]

    autoscaling = [
      {
        # Auto Scaling and Application Auto Scaling Describe calls: no resource.
        Sid      = "UnscopableReads"
        Effect   = "Allow"
        Action   = ["autoscaling:Describe*", "application-autoscaling:Describe*"]
        Resource = ["*"]
      },
    ]
  }

  deny_common = [local.protect_state_bucket, local.no_state_objects]

  deny = merge(
    { for t in ["ecs", "ecr", "s3", "vpc", "logs", "elb", "autoscaling"] : t => local.deny_common },
    {
      iam = concat(local.deny_common, [
        {
          # The iam administrator cannot widen itself, nor the portal's own principal: its role, its
          # policy, the boundary and the runner policy change only through the bootstrap identity.
          Sid    = "ProtectOwnRolePolicyAndBoundary"
          Effect = "Deny"
          Action = [
            "iam:Attach*", "iam:Detach*", "iam:Put*", "iam:Delete*", "iam:Update*", "iam:Tag*", "iam:Untag*",
            "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion",
          ]
          Resource = [lookup(local.admin_role_arns, "iam", ""), lookup(local.admin_policy_arns, "iam", ""), local.boundary_arn, local.runner_arn]
        },
        {
          Sid      = "KeepPermissionsBoundaries"
          Effect   = "Deny"
          Action   = ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"]
          Resource = ["*"]
        },
        {
          Sid      = "NoAccessKeys"
          Effect   = "Deny"
          Action   = ["iam:CreateAccessKey"]
          Resource = ["*"]
        },
      ])
    },
  )

  admin_policies = {
    for t in local.types : t => jsonencode({
      Version = "2012-10-17"
      Statement = concat(
        [for s in local.scoped[t] : merge(s, { Resource = var.emulator_wildcard_resources ? ["*"] : s.Resource })],
        local.exact[t],
        local.deny[t],
      )
    })
  }

  # ---------------------------------------------------------------------------------------------
  # State roles: a type reads and writes its own prefixes, deletes only lock files there, and reads
  # the platform's shared keys. The portal narrows each run further to one key (session policy).
  # ---------------------------------------------------------------------------------------------
  state_prefixes = { for t in local.types : t => lookup(var.state_key_prefixes, t, []) }

  state_policies = {
    for t in local.types : t => jsonencode({
      Version = "2012-10-17"
      Statement = concat(
        [for s in [
          {
            Sid      = "ListOwnAndSharedKeys"
            Effect   = "Allow"
            Action   = ["s3:ListBucket"]
            Resource = [local.bucket_arn]
            Condition = {
              StringLike = { "s3:prefix" = concat([for p in local.state_prefixes[t] : "${p}*"], var.shared_state_keys) }
            }
          },
          {
            # The state bucket's key (aws/s3 or the customer's), used through S3 only.
            Sid       = "StateKeyThroughS3"
            Effect    = "Allow"
            Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
            Resource  = [local.kms_keys]
            Condition = { StringLike = { "kms:ViaService" = "s3.*.amazonaws.com" } }
          },
        ] : s if length(local.state_prefixes[t]) + length(var.shared_state_keys) > 0],
        [for s in [
          {
            Sid      = "ReadWriteOwnState"
            Effect   = "Allow"
            Action   = ["s3:GetObject", "s3:PutObject"]
            Resource = [for p in local.state_prefixes[t] : "${local.bucket_arn}/${p}*"]
          },
          {
            # State objects are never deleted; lock files are, when a run releases its lock.
            Sid      = "DeleteOwnLockFiles"
            Effect   = "Allow"
            Action   = ["s3:DeleteObject"]
            Resource = [for p in local.state_prefixes[t] : "${local.bucket_arn}/${p}*.tflock"]
          },
        ] : s if length(local.state_prefixes[t]) > 0],
        [for s in [
          {
            Sid      = "ReadSharedState"
            Effect   = "Allow"
            Action   = ["s3:GetObject"]
            Resource = [for k in var.shared_state_keys : "${local.bucket_arn}/${k}"]
          },
        ] : s if length(var.shared_state_keys) > 0],
        [local.protect_state_bucket],
      )
    })
  }

  # ---------------------------------------------------------------------------------------------
  # The permissions boundary of every admin role, state role and admin user, and of every role the
  # iam administrator creates: the union of what the types and the workloads need, minus what
  # nobody may do. It grants nothing by itself and may not be attached as a permissions policy.
  # ---------------------------------------------------------------------------------------------
  boundary_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # The types' services, and what the workload roles use (ECS agent, SSM Session Manager).
        Sid    = "ServicesOfTheTypesAndWorkloads"
        Effect = "Allow"
        Action = [
          "ecs:*", "ecr:*", "ec2:*", "elasticloadbalancing:*", "autoscaling:*", "application-autoscaling:*",
          "logs:*", "s3:*", "ssm:*", "ssmmessages:*", "ec2messages:*",
        ]
        Resource = ["*"]
      },
      {
        Sid      = "IamUnderTheAdministratorsAndWorkloadsPaths"
        Effect   = "Allow"
        Action   = ["iam:*"]
        Resource = flatten(values(local.iam_arns))
      },
      {
        Sid      = "IamLists"
        Effect   = "Allow"
        Action   = ["iam:ListRoles", "iam:ListPolicies", "iam:ListUsers", "iam:ListGroups", "iam:ListInstanceProfiles"]
        Resource = ["*"]
      },
      {
        Sid       = "KeysThroughS3AndEcr"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey"]
        Resource  = ["*"]
        Condition = { StringLike = { "kms:ViaService" = ["s3.*.amazonaws.com", "ecr.*.amazonaws.com"] } }
      },
      {
        Sid      = "ProtectTheBoundary"
        Effect   = "Deny"
        Action   = ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:TagPolicy", "iam:UntagPolicy"]
        Resource = [local.boundary_arn]
      },
      {
        Sid      = "KeepPermissionsBoundaries"
        Effect   = "Deny"
        Action   = ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"]
        Resource = ["*"]
      },
      {
        # Conditional Deny: fine in a boundary (the emulator evaluates no boundary at all).
        Sid       = "CreateAndBoundOnlyWithThisBoundary"
        Effect    = "Deny"
        Action    = ["iam:CreateRole", "iam:CreateUser", "iam:PutRolePermissionsBoundary", "iam:PutUserPermissionsBoundary"]
        Resource  = ["*"]
        Condition = { StringNotEquals = { "iam:PermissionsBoundary" = local.boundary_arn } }
      },
      {
        Sid       = "NoBroadPoliciesNorTheBoundaryAsPermissions"
        Effect    = "Deny"
        Action    = ["iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:AttachGroupPolicy"]
        Resource  = ["*"]
        Condition = { ArnEquals = { "iam:PolicyARN" = concat(local.broad_aws_policies, [local.boundary_arn]) } }
      },
      {
        # People's keys are issued out of band, never in a Terraform state.
        Sid      = "NoAccessKeys"
        Effect   = "Deny"
        Action   = ["iam:CreateAccessKey"]
        Resource = ["*"]
      },
      local.protect_state_bucket,
    ]
  })

  runner_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid    = "AssumeAdministratorAndStateRoles"
      Effect = "Allow"
      Action = ["sts:AssumeRole"]
      # Every administrator's and state role's name, not a list of today's types: the document never
      # changes when a type is added, so the iam administrator is denied any edit of it.
      Resource = ["${local.iam}:role${var.path}${var.name_prefix}-*-admin", "${local.iam}:role${var.path}${var.name_prefix}-*-state"]
    }]
  })

  trust_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "PortalRunner"
      Effect    = "Allow"
      Principal = { AWS = var.runner_principal_arns }
      Action    = "sts:AssumeRole"
    }]
  })
}

# IAM allows 6144 characters in a managed policy; checked at plan, not at apply.
resource "aws_iam_policy" "boundary" {
  name        = local.boundary_name
  path        = var.path
  description = "Permissions boundary of the ${var.name_prefix} administrators, their state roles and every role the iam administrator creates."
  policy      = local.boundary_policy
  tags        = var.tags

  lifecycle {
    precondition {
      condition     = length(local.boundary_policy) <= 6144
      error_message = "The boundary policy is longer than the 6144 characters IAM allows."
    }

    # A precondition, not a validation: a validation referring to another variable needs Terraform 1.9.
    precondition {
      condition     = !startswith(var.path, var.workload_role_path) && !startswith(var.workload_role_path, var.path)
      error_message = "The path and workload_role_path must not contain one another: the ecs and vpc administrators may pass every role under workload_role_path."
    }
  }
}

resource "aws_iam_policy" "admin" {
  for_each = local.admin_policies

  name = local.admin_names[each.key]
  path = var.path
  # Not the name patterns: IAM cannot change a policy's description, so a new scope would replace
  # the policy (and fail while it is attached).
  description = "Administers ${each.key} for ${var.name_prefix}; managed by the infrastructure portal."
  policy      = each.value
  tags        = merge(var.tags, { ServiceType = each.key })

  lifecycle {
    precondition {
      condition     = length(each.value) <= 6144
      error_message = "The ${each.key} administrator's policy is ${length(each.value)} characters, IAM allows 6144: give the type fewer or shorter name_patterns (for iam: shorter paths)."
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Roles: what the portal's runs act with. Trusted by the runner only.
# ---------------------------------------------------------------------------------------------
resource "aws_iam_role" "admin" {
  for_each = local.types

  name                 = local.admin_names[each.key]
  path                 = var.path
  description          = "The ${each.key} administrator of ${var.name_prefix}: the AWS provider of the portal's ${each.key} workspaces."
  assume_role_policy   = local.trust_policy
  permissions_boundary = local.boundary_arn
  max_session_duration = 3600
  tags                 = merge(var.tags, { ServiceType = each.key })

  depends_on = [aws_iam_policy.boundary]
}

resource "aws_iam_role_policy_attachment" "admin" {
  for_each = local.types

  role       = aws_iam_role.admin[each.key].name
  policy_arn = aws_iam_policy.admin[each.key].arn
}

resource "aws_iam_role" "state" {
  for_each = local.types

  name                 = "${var.name_prefix}-${each.key}-state"
  path                 = var.path
  description          = "The S3 backend of the portal's ${each.key} workspaces: their state keys, and the platform's shared keys to read."
  assume_role_policy   = local.trust_policy
  permissions_boundary = local.boundary_arn
  max_session_duration = 3600
  tags                 = merge(var.tags, { ServiceType = each.key })

  depends_on = [aws_iam_policy.boundary]
}

resource "aws_iam_role_policy" "state" {
  for_each = local.state_policies

  name   = "terraform-state"
  role   = aws_iam_role.state[each.key].name
  policy = each.value
}

# The portal's own principal attaches this, and may do nothing else.
resource "aws_iam_policy" "runner" {
  name        = local.runner_name
  path        = var.path
  description = "The ${var.name_prefix} infrastructure portal: assume the administrator and state roles, nothing else."
  policy      = local.runner_policy
  tags        = var.tags
}

# ---------------------------------------------------------------------------------------------
# People, as in the original design: a user and a group per type; the policy sits on the group.
# ---------------------------------------------------------------------------------------------
resource "aws_iam_group" "this" {
  for_each = local.types

  name = "${var.name_prefix}-${each.key}-admins"
  path = var.path
}

resource "aws_iam_group_policy_attachment" "this" {
  for_each = local.types

  group      = aws_iam_group.this[each.key].name
  policy_arn = aws_iam_policy.admin[each.key].arn
}

# No access keys here: they would land in the state. Keys are issued out of band.
resource "aws_iam_user" "this" {
  #checkov:skip=CKV_AWS_273:The original design keeps one IAM user per service type; SSO is the way to replace them later.
  for_each = local.types

  name                 = local.admin_names[each.key]
  path                 = var.path
  permissions_boundary = var.user_permissions_boundary ? local.boundary_arn : null
  force_destroy        = var.force_destroy
  tags                 = merge(var.tags, { ServiceType = each.key })

  depends_on = [aws_iam_policy.boundary]
}

resource "aws_iam_user_group_membership" "this" {
  for_each = local.types

  user   = aws_iam_user.this[each.key].name
  groups = [aws_iam_group.this[each.key].name]
}
