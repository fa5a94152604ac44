output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "capacity_provider_name" {
  description = "Capacity provider that services place their tasks with."
  value       = aws_ecs_capacity_provider.this.name
}

output "autoscaling_group_name" {
  description = "Autoscaling group of the container instances."
  value       = aws_autoscaling_group.this.name
}

output "ami_id" {
  description = "AMI the instances run."
  value       = local.ami_id
}

output "alb_arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "alb_dns_name" {
  description = "DNS name of the load balancer."
  value       = aws_lb.this.dns_name
}

output "base_url" {
  description = "Where the load balancer answers: https://<DNS name> with a certificate, http://<DNS name> without."
  value       = "${local.https ? "https" : "http"}://${aws_lb.this.dns_name}"
}

output "alb_zone_id" {
  description = "Route 53 zone of the load balancer, for alias records."
  value       = aws_lb.this.zone_id
}

output "http_listener_arn" {
  description = "The HTTP listener (port 80)."
  value       = aws_lb_listener.http.arn
}

output "https_listener_arn" {
  description = "The HTTPS listener (port 443); null without a certificate."
  value       = local.https ? aws_lb_listener.https[0].arn : null
}

output "listener_arn" {
  description = "The listener services attach their rules to: HTTPS with a certificate, else HTTP."
  value       = local.https ? aws_lb_listener.https[0].arn : aws_lb_listener.http.arn
}
