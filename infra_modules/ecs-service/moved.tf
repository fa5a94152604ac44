# The load balancer's egress rule to this service became optional (count) when the shared service
# tasks group took its place: the rule an earlier version made is the one the count keeps, or removes.
moved {
  from = aws_vpc_security_group_egress_rule.alb_to_tasks
  to   = aws_vpc_security_group_egress_rule.alb_to_tasks[0]
}
