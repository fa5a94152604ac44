mock_provider "aws" {
  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "123456789012" }
  }

  override_data {
    target = data.aws_partition.current
    values = { partition = "aws" }
  }

  override_data {
    target = data.aws_region.current
    values = { name = "eu-west-1" }
  }

  mock_resource "aws_s3_bucket" {
    override_during = plan
    defaults = {
      arn = "arn:aws:s3:::art-service-123456789012-eu-west-1-lb-logs"
      id  = "art-service-123456789012-eu-west-1-lb-logs"
    }
  }
}

variables {
  bucket_name  = "art-service-123456789012-eu-west-1-lb-logs"
  log_prefixes = ["art-service"]
}

run "private_encrypted_with_s3_keys_and_expiring" {
  command = plan

  assert {
    condition     = alltrue([aws_s3_bucket_public_access_block.this.block_public_acls, aws_s3_bucket_public_access_block.this.block_public_policy, aws_s3_bucket_public_access_block.this.ignore_public_acls, aws_s3_bucket_public_access_block.this.restrict_public_buckets])
    error_message = "All public access is blocked."
  }

  # ALB access logs are written only to a bucket with S3-managed keys.
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
    error_message = "Encrypted with S3-managed keys (SSE-S3), the only encryption ALB access logs accept."
  }

  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.this.rule).expiration).days == 90
    error_message = "Logs expire after the retention."
  }

  assert {
    condition     = aws_s3_bucket_ownership_controls.this.rule[0].object_ownership == "BucketOwnerEnforced" && aws_s3_bucket.this.force_destroy == false
    error_message = "ACLs are off, and a bucket holding logs is not destroyed by surprise."
  }
}

run "the_load_balancer_of_the_region_writes_its_own_logs_only" {
  command = plan

  assert {
    condition     = one([for s in data.aws_iam_policy_document.this.statement : s if s.sid == "ElbAccountOfTheRegionWritesLogs"]).resources == toset(["arn:aws:s3:::art-service-123456789012-eu-west-1-lb-logs/art-service/AWSLogs/123456789012/*"])
    error_message = "ELB writes under the load balancer's prefix and this account only."
  }

  assert {
    condition     = one(one([for s in data.aws_iam_policy_document.this.statement : s if s.sid == "ElbAccountOfTheRegionWritesLogs"]).principals).identifiers == toset(["arn:aws:iam::156460612806:root"])
    error_message = "In eu-west-1 (opened before August 2022), ELB writes as its account of the Region."
  }

  assert {
    condition     = one(one([for s in data.aws_iam_policy_document.this.statement : s if s.sid == "ElbLogDeliveryWritesLogs"]).principals).identifiers == toset(["logdelivery.elasticloadbalancing.amazonaws.com"])
    error_message = "The log delivery service principal may write too (the Regions opened later)."
  }

  assert {
    condition     = alltrue([for s in data.aws_iam_policy_document.this.statement : s.actions == toset(["s3:PutObject"]) if s.effect == "Allow"])
    error_message = "Nobody is allowed more than writing log files."
  }
}

run "a_region_opened_later_has_only_the_service_principal" {
  command = plan

  override_data {
    target = data.aws_region.current
    values = { name = "ap-southeast-7" }
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.this.statement : s.sid if s.effect == "Allow"] == ["ElbLogDeliveryWritesLogs"]
    error_message = "Where ELB has no account of the Region, only the service principal writes."
  }
}

run "tls_only_unless_the_endpoint_is_plain_http" {
  command = plan

  assert {
    condition     = one([for s in data.aws_iam_policy_document.this.statement : s if s.sid == "DenyInsecureTransport"]).effect == "Deny"
    error_message = "Requests without TLS are denied."
  }
}

run "no_tls_deny_on_a_plain_http_emulator" {
  command = plan

  variables {
    require_tls = false
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.this.statement : s if s.sid == "DenyInsecureTransport"]) == 0
    error_message = "A plain-HTTP emulator gets no TLS deny."
  }
}

run "rejects_a_bucket_name_too_long" {
  command = plan
  variables {
    bucket_name = "a-very-long-platform-name-prefix-123456789012-ap-southeast-3-lb-logs"
  }
  expect_failures = [var.bucket_name]
}

run "rejects_a_prefix_with_awslogs" {
  command = plan
  variables {
    log_prefixes = ["AWSLogs"]
  }
  expect_failures = [var.log_prefixes]
}

run "rejects_no_prefix" {
  command = plan
  variables {
    log_prefixes = []
  }
  expect_failures = [var.log_prefixes]
}

run "rejects_a_retention_of_zero" {
  command = plan
  variables {
    retention_days = 0
  }
  expect_failures = [var.retention_days]
}
