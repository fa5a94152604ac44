provider "aws" {
  region = "eu-west-1"
}

module "repository" {
  source = "../.."

  name               = "art-service-sourcing-data-service"
  keep_tagged_images = 50
}

output "repository_url" {
  value = module.repository.repository_url
}
