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
    condition     = jsondecode(aws_ecr_lifecycle_policy.this.policy).rules[0].selection.countNumber == 3
    error_message = "Untagged images must expire after the configured days."
  }

  assert {
    condition     = jsondecode(aws_ecr_lifecycle_policy.this.policy).rules[1].selection.countNumber == 12
    error_message = "The policy must keep the configured number of images."
  }

  assert {
    condition     = aws_ecr_lifecycle_policy.this.repository == "art-service-sourcing-data-service"
    error_message = "The policy must apply to the module's repository."
  }
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
