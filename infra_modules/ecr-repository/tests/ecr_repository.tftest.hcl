mock_provider "aws" {}

variables {
  name = "art-service-sourcing-data-service"
}

run "secure_defaults" {
  command = plan

  assert {
    condition     = aws_ecr_repository.this.image_tag_mutability == "IMMUTABLE"
    error_message = "Tags must be immutable."
  }

  assert {
    condition     = aws_ecr_repository.this.image_scanning_configuration[0].scan_on_push
    error_message = "Images must be scanned on push."
  }

  assert {
    condition     = aws_ecr_repository.this.encryption_configuration[0].encryption_type == "KMS"
    error_message = "Images must be encrypted with KMS."
  }

  assert {
    condition     = aws_ecr_repository.this.force_delete == false
    error_message = "A repository holding images must not be destroyed by default."
  }
}

run "lifecycle_policy_expires_untagged_and_keeps_newest" {
  command = plan

  variables {
    keep_tagged_images         = 12
    untagged_image_expiry_days = 3
  }

  assert {
    condition     = [for r in jsondecode(aws_ecr_lifecycle_policy.this.policy).rules : r.selection.countNumber if r.selection.tagStatus == "untagged"] == [3]
    error_message = "Untagged images must expire after the configured days."
  }

  assert {
    condition     = [for r in jsondecode(aws_ecr_lifecycle_policy.this.policy).rules : r.selection.countNumber if r.selection.tagStatus == "any"] == [12]
    error_message = "The policy must keep the configured number of images."
  }

  assert {
    condition     = aws_ecr_lifecycle_policy.this.repository == "art-service-sourcing-data-service"
    error_message = "The policy must apply to the module's repository."
  }
}

# A "keep the newest N" rule alone expires the image a service runs once N newer ones are pushed.
run "the_images_services_were_deployed_with_are_never_expired_by_the_count" {
  command = plan

  assert {
    condition = jsondecode(aws_ecr_lifecycle_policy.this.policy).rules[0] == {
      rulePriority = 1
      description  = "Keep the images services were deployed with (the newest 100)"
      selection    = { tagStatus = "tagged", tagPrefixList = ["deployed-"], countType = "imageCountMoreThan", countNumber = 100 }
      action       = { type = "expire" }
    }
    error_message = "The first rule selects the deployed images, so that no lower rule may expire them."
  }

  assert {
    condition     = [for r in jsondecode(aws_ecr_lifecycle_policy.this.policy).rules : r.rulePriority if r.selection.tagStatus == "any"] == [max([for r in jsondecode(aws_ecr_lifecycle_policy.this.policy).rules : r.rulePriority]...)]
    error_message = "The count rule over any image comes last (ECR requires it), below the deployed images' rule."
  }
}

run "rejects_a_deployed_tag_prefix_starting_with_a_dot" {
  command = plan

  variables {
    deployed_tag_prefix = ".deployed"
  }

  expect_failures = [var.deployed_tag_prefix]
}

run "rejects_zero_deployed_images_kept" {
  command = plan

  variables {
    keep_deployed_images = 0
  }

  expect_failures = [var.keep_deployed_images]
}

run "rejects_uppercase_name" {
  command = plan

  variables {
    name = "Art-Service"
  }

  expect_failures = [var.name]
}

run "rejects_too_short_name" {
  command = plan

  variables {
    name = "a"
  }

  expect_failures = [var.name]
}

run "rejects_zero_images_kept" {
  command = plan

  variables {
    keep_tagged_images = 0
  }

  expect_failures = [var.keep_tagged_images]
}

run "rejects_fractional_expiry" {
  command = plan

  variables {
    untagged_image_expiry_days = 1.5
  }

  expect_failures = [var.untagged_image_expiry_days]
}

run "rejects_non_kms_arn" {
  command = plan

  variables {
    kms_key_arn = "alias/my-key"
  }

  expect_failures = [var.kms_key_arn]
}
