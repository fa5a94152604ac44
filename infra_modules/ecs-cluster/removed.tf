# The instance role and profile now come from the workload-roles module. This module's administrator
# may not call IAM, so destroying the ones an earlier version made would fail the apply: forget them
# instead (they stay in AWS until the iam administrator deletes them).
removed {
  from = aws_iam_role_policy_attachment.instance

  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_iam_instance_profile.instance

  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_iam_role.instance

  lifecycle {
    destroy = false
  }
}
