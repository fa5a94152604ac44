provider "aws" {
  region = "eu-west-1"
}

module "access_logs" {
  source = "../.."

  bucket_name  = "art-service-123456789012-eu-west-1-lb-logs"
  log_prefixes = ["art-service"]
}

output "bucket_name" {
  value = module.access_logs.bucket_name
}
