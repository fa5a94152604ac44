# The flow logs role now comes from the workload-roles module. The vpc administrator may not call
# IAM, so destroying the role and policy an earlier version made would fail the apply: forget them
# instead (they stay in AWS until the iam administrator deletes them).
removed {
  from = aws_iam_role_policy.flow_logs

  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_iam_role.flow_logs

  lifecycle {
    destroy = false
  }
}
