mock_provider "aws" {
  mock_resource "aws_s3_bucket" {
    override_during = plan
    defaults = {
      arn = "arn:aws:s3:::art-service-terraform-state"
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  bucket_name = "art-service-terraform-state"
}

run "state_bucket_is_private_versioned_and_encrypted" {
  # plan, not apply: prevent_destroy would stop the test from tearing down.
  command = plan

  assert {
    condition     = aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    error_message = "State must be versioned so a bad apply can be undone."
  }

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.this.block_public_acls,
      aws_s3_bucket_public_access_block.this.block_public_policy,
      aws_s3_bucket_public_access_block.this.ignore_public_acls,
      aws_s3_bucket_public_access_block.this.restrict_public_buckets,
    ])
    error_message = "All public access must be blocked."
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
    error_message = "State must be encrypted with KMS."
  }

  assert {
    condition     = aws_s3_bucket_ownership_controls.this.rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled."
  }
}

run "policy_denies_requests_without_tls" {
  command = plan

  assert {
    condition     = one([for s in data.aws_iam_policy_document.tls_only[0].statement : s if s.sid == "DenyInsecureTransport"]).effect == "Deny"
    error_message = "The bucket policy must deny insecure transport."
  }

  assert {
    condition     = one(one([for s in data.aws_iam_policy_document.tls_only[0].statement : s if s.sid == "DenyInsecureTransport"]).condition).values == tolist(["false"])
    error_message = "The deny must apply when aws:SecureTransport is false."
  }

  assert {
    condition     = contains(one(data.aws_iam_policy_document.tls_only[0].statement).resources, "arn:aws:s3:::art-service-terraform-state/*")
    error_message = "The deny must cover the objects, not only the bucket."
  }
}

run "plain_http_endpoint_has_no_tls_policy" {
  command = plan

  variables {
    require_tls = false
  }

  assert {
    condition     = length(aws_s3_bucket_policy.this) == 0
    error_message = "Without require_tls there must be no TLS-only policy."
  }
}

run "old_state_versions_expire" {
  command = plan

  variables {
    noncurrent_version_retention_days = 30
  }

  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.this.rule[0].noncurrent_version_expiration[0].noncurrent_days == 30
    error_message = "Noncurrent state versions must expire after the configured days."
  }
}

run "rejects_uppercase_bucket_name" {
  command = plan

  variables {
    bucket_name = "Art-Service-State"
  }

  expect_failures = [var.bucket_name]
}

run "rejects_ip_address_bucket_name" {
  command = plan

  variables {
    bucket_name = "192.168.10.1"
  }

  expect_failures = [var.bucket_name]
}

run "rejects_non_kms_arn" {
  command = plan

  variables {
    kms_key_arn = "aws/s3"
  }

  expect_failures = [var.kms_key_arn]
}

run "rejects_zero_retention" {
  command = plan

  variables {
    noncurrent_version_retention_days = 0
  }

  expect_failures = [var.noncurrent_version_retention_days]
}
