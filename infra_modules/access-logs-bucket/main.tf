data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name

  # In the Regions that opened before August 2022, Elastic Load Balancing writes access logs as an
  # account of its own per Region; in the later ones as the log delivery service principal
  # ("Enable access logs for your Application Load Balancer", step 2). The table is the one the AWS
  # provider's aws_elb_service_account keeps (internal/service/elb/service_account_data_source.go),
  # read here rather than through that data source, which fails in a Region it does not list.
  elb_accounts = {
    "af-south-1"     = "098369216593", "ap-east-1" = "754344448648", "ap-northeast-1" = "582318560864",
    "ap-northeast-2" = "600734575887", "ap-northeast-3" = "383597477331", "ap-south-1" = "718504428378",
    "ap-southeast-1" = "114774131450", "ap-southeast-2" = "783225319266", "ap-southeast-3" = "589379963580",
    "ca-central-1"   = "985666609251", "cn-north-1" = "638102146993", "cn-northwest-1" = "037604701340",
    "eu-central-1"   = "054676820928", "eu-north-1" = "897822967062", "eu-south-1" = "635631232127",
    "eu-west-1"      = "156460612806", "eu-west-2" = "652711504416", "eu-west-3" = "009996457667",
    "me-south-1"     = "076674570225", "sa-east-1" = "507241528517", "us-east-1" = "127311923021",
    "us-east-2"      = "033677994240", "us-gov-east-1" = "190560391635", "us-gov-west-1" = "048591011584",
    "us-west-1"      = "027434742980", "us-west-2" = "797873946194",
  }
  elb_account = lookup(local.elb_accounts, local.region, null)

  # Each load balancer writes only its own logs of this account.
  log_objects = [for p in var.log_prefixes : "${aws_s3_bucket.this.arn}/${p}/AWSLogs/${local.account_id}/*"]
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:These are access logs already; logging their reads would need a second bucket whose logs would need a third.
  #checkov:skip=CKV_AWS_144:Access logs are kept for their retention in the load balancer's Region; copying them to another is an account's choice.
  #checkov:skip=CKV2_AWS_62:Nothing consumes an event per log file; people read the logs when they need them.
  #checkov:skip=CKV_AWS_145:Application Load Balancer access logs can be written only to a bucket encrypted with S3-managed keys (SSE-S3), not KMS ("Enable access logs for your Application Load Balancer").
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  # A log deleted or overwritten by mistake can be read again until its noncurrent version expires.
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "this" {
  dynamic "statement" {
    for_each = local.elb_account == null ? [] : [local.elb_account]
    content {
      sid       = "ElbAccountOfTheRegionWritesLogs"
      effect    = "Allow"
      actions   = ["s3:PutObject"]
      resources = local.log_objects

      principals {
        type        = "AWS"
        identifiers = ["arn:${local.partition}:iam::${statement.value}:root"]
      }
    }
  }

  statement {
    sid       = "ElbLogDeliveryWritesLogs"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = local.log_objects

    principals {
      type        = "Service"
      identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
    }
  }

  dynamic "statement" {
    for_each = var.require_tls ? [1] : []
    content {
      sid       = "DenyInsecureTransport"
      effect    = "Deny"
      actions   = ["s3:*"]
      resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

      principals {
        type        = "*"
        identifiers = ["*"]
      }

      condition {
        test     = "Bool"
        variable = "aws:SecureTransport"
        values   = ["false"]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.this.json

  # S3 rejects a policy while the public access block is being written.
  depends_on = [aws_s3_bucket_public_access_block.this]
}
