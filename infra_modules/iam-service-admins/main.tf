locals {
  # What each type's administrator may do: its own service's API and nothing else.
  actions = {
    ecs         = ["ecs:*"]
    ecr         = ["ecr:*"]
    s3          = ["s3:*"]
    iam         = ["iam:*"]
    logs        = ["logs:*"]
    elb         = ["elasticloadbalancing:*"]
    autoscaling = ["autoscaling:*", "application-autoscaling:*"]
    vpc = [
      "ec2:Describe*",
      "ec2:*Vpc*",
      "ec2:*Subnet*",
      "ec2:*RouteTable*",
      "ec2:*Route",
      "ec2:*InternetGateway*",
      "ec2:*NatGateway*",
      "ec2:*Address*",
      "ec2:*SecurityGroup*",
      "ec2:*NetworkAcl*",
      "ec2:*FlowLogs*",
      "ec2:CreateTags",
      "ec2:DeleteTags",
    ]
  }

  state_statements = var.state_bucket_arn == null ? [] : [
    {
      Sid      = "ReadWriteTerraformState"
      Effect   = "Allow"
      Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
      Resource = ["${var.state_bucket_arn}/*"]
    },
    {
      Sid      = "ListTerraformState"
      Effect   = "Allow"
      Action   = ["s3:ListBucket"]
      Resource = [var.state_bucket_arn]
    },
  ]

  # An iam administrator could otherwise loosen the boundary that holds everyone else.
  boundary_statements = var.permissions_boundary_arn == null ? [] : [
    {
      Sid      = "ProtectPermissionsBoundary"
      Effect   = "Deny"
      Action   = ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"]
      Resource = [var.permissions_boundary_arn]
    },
  ]

  policies = {
    for type in var.service_types : type => jsonencode({
      Version = "2012-10-17"
      Statement = concat(
        [{ Sid = "Administer${title(type)}", Effect = "Allow", Action = local.actions[type], Resource = ["*"] }],
        local.state_statements,
        local.boundary_statements,
      )
    })
  }
}

resource "aws_iam_policy" "this" {
  #checkov:skip=CKV_AWS_289:An administrator of a service type needs that type's permissions-management actions; the policy is limited to one service.
  #checkov:skip=CKV_AWS_290:An administrator of a service type writes any resource of that type; the policy is limited to one service.
  #checkov:skip=CKV_AWS_355:Resource "*" is scoped by the action list to one service, which is the point of a per-type administrator.
  #checkov:skip=CKV_AWS_286:The iam administrator must manage roles (iam:PassRole included); that is its job.
  #checkov:skip=CKV_AWS_287:The iam administrator manages IAM credentials by design.
  #checkov:skip=CKV_AWS_288:The s3 administrator reads data in buckets by design.
  #checkov:skip=CKV_AWS_63:Each policy grants one service's wildcard (e.g. ecs:*), never "*" across services.
  #checkov:skip=CKV_AWS_62:No statement grants "*:*"; the iam administrator's iam:* is the design of one administrator per type.
  #checkov:skip=CKV2_AWS_40:Full IAM privileges are exactly the iam administrator's role in the original design.
  for_each = local.policies

  name        = "${var.name_prefix}-${each.key}-admin"
  path        = var.path
  description = "Administers ${each.key} for ${var.name_prefix}; managed by the infrastructure portal."
  policy      = each.value
  tags        = var.tags
}

# Policies sit on groups, users only join them.
resource "aws_iam_group" "this" {
  for_each = toset(var.service_types)

  name = "${var.name_prefix}-${each.key}-admins"
  path = var.path
}

resource "aws_iam_group_policy_attachment" "this" {
  for_each = toset(var.service_types)

  group      = aws_iam_group.this[each.key].name
  policy_arn = aws_iam_policy.this[each.key].arn
}

# No access keys here: they would land in the state. Keys are issued out of band.
resource "aws_iam_user" "this" {
  #checkov:skip=CKV_AWS_273:The original design keeps one IAM user per service type; SSO is the way to replace them later.
  for_each = toset(var.service_types)

  name                 = "${var.name_prefix}-${each.key}-admin"
  path                 = var.path
  permissions_boundary = var.permissions_boundary_arn
  force_destroy        = var.force_destroy
  tags                 = merge(var.tags, { ServiceType = each.key })
}

resource "aws_iam_user_group_membership" "this" {
  for_each = toset(var.service_types)

  user   = aws_iam_user.this[each.key].name
  groups = [aws_iam_group.this[each.key].name]
}
