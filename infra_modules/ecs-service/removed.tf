# The execution and task roles now come from the iam administrator's workspace. This module's
# administrator may not call IAM, so destroying the roles an earlier version made would fail the
# apply: forget them instead (they stay in AWS until the iam administrator deletes them).
removed {
  from = aws_iam_role_policy_attachment.task

  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_iam_role_policy_attachment.execution

  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_iam_role.task

  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_iam_role.execution

  lifecycle {
    destroy = false
  }
}
