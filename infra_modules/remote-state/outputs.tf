output "bucket_name" {
  description = "Name of the state bucket, for `backend \"s3\"` configurations."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the state bucket, for IAM policies that grant access to state."
  value       = aws_s3_bucket.this.arn
}
