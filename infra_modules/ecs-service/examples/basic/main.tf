provider "aws" {
  region = "eu-west-1"
}

module "service" {
  source = "../.."

  name                   = "art-service-sourcing-data-service"
  cluster_arn            = "arn:aws:ecs:eu-west-1:123456789012:cluster/art-service"
  capacity_provider_name = "art-service-ec2"
  image                  = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/art-service-sourcing-data-service:1.0.0"
  container_port         = 8082
  cpu                    = 256
  memory                 = 512
  vpc_id                 = "vpc-0123456789abcdef0"
  subnet_ids             = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  # From the network module: the load balancer's group and the shared group every service's tasks join.
  alb_security_group_id           = "sg-0a1b2c3d4e5f60718"
  service_tasks_security_group_id = "sg-0c0ffee0c0ffee000"
  security_group_ids              = ["sg-0123456789abcdef0"]
  listener_arn                    = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/art-service-alb/0123456789abcdef/0123456789abcdef"
  listener_rule_priority          = 10
  # Made by the workload-roles module, in the iam administrator's workspace. No task_role_arn: the
  # service's code gets no AWS permissions.
  execution_role_arn = "arn:aws:iam::123456789012:role/art-service/workloads/art-service-ecs-task-execution"
}
