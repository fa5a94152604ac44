"""The local AWS emulator: moto's server, with a few of its answers mended so that the modules apply
as they do on AWS and a second plan of an applied workspace says "No changes", and its serving mended.

`python -m portal.emulator -H HOST -p PORT` is `python -m moto.server` after `mend()`; the tests
call `mend()` before starting their in-process server. The modules stay exactly as they run on AWS:
each mend makes moto answer what AWS answers, and nothing here is used against AWS.

- A security group rule that references another group (not an address range) lost its description:
  moto keeps it with the referenced group but reads it from the address range only, so every plan
  wanted to write the description again.
- CreateLaunchTemplate's own tags (TagSpecifications of type `launch-template`, the template's tags)
  were copied into the template's data, where AWS allows only the tags of what it launches, so every
  plan wanted to remove them, making a new template version and updating the autoscaling group.
- Application Auto Scaling had no ListTagsForResource, TagResource nor UntagResource, and dropped the
  tags of RegisterScalableTarget: the provider's read of `aws_appautoscaling_target` retried for ever,
  so service autoscaling could not apply. The tags are kept on the scalable target, by its ARN.
- An ECS service forgot its capacity provider strategy and health check grace period, and reported
  the EC2 launch type where AWS reports none (a strategy and a launch type exclude each other): the
  provider read back another placement than it had written.

And mends of how it serves: each answer leaves in one send, so that none is lost on the way (see
serve_each_answer_in_one_send); the dispatch of a request to its service lists moto's packages once
rather than on every request (dispatch_without_listing_the_packages); AWS's managed policies are
parsed once rather than for every IAM backend moto makes (parse_managed_policies_once).
"""

import json
import sys


def mend() -> None:
    """Idempotent."""
    from moto.ec2.models.launch_templates import LaunchTemplateBackend
    from moto.ec2.models.security_groups import SecurityGroupRule

    if getattr(SecurityGroupRule, "_portal_mended", False):
        return

    def description(rule: SecurityGroupRule) -> str | None:
        return (rule.ip_range or {}).get("Description") or (rule.source_group or {}).get("Description")

    SecurityGroupRule.description = property(description)
    SecurityGroupRule._portal_mended = True

    create_launch_template = LaunchTemplateBackend.create_launch_template

    def create_without_own_tags_in_data(self, name, description, template_data, tag_spec):
        specifications = template_data.get("TagSpecifications")
        if specifications:
            template_data["TagSpecifications"] = [spec for spec in specifications if spec.get("ResourceType") != "launch-template"]
        return create_launch_template(self, name, description, template_data, tag_spec)

    LaunchTemplateBackend.create_launch_template = create_without_own_tags_in_data

    mend_application_autoscaling_tags()
    mend_ecs_service_placement()
    serve_each_answer_in_one_send()
    dispatch_without_listing_the_packages()
    parse_managed_policies_once()


def mend_application_autoscaling_tags() -> None:
    from moto.applicationautoscaling.exceptions import AWSValidationException
    from moto.applicationautoscaling.models import FakeScalableTarget
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

    FakeScalableTarget.tags = None  # class default: targets made before the mend have none

    def target_by_arn(self, arn: str) -> FakeScalableTarget:
        for by_resource in self.applicationautoscaling_backend.targets.values():
            for target in by_resource.values():
                if target.arn == arn:
                    return target
        # AWS's answer for an ARN that names no target.
        raise AWSValidationException(f"ResourceArn {arn} is not a valid scalable target ARN")

    register_scalable_target = ApplicationAutoScalingResponse.register_scalable_target

    def register_keeping_tags(self) -> str:
        answer = register_scalable_target(self)
        tags = self._get_param("Tags")
        if tags:
            target = target_by_arn(self, json.loads(answer)["ScalableTargetARN"])
            target.tags = {**(target.tags or {}), **tags}
        return answer

    def list_tags_for_resource(self) -> str:
        return json.dumps({"Tags": target_by_arn(self, self._get_param("ResourceARN")).tags or {}})

    def tag_resource(self) -> str:
        target = target_by_arn(self, self._get_param("ResourceARN"))
        target.tags = {**(target.tags or {}), **(self._get_param("Tags") or {})}
        return json.dumps({})

    def untag_resource(self) -> str:
        target = target_by_arn(self, self._get_param("ResourceARN"))
        removed = set(self._get_param("TagKeys") or [])
        target.tags = {k: v for k, v in (target.tags or {}).items() if k not in removed}
        return json.dumps({})

    ApplicationAutoScalingResponse.register_scalable_target = register_keeping_tags
    ApplicationAutoScalingResponse.list_tags_for_resource = list_tags_for_resource
    ApplicationAutoScalingResponse.tag_resource = tag_resource
    ApplicationAutoScalingResponse.untag_resource = untag_resource


