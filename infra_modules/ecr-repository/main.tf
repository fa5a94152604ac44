resource "aws_ecr_repository" "this" {
  name = var.name
  # Immutable tags: a tag names exactly one image, so a deploy of tag X is reproducible.
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = var.tags
}

# Lifecycle rules expire by push time, whatever runs: a "keep the newest 30" rule alone expires the
# image a service runs once 30 newer ones are pushed, and its next task (a scale-out, a replaced
# instance, a rollback) fails to pull. An image a rule selects by its tags cannot be expired by a
# rule of lower priority (ECR's "Lifecycle policy evaluation rules"), so the first rule selects the
# images the portal tagged `<deployed_tag_prefix>...` when it deployed them, and keeps them.
resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name

  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Keep the images services were deployed with (the newest ${var.keep_deployed_images})"
        selection = {
          tagStatus     = "tagged"
          tagPrefixList = [var.deployed_tag_prefix]
          countType     = "imageCountMoreThan"
          countNumber   = var.keep_deployed_images
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Expire untagged images after ${var.untagged_image_expiry_days} days"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = var.untagged_image_expiry_days
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 3
        description  = "Keep the newest ${var.keep_tagged_images} images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.keep_tagged_images
        }
        action = { type = "expire" }
      },
    ]
  })
}
