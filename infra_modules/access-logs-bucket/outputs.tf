output "bucket_name" {
  description = "The bucket, for the load balancer's access_logs (the ecs-cluster module's access_logs_bucket)."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the bucket."
  value       = aws_s3_bucket.this.arn
}