def mend_ecs_service_placement() -> None:
    from moto.ecs.models import Service
    from moto.ecs.responses import EC2ContainerServiceResponse

    # Class defaults: what moto's serializer reads (capacityProviderStrategy,
    # healthCheckGracePeriodSeconds) for services made before the mend.
    Service.capacity_provider_strategy = None
    Service.health_check_grace_period_seconds = None

    create_service = EC2ContainerServiceResponse.create_service

    def create_keeping_placement(self):
        answer = create_service(self)
        service = answer.result["service"]
        strategy = self._get_param("capacityProviderStrategy")
        if strategy:
            service.capacity_provider_strategy = strategy
            if self._get_param("launchType") is None:
                service.launch_type = None
                for deployment in service.deployments:
                    deployment["launchType"] = None
        service.health_check_grace_period_seconds = self._get_param("healthCheckGracePeriodSeconds")
        return answer

    # UpdateService already sets every parameter it is given on the service, these two included.
    EC2ContainerServiceResponse.create_service = create_keeping_placement


def serve_each_answer_in_one_send() -> None:
    """werkzeug's development server, which moto's server is, sends an answer's head and its body
    in two sends (an unbuffered socket writer, Nagle's algorithm on) and closes every connection after
    it. Seen on the wire under bin/portal (about one answer in 2,000): the AWS provider's client
    closed its connection once the head had come, before the body; the body met a reset, the SDK
    counted a connection error and sent the call again, although the emulator had carried it out.
    Buffered, the head and the body leave in one send when the answer is flushed."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    # socketserver: a buffered writer, which werkzeug flushes once the answer is written. Large enough
    # for a whole answer (a state file is tens of KB): a smaller buffer sends a larger body apart.
    MotoRequestHandler.wbufsize = 1 << 20
    MotoRequestHandler.disable_nagle_algorithm = True  # the flushed answer leaves at once


def dispatch_without_listing_the_packages() -> None:
    """moto's server finds a request's service under its dispatcher's lock, and for a request to an
    address (127.0.0.1, not a service's host name) it first lists moto's installed package folders,
    with a stat of each of the 150: on every request, while every other request waits for the lock.
    In the tests' profile (py-spy over the whole suite) that listing was the emulator's largest cost
    after moto's own answers. The folders are fixed once moto is installed: listed once."""
    from moto import backends

    if getattr(backends.list_of_moto_modules, "_portal_listed_once", False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules():
        return modules

    list_of_moto_modules._portal_listed_once = True
    backends.list_of_moto_modules = list_of_moto_modules


def parse_managed_policies_once() -> None:
    """With MOTO_IAM_LOAD_MANAGED_POLICIES (bin/portal and the tests load them: the workload roles
    attach AWS's own), every IAM backend moto makes, one for each account a request names, parses the
    same 1,300 policies' JSON again, 0.25 s of CPU each time. Parsed once here; each backend still
    builds policies of its own from it (AWSManagedPolicy.from_data reads the data, never changes it)."""
    from moto.iam import models

    if getattr(models.IAMBackend._init_aws_policies, "_portal_parsed_once", False):
        return
    parsed: dict = {}

    def init_aws_policies(self):
        if not models.load_iam_aws_managed_policies():
            return []
        if not parsed:
            parsed.update(json.loads(models.aws_managed_policies_data))
        return [models.AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data) for name, data in parsed.items()]

    init_aws_policies._portal_parsed_once = True
    models.IAMBackend._init_aws_policies = init_aws_policies


def main(argv: list[str] | None = None) -> None:
    mend()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
