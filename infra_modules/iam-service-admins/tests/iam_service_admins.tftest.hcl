mock_provider "aws" {}

variables {
  service_types    = ["ecs", "vpc", "iam"]
  state_bucket_arn = "arn:aws:s3:::art-service-terraform-state"
}

run "one_administrator_per_type" {
  command = plan

  assert {
    condition     = toset(keys(aws_iam_user.this)) == toset(["ecs", "vpc", "iam"])
    error_message = "One user per service type."
  }

  assert {
    condition     = aws_iam_user.this["ecs"].name == "art-service-ecs-admin" && aws_iam_user.this["ecs"].path == "/art-service/admins/"
    error_message = "Users are named <prefix>-<type>-admin under the path."
  }

  assert {
    condition     = aws_iam_group.this["vpc"].name == "art-service-vpc-admins"
    error_message = "Each type has its group."
  }
}

run "credentials_made_by_hand_block_a_destroy_unless_forced" {
  command = plan

  assert {
    condition     = alltrue([for u in aws_iam_user.this : u.force_destroy == false])
    error_message = "By default a user with hand-made credentials is not destroyed silently."
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

run "policies_are_limited_to_their_type" {
  command = plan

  assert {
    condition     = jsondecode(aws_iam_policy.this["ecs"].policy).Statement[0].Action == ["ecs:*"]
    error_message = "The ecs administrator administers ECS only."
  }

  assert {
    condition     = alltrue([for a in jsondecode(aws_iam_policy.this["vpc"].policy).Statement[0].Action : startswith(a, "ec2:")])
    error_message = "The vpc administrator only has EC2 networking actions."
  }

  assert {
    condition     = !contains(jsondecode(aws_iam_policy.this["vpc"].policy).Statement[0].Action, "ec2:*")
    error_message = "The vpc administrator cannot run instances."
  }
}

run "state_access_only_with_a_bucket" {
  command = plan

  assert {
    condition     = jsondecode(aws_iam_policy.this["ecs"].policy).Statement[1].Resource == ["arn:aws:s3:::art-service-terraform-state/*"]
    error_message = "Administrators read and write state objects in the bucket."
  }
}

run "no_state_statement_without_a_bucket" {
  command = plan

  variables {
    state_bucket_arn = null
  }

  assert {
    condition     = length(jsondecode(aws_iam_policy.this["ecs"].policy).Statement) == 1
    error_message = "No state statement without a bucket."
  }
}

run "boundary_is_applied_and_protected" {
  command = plan

  variables {
    permissions_boundary_arn = "arn:aws:iam::123456789012:policy/admin-boundary"
  }

  assert {
    condition     = aws_iam_user.this["iam"].permissions_boundary == "arn:aws:iam::123456789012:policy/admin-boundary"
    error_message = "The boundary applies to every administrator."
  }

  assert {
    condition     = one([for s in jsondecode(aws_iam_policy.this["iam"].policy).Statement : s if s.Sid == "ProtectPermissionsBoundary"]).Effect == "Deny"
    error_message = "Nobody may rewrite the boundary."
  }
}

run "rejects_bad_prefix" {
  command = plan
  variables {
    name_prefix = "Art Service"
  }
  expect_failures = [var.name_prefix]
}

run "rejects_no_types" {
  command = plan
  variables {
    service_types = []
  }
  expect_failures = [var.service_types]
}

run "rejects_unknown_type" {
  command = plan
  variables {
    service_types = ["ecs", "lambda"]
  }
  expect_failures = [var.service_types]
}

run "rejects_path_without_slashes" {
  command = plan
  variables {
    path = "admins"
  }
  expect_failures = [var.path]
}

run "rejects_non_bucket_arn" {
  command = plan
  variables {
    state_bucket_arn = "art-service-terraform-state"
  }
  expect_failures = [var.state_bucket_arn]
}

run "rejects_non_policy_boundary" {
  command = plan
  variables {
    permissions_boundary_arn = "arn:aws:iam::123456789012:role/x"
  }
  expect_failures = [var.permissions_boundary_arn]
}
