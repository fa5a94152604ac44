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

  boundary_name = "${var.name_prefix}-admin-boundary"
  boundary_arn  = "${local.iam}:policy${var.path}${local.boundary_name}"
  # The workloads' roles (task execution, instances, flow logs) get a boundary of their own, as
  # narrow as a task needs: the administrators' boundary would let them reach every bucket and subnet.
  workload_boundary_name = "${var.name_prefix}-workload-boundary"
  workload_boundary_arn  = "${local.iam}:policy${var.path}${local.workload_boundary_name}"
  runner_name            = "${var.name_prefix}-portal-runner"
  runner_arn             = "${local.iam}:policy${var.path}${local.runner_name}"
  admin_names            = { for t in local.types : t => "${var.name_prefix}-${t}-admin" }
  admin_role_arns        = { for t in local.types : t => "${local.iam}:role${var.path}${local.admin_names[t]}" }
  state_role_arns        = { for t in local.types : t => "${local.iam}:role${var.path}${var.name_prefix}-${t}-state" }
  admin_policy_arns = {
    for t in local.types : t => "${local.iam}:policy${var.path}${local.admin_names[t]}"
  }
  base_policy_arns = {
    for t in local.types : t => "${local.iam}:policy${var.path}${local.admin_names[t]}-base"
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

  # The service-linked roles the platform's services need in an account that never used them. The
  # first CreateCluster, CreateLoadBalancer, CreateAutoScalingGroup or RegisterScalableTarget makes
  # its service's role, as the caller, with iam:CreateServiceLinkedRole ("Using service-linked roles
  # for Amazon ECS"; Application Auto Scaling's "Identity and Access Management"). The bootstrap makes
  # them with the portal's own credentials; the ecs administrator may make them again if one is
  # deleted, and no other service-linked role.
  service_linked_roles = {
    "ecs.amazonaws.com"                         = "AWSServiceRoleForECS"
    "elasticloadbalancing.amazonaws.com"        = "AWSServiceRoleForElasticLoadBalancing"
    "autoscaling.amazonaws.com"                 = "AWSServiceRoleForAutoScaling"
    "ecs.application-autoscaling.amazonaws.com" = "AWSServiceRoleForApplicationAutoScaling_ECSService"
  }
  service_linked_roles_in = "${local.iam}:role/aws-service-role/*"

  # Application Auto Scaling checks that whoever creates a target-tracking policy may create, read
  # and delete CloudWatch alarms, before it creates the alarms itself ("Permissions validation for
  # API calls on target resources"; ECS's "IAM permissions required for service auto scaling"). The
  # alarm its check names is not documented, so the account's alarms are the scope.
  alarms = "arn:${local.partition}:cloudwatch:*:${local.account_id}:alarm:*"

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
          "ecs:StopTask", "ecs:TagResource", "ecs:UntagResource", "ecs:Describe*",
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
      {
        Sid      = "TargetTrackingAlarms"
        Effect   = "Allow"
        Action   = ["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"]
        Resource = [local.alarms]
      },
      {
        Sid       = "ServiceLinkedRolesOfThePlatform"
        Effect    = "Allow"
        Action    = ["iam:CreateServiceLinkedRole"]
        Resource  = [local.service_linked_roles_in]
        Condition = { StringEquals = { "iam:AWSServiceName" = keys(local.service_linked_roles) } }
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
        # CreateRole names no existing role: the emulator sees "*" here. Under the administrators'
        # path with their boundary, under the workloads' path with theirs.
        Sid      = "CreateAdministratorsOnlyWithTheirBoundary"
        Effect   = "Allow"
        Action   = ["iam:CreateRole", "iam:CreateUser", "iam:PutUserPermissionsBoundary"]
        Resource = ["${local.iam}:role${var.path}*", "${local.iam}:user${var.path}*"]
        Condition = {
          StringEquals = { "iam:PermissionsBoundary" = local.boundary_arn }
        }
      },
      {
        Sid      = "CreateWorkloadRolesOnlyWithTheirBoundary"
        Effect   = "Allow"
        Action   = ["iam:CreateRole"]
        Resource = ["${local.iam}:role${var.workload_role_path}*"]
        Condition = {
          StringEquals = { "iam:PermissionsBoundary" = local.workload_boundary_arn }
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
        # Reading them whole (Get*, List*) is what a plan of a user or group needs.
        Action = [
          "iam:Get*", "iam:List*", "iam:DeleteUser", "iam:TagUser", "iam:UntagUser", "iam:DeleteAccessKey",
          "iam:DeleteSigningCertificate", "iam:DeleteSSHPublicKey", "iam:DeleteServiceSpecificCredential",
          "iam:DeactivateMFADevice", "iam:DeleteLoginProfile",
          "iam:CreateGroup", "iam:DeleteGroup", "iam:AddUserToGroup", "iam:RemoveUserFromGroup",
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
        # ENI trunking, the way to many awsvpc tasks per instance, is an ECS account setting the
        # cluster sets as the account's default (ecs-cluster's awsvpc_trunking); the action names
        # no resource, the condition key names the setting.
        Sid       = "EcsAwsvpcTrunkingAccountDefault"
        Effect    = "Allow"
        Action    = ["ecs:PutAccountSettingDefault"]
        Resource  = ["*"]
        Condition = { StringEquals = { "ecs:account-setting" = "awsvpcTrunking" } }
      },
      {
        Sid    = "UnscopableReads"
        Effect = "Allow"
        Action = [
          "ec2:Describe*", "elasticloadbalancing:Describe*", "autoscaling:Describe*",
          "application-autoscaling:Describe*", "logs:DescribeLogGroups",
          "ecs:DescribeTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:List*",
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
        Sid       = "BoundAdministratorRolesOnlyWithTheirBoundary"
        Effect    = "Allow"
        Action    = ["iam:PutRolePermissionsBoundary"]
        Resource  = ["${local.iam}:role${var.path}*"]
        Condition = { StringEquals = { "iam:PermissionsBoundary" = local.boundary_arn } }
      },
      {
        # Also how a workload role made under the administrators' boundary (before there was one of
        # their own) moves to the narrower one.
        Sid       = "BoundWorkloadRolesOnlyWithTheirBoundary"
        Effect    = "Allow"
        Action    = ["iam:PutRolePermissionsBoundary"]
        Resource  = ["${local.iam}:role${var.workload_role_path}*"]
        Condition = { StringEquals = { "iam:PermissionsBoundary" = local.workload_boundary_arn } }
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
          Resource = [lookup(local.admin_role_arns, "iam", ""), lookup(local.admin_policy_arns, "iam", ""), lookup(local.base_policy_arns, "iam", ""), local.boundary_arn, local.workload_boundary_arn, local.runner_arn]
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

  # Each administrator holds two managed policies, so that a type fits IAM's 6144 characters with
  # several name patterns: "<prefix>-<type>-admin", the statements its name patterns scope (the only
  # part that grows with them) and the explicit denies; "<prefix>-<type>-admin-base", the rest.
  named_sids = {
    ecs         = ["EcsClustersServicesTaskDefinitions", "LoadBalancers", "AutoScalingGroups", "EcsLogGroups"]
    ecr         = ["Repositories"]
    s3          = ["Buckets"]
    vpc         = ["FlowLogGroups"]
    iam         = []
    logs        = ["LogGroups"]
    elb         = ["LoadBalancers"]
    autoscaling = ["AutoScalingGroups"]
  }
  allows = {
    for t in local.types : t => concat(
      [for s in local.scoped[t] : merge(s, { Resource = var.emulator_wildcard_resources ? ["*"] : s.Resource })],
      local.exact[t],
    )
  }
  admin_policies = {
    for t in local.types : t => jsonencode({
      Version   = "2012-10-17"
      Statement = concat([for s in local.allows[t] : s if contains(local.named_sids[t], s.Sid)], local.deny[t])
    })
  }
  base_policies = {
    for t in local.types : t => jsonencode({
      Version   = "2012-10-17"
      Statement = [for s in local.allows[t] : s if !contains(local.named_sids[t], s.Sid)]
    })
  }
  # What each administrator may do, whole: for people reading it (the Administrators page).
  whole_policies = {
    for t in local.types : t => jsonencode({ Version = "2012-10-17", Statement = concat(local.allows[t], local.deny[t]) })
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
            # Without a condition, on purpose. S3 answers a request for a key that does not exist
            # with 404 only when the caller also has s3:ListBucket on the bucket, and 403 otherwise
            # (the S3 API Reference, HeadObject and GetObject, "Permissions"). That ListBucket is
            # evaluated with the HEAD request's own context, which carries no s3:prefix, so a
            # prefix condition never matches it; terraform's S3 backend takes only a 404 for "no
            # state yet" (v1.11 client.go, RemoteClient.get), so the first plan of every new
            # workspace failed with 403. What the list shows, key names, are the workspace paths the
            # portal shows anyway; reading and writing stay per prefix below, and per run (session policy).
            Sid      = "ListStateKeys"
            Effect   = "Allow"
            Action   = ["s3:ListBucket"]
            Resource = [local.bucket_arn]
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
  # The permissions boundary of every administrator role, state role and administrator user, and of
  # every role the iam administrator creates under the administrators' path. It allows no action no
  # administrator's policy names, and where AWS scopes by resource and the scope follows from this
  # module's own inputs (the prefix, the paths, the state bucket), only there. It must not depend on
  # which types are declared nor on their name patterns: only the bootstrap identity may change it
  # (the iam administrator is denied), so a change of the administrators must never change it.
  # It grants nothing by itself and may not be attached as a permissions policy.
  # ---------------------------------------------------------------------------------------------
  every_admin_allow  = flatten([for t in keys(local.scoped) : [for s in concat(local.scoped[t], local.exact[t]) : s if s.Effect == "Allow"]])
  every_admin_action = distinct(flatten([for s in local.every_admin_allow : s.Action]))
  admin_actions_of   = { for svc in ["ec2", "s3", "cloudwatch", "ssm"] : svc => sort([for a in local.every_admin_action : a if startswith(a, "${svc}:")]) }

  # EC2 is where "everything on *" reaches furthest (instances, snapshots, every VPC of the
  # account): only the actions an administrator's policy names, an action already covered by one of
  # their wildcards left out so that the document fits IAM's size limit.
  ec2_wildcards         = [for a in local.admin_actions_of.ec2 : trimsuffix(a, "*") if endswith(a, "*")]
  boundary_ec2_actions  = [for a in local.admin_actions_of.ec2 : a if endswith(a, "*") || !anytrue([for w in local.ec2_wildcards : startswith(a, w)])]
  boundary_own_services = ["ecs:*", "ecr:*", "elasticloadbalancing:*", "autoscaling:*", "application-autoscaling:*", "logs:*"]

  both_boundaries = [local.boundary_arn, local.workload_boundary_arn]

  boundary_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # The services that hold nothing but what the administrators make: their own policies
        # scope these by name pattern.
        Sid      = "TheAdministeredServices"
        Effect   = "Allow"
        Action   = local.boundary_own_services
        Resource = ["*"]
      },
      {
        Sid      = "TheEc2ActionsOfTheAdministrators"
        Effect   = "Allow"
        Action   = local.boundary_ec2_actions
        Resource = ["*"]
      },
      {
        # The state bucket, and buckets named after the prefix (the s3 administrator's scope).
        Sid    = "BucketsOfThePrefix"
        Effect = "Allow"
        Action = distinct(concat([for a in local.admin_actions_of.s3 : a if a != "s3:ListAllMyBuckets"], ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"]))
        Resource = [
          local.bucket_arn, "${local.bucket_arn}/*",
          "arn:${local.partition}:s3:::${var.name_prefix}*", "arn:${local.partition}:s3:::${var.name_prefix}*/*",
        ]
      },
      {
        Sid      = "ListBuckets"
        Effect   = "Allow"
        Action   = ["s3:ListAllMyBuckets"]
        Resource = ["*"]
      },
      {
        Sid      = "PublicAmiParameters"
        Effect   = "Allow"
        Action   = local.admin_actions_of.ssm
        Resource = ["arn:${local.partition}:ssm:*::parameter/aws/service/*"]
      },
      {
        Sid      = "AlarmsOfTheAccount"
        Effect   = "Allow"
        Action   = local.admin_actions_of.cloudwatch
        Resource = [local.alarms]
      },
      {
        Sid      = "IamUnderTheAdministratorsAndWorkloadsPaths"
        Effect   = "Allow"
        Action   = ["iam:*"]
        Resource = flatten(values(local.iam_arns))
      },
      {
        Sid      = "ServiceLinkedRolesOfThePlatform"
        Effect   = "Allow"
        Action   = ["iam:CreateServiceLinkedRole"]
        Resource = [local.service_linked_roles_in]
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
        Sid      = "ProtectTheBoundaries"
        Effect   = "Deny"
        Action   = ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:TagPolicy", "iam:UntagPolicy"]
        Resource = local.both_boundaries
      },
      {
        Sid      = "KeepPermissionsBoundaries"
        Effect   = "Deny"
        Action   = ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"]
        Resource = ["*"]
      },
      {
        # Conditional Deny: fine in a boundary (the emulator evaluates no boundary at all).
        Sid       = "AdministratorsOnlyWithTheirBoundary"
        Effect    = "Deny"
        Action    = ["iam:CreateRole", "iam:CreateUser", "iam:PutRolePermissionsBoundary", "iam:PutUserPermissionsBoundary"]
        Resource  = ["${local.iam}:role${var.path}*", "${local.iam}:user${var.path}*"]
        Condition = { StringNotEquals = { "iam:PermissionsBoundary" = local.boundary_arn } }
      },
      {
        Sid       = "WorkloadRolesOnlyWithTheirBoundary"
        Effect    = "Deny"
        Action    = ["iam:CreateRole", "iam:PutRolePermissionsBoundary"]
        Resource  = ["${local.iam}:role${var.workload_role_path}*"]
        Condition = { StringNotEquals = { "iam:PermissionsBoundary" = local.workload_boundary_arn } }
      },
      {
        Sid       = "NoBroadPoliciesNorABoundaryAsPermissions"
        Effect    = "Deny"
        Action    = ["iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:AttachGroupPolicy"]
        Resource  = ["*"]
        Condition = { ArnEquals = { "iam:PolicyARN" = concat(local.broad_aws_policies, local.both_boundaries) } }
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

  # ---------------------------------------------------------------------------------------------
  # The permissions boundary of the workloads' roles (workload-roles module): what ECS needs to start
  # a task (pull its image, write its logs, read its secrets), what the ECS agent and SSM Session
  # Manager need on an instance (the AWS managed policies AmazonEC2ContainerServiceforEC2Role and
  # AmazonSSMManagedInstanceCore), and what VPC Flow Logs write. Nothing else, whatever policy the
  # iam administrator attaches: no bucket, no subnet, no IAM. A new action in one of those AWS managed
  # policies must be added here before a role needs it.
  # ---------------------------------------------------------------------------------------------
  workload_boundary_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "PullImages"
        Effect   = "Allow"
        Action   = ["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
        Resource = ["*"]
      },
      {
        Sid      = "WriteLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
        Resource = ["arn:${local.partition}:logs:*:${local.account_id}:log-group:*"]
      },
      {
        # Secrets Manager secrets and SSM parameters of this account; each execution role's own
        # policy grants exactly its service's.
        Sid    = "ReadSecrets"
        Effect = "Allow"
        Action = ["secretsmanager:GetSecretValue", "ssm:GetParameters", "ssm:GetParameter"]
        Resource = [
          "arn:${local.partition}:secretsmanager:*:${local.account_id}:secret:*",
          "arn:${local.partition}:ssm:*:${local.account_id}:parameter/*",
        ]
      },
      {
        # A secret under a customer managed key is decrypted through its own service.
        Sid       = "DecryptSecretsThroughTheirService"
        Effect    = "Allow"
        Action    = ["kms:Decrypt"]
        Resource  = ["arn:${local.partition}:kms:*:${local.account_id}:key/*"]
        Condition = { StringLike = { "kms:ViaService" = ["secretsmanager.*.amazonaws.com", "ssm.*.amazonaws.com"] } }
      },
      {
        Sid    = "EcsAgent"
        Effect = "Allow"
        Action = [
          "ecs:CreateCluster", "ecs:DeregisterContainerInstance", "ecs:DiscoverPollEndpoint", "ecs:Poll",
          "ecs:RegisterContainerInstance", "ecs:StartTelemetrySession", "ecs:UpdateContainerInstancesState",
          "ecs:Submit*", "ecs:TagResource", "ecs:ListTagsForResource", "ec2:DescribeTags",
        ]
        Resource = ["*"]
      },
      {
        Sid    = "SessionManager"
        Effect = "Allow"
        Action = [
          "ssm:DescribeAssociation", "ssm:GetDeployablePatchSnapshotForInstance", "ssm:GetDocument", "ssm:DescribeDocument",
          "ssm:GetManifest", "ssm:ListAssociations", "ssm:ListInstanceAssociations", "ssm:PutInventory",
          "ssm:PutComplianceItems", "ssm:PutConfigurePackageResult", "ssm:UpdateAssociationStatus",
          "ssm:UpdateInstanceAssociationStatus", "ssm:UpdateInstanceInformation", "ssmmessages:*", "ec2messages:*",
        ]
        Resource = ["*"]
      },
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
  name = local.boundary_name
  path = var.path
  # Kept as first written: IAM cannot change a policy's description, and replacing the boundary
  # would fail while roles carry it. Roles made under the workloads' path now carry their own.
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

resource "aws_iam_policy" "workload_boundary" {
  #checkov:skip=CKV_AWS_290:A permissions boundary grants nothing; it caps the workloads' roles at the actions of the AWS managed policies ECS tasks, instances and Session Manager need, which AWS grants on every resource (the roles' own policies scope secrets to each service).
  #checkov:skip=CKV_AWS_355:As above: the ECS agent's and Session Manager's actions name no resource AWS could scope in a cap that must fit every cluster and instance; what a role may do is its own policy's.
  name        = local.workload_boundary_name
  path        = var.path
  description = "Permissions boundary of the ${var.name_prefix} workloads' roles (tasks, instances, flow logs): only what a task needs."
  policy      = local.workload_boundary_policy
  tags        = var.tags

  lifecycle {
    precondition {
      condition     = length(local.workload_boundary_policy) <= 6144
      error_message = "The workload boundary policy is longer than the 6144 characters IAM allows."
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

resource "aws_iam_policy" "base" {
  for_each = local.base_policies

  name        = "${local.admin_names[each.key]}-base"
  path        = var.path
  description = "What the ${each.key} administrator of ${var.name_prefix} may do whatever its name patterns; managed by the infrastructure portal."
  policy      = each.value
  tags        = merge(var.tags, { ServiceType = each.key })

  lifecycle {
    precondition {
      condition     = length(each.value) <= 6144
      error_message = "The ${each.key} administrator's base policy is ${length(each.value)} characters, IAM allows 6144 (for iam: shorter paths)."
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

resource "aws_iam_role_policy_attachment" "base" {
  for_each = local.types

  role       = aws_iam_role.admin[each.key].name
  policy_arn = aws_iam_policy.base[each.key].arn
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

resource "aws_iam_group_policy_attachment" "base" {
  for_each = local.types

  group      = aws_iam_group.this[each.key].name
  policy_arn = aws_iam_policy.base[each.key].arn
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
