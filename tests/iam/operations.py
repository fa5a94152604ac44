"""The operation table: for each AWS operation the portal's runs call, the authorizations AWS makes
for it (action, resource ARN, request context), and those AWS makes on the side without an API call
of the caller's own (iam:PassRole of a role handed to a service, the service-linked role a fresh
account does not have yet, Application Auto Scaling's permission validation, S3's 403 for a missing
key, KMS through S3...). Each of those cites the AWS page that says so.

An operation the table does not know fails the evaluation ("add it to the table"): it never passes
silently. Every check is held to the Service Authorization Reference (tests/iam/sar.py) before it is
evaluated.
"""

import json
from collections.abc import Callable

from tests.iam.calls import Request
from tests.iam.decide import Check
from tests.iam.identities import Document
from tests.iam.world import World

Builder = Callable[[Request, World], list[Check]]
TABLE: dict[tuple[str, str], Builder] = {}


class UnknownOperation(AssertionError):
    pass


def builder_for(request: Request) -> Builder:
    found = TABLE.get((request.service, request.operation))
    if found is None:
        raise UnknownOperation(
            f"{request.service}:{request.operation} is not in the operation table (tests/iam/operations.py): add it, "
            "with the action(s), resource ARN(s) and condition keys the Service Authorization Reference gives for it"
        )
    return found


def register(service: str, *operations: str):
    def decorate(build: Builder) -> Builder:
        for operation in operations:
            TABLE[(service, operation)] = build
        return build

    return decorate


def as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def request_tags(tags: dict[str, str]) -> dict:
    if not tags:
        return {}
    return {**{f"aws:RequestTag/{k}": v for k, v in tags.items()}, "aws:TagKeys": sorted(tags)}


def resource_tags(tags: dict[str, str]) -> dict:
    return {f"aws:ResourceTag/{k}": v for k, v in tags.items()}


def key_values(tags, key="Key", value="Value") -> dict[str, str]:
    if isinstance(tags, dict):
        return dict(tags)
    return {t[key]: t.get(value, "") for t in as_list(tags)}


# --- citations of the authorizations AWS makes on the side ---------------------------------------
EC2_TAG_ON_CREATE = (
    'tagging on create: ec2:CreateTags with ec2:CreateAction (EC2 User Guide, "Grant permission to tag Amazon EC2 '
    'resources during creation", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html)'
)
ECS_TAG_ON_CREATE = (
    'tagging on create: ecs:TagResource with ecs:CreateAction (ECS Developer Guide, "Grant permission to tag resources on '
    'creation", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/supported-iam-actions-tagging.html)'
)
SAR_DEPENDENT = (
    "a dependent action of {action} when the request carries tags (Service Authorization Reference, "
    "https://docs.aws.amazon.com/service-authorization/latest/reference/{page})"
)
PASS_ROLE = "iam:PassRole of a role handed to {service} ({source})"
PASS_ROLE_ECS = (
    "the task definition's roles are passed to ECS when it is registered: AccessDeniedException \"not authorized to perform: "
    'iam:PassRole" from RegisterTaskDefinition (techservicesillinois/terraform-aws-ecs-service#4, '
    'wellcomecollection/platform#374); ECS Developer Guide, task-iam-roles: "IAM users also require iam:PassRole permissions '
    'to use IAM roles for tasks"'
)
PASS_ROLE_INSTANCE_PROFILE = (
    'IAM API Reference, AddRoleToInstanceProfile: "The caller of this operation must be granted the PassRole permission on '
    'the IAM role", and iam:AssociatedResourceArn is then arn:aws:ec2:*:<account>:instance/* '
    "(https://docs.aws.amazon.com/IAM/latest/APIReference/API_AddRoleToInstanceProfile.html)"
)
ASG_DEPENDENT = (
    'EC2 Auto Scaling User Guide, "Amazon EC2 Auto Scaling API permissions": CreateAutoScalingGroup needs iam:PassRole for '
    "a launch template that specifies an instance profile, ec2:RunInstances when a launch template is provided, "
    'ec2:CreateTags for its tag specifications; "Control Amazon EC2 launch template usage in Auto Scaling groups": '
    "ec2:RunInstances is checked when a group is created or updated with a launch template "
    "(https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-api-permissions.html, "
    "https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-launch-template-permissions.html)"
)
FLOW_LOGS_PASS_ROLE = (
    'VPC User Guide, "IAM role for publishing flow logs to CloudWatch Logs": the user must be allowed iam:PassRole for the '
    "flow log's role (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html)"
)
SERVICE_LINKED_ROLES = {
    # service name: (role name, the page that says when AWS creates it)
    "ecs.amazonaws.com": (
        "AWSServiceRoleForECS",
        (
            'ECS Developer Guide, "Using service-linked roles for Amazon ECS": "When you create a cluster or create or update a '
            'service ... Amazon ECS creates the service-linked role for you" (https://docs.aws.amazon.com/AmazonECS/latest/'
            "developerguide/using-service-linked-roles.html)"
        ),
    ),
    "elasticloadbalancing.amazonaws.com": (
        "AWSServiceRoleForElasticLoadBalancing",
        (
            'Elastic Load Balancing User Guide, "Service-linked role for Elastic Load Balancing": created when you create a load '
            "balancer (https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-service-linked-roles.html)"
        ),
    ),
    "autoscaling.amazonaws.com": (
        "AWSServiceRoleForAutoScaling",
        (
            'EC2 Auto Scaling User Guide, "Amazon EC2 Auto Scaling API permissions": CreateAutoScalingGroup needs '
            'iam:CreateServiceLinkedRole "to create the default service-linked role if that role does not yet exist"'
        ),
    ),
    "ecs.application-autoscaling.amazonaws.com": (
        "AWSServiceRoleForApplicationAutoScaling_ECSService",
        (
            'Application Auto Scaling User Guide: "When users call RegisterScalableTarget, Application Auto Scaling creates a '
            "service-linked role in your account, if the role does not exist already ... users must have permissions for the "
            'iam:CreateServiceLinkedRole action" (https://docs.aws.amazon.com/autoscaling/application/userguide/'
            "application-auto-scaling-service-linked-roles.html)"
        ),
    ),
}
APPLICATION_AUTO_SCALING_VALIDATION = (
    "Application Auto Scaling validates the caller's permissions on the target service and CloudWatch before it proceeds "
    '(Application Auto Scaling User Guide, "Permissions validation for API calls on target resources", '
    "https://docs.aws.amazon.com/autoscaling/application/userguide/security_iam_permission_validation.html; for ECS, "
    '"IAM permissions required for Amazon ECS service auto scaling", https://docs.aws.amazon.com/AmazonECS/latest/'
    "developerguide/auto-scaling-IAM.html)"
)
S3_MISSING_KEY = (
    "S3 answers a missing key with 404 only to a caller allowed s3:ListBucket on the bucket, else 403 (S3 API Reference, "
    "HeadObject and GetObject: \"If the object you request doesn't exist, the error that Amazon S3 returns depends on whether "
    "you also have the s3:ListBucket permission. If you have the s3:ListBucket permission on the bucket, Amazon S3 returns an "
    "HTTP status code 404 Not Found error. If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP status "
    'code 403 Forbidden error."); Terraform 1.11\'s S3 backend reads a state with HeadObject and takes only NotFound as "no '
    'state yet" (hashicorp/terraform v1.11.4, internal/backend/remote-state/s3/client.go, RemoteClient.get)'
)
S3_SSE_KMS = (
    "an object in a bucket encrypted with SSE-KMS needs kms:GenerateDataKey to be written and kms:Decrypt to be read, "
    'through S3 (S3 User Guide, "Using server-side encryption with AWS KMS keys (SSE-KMS)", https://docs.aws.amazon.com/'
    "AmazonS3/latest/userguide/UsingKMSEncryption.html)"
)


def service_linked_role(world: World, service_name: str, request: Request) -> list[Check]:
    """A fresh account has none: the first call that makes AWS create it checks the caller's
    iam:CreateServiceLinkedRole; later calls find it, as do calls after anyone (the bootstrap)
    created it explicitly."""
    if service_name in world.service_linked_roles_created or world.service_linked_role_created_before(service_name, request.call.seq):
        return []
    world.service_linked_roles_created.add(service_name)
    role, page = SERVICE_LINKED_ROLES[service_name]
    return [
        Check(
            "iam:CreateServiceLinkedRole",
            world.arn("iam", f"role/aws-service-role/{service_name}/{role}", region=False),
            {"iam:AWSServiceName": service_name},
            because=f"the service-linked role {role} does not exist in a fresh account: {page}",
        )
    ]


# =================================================================================================
# Calls that need no authorization, or none that names a resource
# =================================================================================================
NO_PERMISSION = {
    # STS API Reference, GetCallerIdentity: "No permissions are required to perform this operation."
    ("sts", "GetCallerIdentity"),
}


@register("sts", "GetCallerIdentity")
def no_authorization(request: Request, world: World) -> list[Check]:
    return []


def unscoped(action_name: str | None = None) -> Builder:
    """Actions the Service Authorization Reference gives no resource type: AWS authorizes them on "*"."""

    def build(request: Request, world: World) -> list[Check]:
        return [Check(action_name or f"{request.service}:{request.operation}", "*")]

    return build


for service, operations in {
    "ec2": [
        "DescribeAddresses",
        "DescribeAddressesAttribute",
        "DescribeAvailabilityZones",
        "DescribeInternetGateways",
        "DescribeLaunchTemplateVersions",
        "DescribeLaunchTemplates",
        "DescribeNatGateways",
        "DescribeNetworkAcls",
        "DescribeRouteTables",
        "DescribeSecurityGroupRules",
        "DescribeSecurityGroups",
        "DescribeSubnets",
        "DescribeVpcs",
        "DescribeFlowLogs",
        "DescribeInstances",
        "DescribeImages",
        "DescribeNetworkInterfaces",
        "DescribeAccountAttributes",
        "DescribeInstanceTypes",
        "DescribeTags",
        "DescribeVolumes",
        "DescribePrefixLists",
        "DescribeVpcEndpoints",
    ],
    "elasticloadbalancing": [
        "DescribeLoadBalancers",
        "DescribeTargetGroups",
        "DescribeListeners",
        "DescribeRules",
        "DescribeTags",
        "DescribeLoadBalancerAttributes",
        "DescribeTargetGroupAttributes",
        "DescribeListenerAttributes",
        "DescribeCapacityReservation",
        "DescribeTargetHealth",
        "DescribeListenerCertificates",
    ],
    "autoscaling": [
        "DescribeAutoScalingGroups",
        "DescribeScalingActivities",
        "DescribeTags",
        "DescribeInstanceRefreshes",
        "DescribeLifecycleHooks",
        "DescribeAutoScalingInstances",
        "DescribeWarmPool",
    ],
    "application-autoscaling": ["DescribeScalableTargets", "DescribeScalingPolicies", "DescribeScheduledActions"],
    "ecs": ["DescribeTaskDefinition", "DeregisterTaskDefinition", "ListClusters", "ListTaskDefinitions", "ListAccountSettings"],
    "logs": ["DescribeLogGroups"],
    "ecr": ["GetAuthorizationToken", "DescribeRegistry"],
    "iam": ["ListRoles", "ListPolicies", "ListUsers", "ListGroups", "ListInstanceProfiles"],
    "s3": ["ListBuckets"],
}.items():
    for operation in operations:
        TABLE[(service, operation)] = unscoped({("s3", "ListBuckets"): "s3:ListAllMyBuckets"}.get((service, operation)))


# =================================================================================================
# STS
# =================================================================================================
@register("sts", "AssumeRole")
def assume_role(request: Request, world: World) -> list[Check]:
    role = request.params["RoleArn"]
    trust = world.role_trust_policy(role)
    context = {"sts:RoleSessionName": request.params.get("RoleSessionName", "")}
    context.update(request_tags(key_values(request.params.get("Tags"))))
    return [
        Check(
            "sts:AssumeRole",
            role,
            context,
            # The role's trust policy is the resource policy AWS evaluates with it.
            resource_policy=Document(f"the trust policy of {role}", trust) if trust else None,
            resource_owner=world.account,
        )
    ]


# =================================================================================================
# IAM (global: no region in its ARNs)
# =================================================================================================
def _iam(kind: str, parameter: str, extra: Callable[[Request, World], dict] | None = None) -> Builder:
    def build(request: Request, world: World) -> list[Check]:
        arn = world.iam(kind, request.params[parameter]) if kind != "policy" else request.params[parameter]
        context = extra(request, world) if extra else {}
        if kind in ("role", "user", "policy"):
            context = {**resource_tags(world.tags(arn)), **context}
        return [Check(f"iam:{request.operation}", arn, context)]

    return build


def _policy_arn(request: Request, world: World) -> dict:
    return {"iam:PolicyARN": request.params["PolicyArn"]}


def _boundary(request: Request, world: World) -> dict:
    return {"iam:PermissionsBoundary": request.params["PermissionsBoundary"]}


for operation in [
    "GetRole",
    "ListAttachedRolePolicies",
    "ListRolePolicies",
    "GetRolePolicy",
    "ListInstanceProfilesForRole",
    "DeleteRole",
    "DeleteRolePolicy",
    "PutRolePolicy",
    "UpdateRole",
    "UpdateRoleDescription",
    "UpdateAssumeRolePolicy",
    "ListRoleTags",
    "DeleteRolePermissionsBoundary",
]:
    TABLE[("iam", operation)] = _iam("role", "RoleName")
TABLE[("iam", "AttachRolePolicy")] = TABLE[("iam", "DetachRolePolicy")] = _iam("role", "RoleName", _policy_arn)
TABLE[("iam", "PutRolePermissionsBoundary")] = _iam("role", "RoleName", _boundary)
for operation in [
    "GetPolicy",
    "GetPolicyVersion",
    "ListPolicyVersions",
    "DeletePolicy",
    "CreatePolicyVersion",
    "DeletePolicyVersion",
    "SetDefaultPolicyVersion",
    "ListEntitiesForPolicy",
    "ListPolicyTags",
]:
    TABLE[("iam", operation)] = _iam("policy", "PolicyArn")
for operation in [
    "GetUser",
    "DeleteUser",
    "ListGroupsForUser",
    "ListAttachedUserPolicies",
    "ListUserPolicies",
    "ListAccessKeys",
    "ListSigningCertificates",
    "ListSSHPublicKeys",
    "ListServiceSpecificCredentials",
    "ListMFADevices",
    "GetLoginProfile",
    "DeleteLoginProfile",
    "ListUserTags",
]:
    TABLE[("iam", operation)] = _iam("user", "UserName")
TABLE[("iam", "AttachUserPolicy")] = TABLE[("iam", "DetachUserPolicy")] = _iam("user", "UserName", _policy_arn)
TABLE[("iam", "PutUserPermissionsBoundary")] = _iam("user", "UserName", _boundary)
for operation in ["GetGroup", "DeleteGroup", "ListAttachedGroupPolicies", "ListGroupPolicies", "RemoveUserFromGroup", "AddUserToGroup"]:
    TABLE[("iam", operation)] = _iam("group", "GroupName")
TABLE[("iam", "AttachGroupPolicy")] = TABLE[("iam", "DetachGroupPolicy")] = _iam("group", "GroupName", _policy_arn)
for operation in ["GetInstanceProfile", "DeleteInstanceProfile", "RemoveRoleFromInstanceProfile", "ListInstanceProfileTags"]:
    TABLE[("iam", operation)] = _iam("instance-profile", "InstanceProfileName")


def _created(kind: str, name_parameter: str, extra: Callable[[Request], dict] | None = None) -> Builder:
    def build(request: Request, world: World) -> list[Check]:
        path = request.params.get("Path") or "/"
        arn = world.arn("iam", f"{kind}{path}{request.params[name_parameter]}", region=False)
        context = request_tags(key_values(request.params.get("Tags")))
        if extra:
            context.update(extra(request))
        return [Check(f"iam:{request.operation}", arn, context)]

    return build


def _with_boundary(request: Request) -> dict:
    boundary = request.params.get("PermissionsBoundary")
    return {"iam:PermissionsBoundary": boundary} if boundary else {}


TABLE[("iam", "CreateRole")] = _created("role", "RoleName", _with_boundary)
TABLE[("iam", "CreateUser")] = _created("user", "UserName", _with_boundary)
TABLE[("iam", "CreatePolicy")] = _created("policy", "PolicyName")
TABLE[("iam", "CreateGroup")] = _created("group", "GroupName")
TABLE[("iam", "CreateInstanceProfile")] = _created("instance-profile", "InstanceProfileName")


@register("iam", "CreateServiceLinkedRole")
def create_service_linked_role(request: Request, world: World) -> list[Check]:
    service_name = request.params["AWSServiceName"]
    created = request.response_values("Arn")
    role = SERVICE_LINKED_ROLES.get(service_name, (None,))[0]
    arn = created[0] if created else world.arn("iam", f"role/aws-service-role/{service_name}/{role or '*'}", region=False)
    return [Check("iam:CreateServiceLinkedRole", arn, {"iam:AWSServiceName": service_name})]


@register("iam", "AddRoleToInstanceProfile")
def add_role_to_instance_profile(request: Request, world: World) -> list[Check]:
    role = world.iam("role", request.params["RoleName"])
    return [
        Check("iam:AddRoleToInstanceProfile", world.iam("instance-profile", request.params["InstanceProfileName"])),
        Check(
            "iam:PassRole",
            role,
            {**resource_tags(world.tags(role)), "iam:AssociatedResourceArn": world.arn("ec2", "instance/*").replace(f":{world.region}:", ":*:")},
            because=PASS_ROLE_INSTANCE_PROFILE,
        ),
    ]


# =================================================================================================
# EC2
# =================================================================================================
def spec_tags(specifications, resource_type: str) -> dict[str, str]:
    tags = {}
    for spec in as_list(specifications):
        if spec.get("ResourceType") == resource_type:
            tags.update(key_values(spec.get("Tags")))
    return tags


def ec2_existing(request: Request, world: World, action: str, resource_id: str, context: dict | None = None) -> Check:
    tags = request.call.ec2_tags_before.get(resource_id, {})
    return Check(action, world.ec2(resource_id), {**(context or {}), **resource_tags(tags)})


def ec2_create(kind: str, *related: str, tag_type: str | None = None) -> Builder:
    """A create: authorized on `<kind>/*` with the request's tags, and on each existing resource it
    names (the VPC a subnet goes in...), with that resource's tags; its tags need ec2:CreateTags."""

    def build(request: Request, world: World) -> list[Check]:
        action = f"ec2:{request.operation}"
        tags = spec_tags(request.params.get("TagSpecifications"), tag_type or kind)
        context = request_tags(tags)
        checks = [Check(action, world.ec2_new(kind), context)]
        for parameter in related:
            for resource_id in as_list(request.params.get(parameter)):
                checks.append(ec2_existing(request, world, action, resource_id, context))
        if tags:
            checks.append(Check("ec2:CreateTags", world.ec2_new(kind), {**context, "ec2:CreateAction": request.operation}, because=EC2_TAG_ON_CREATE))
        return checks

    return build


TABLE[("ec2", "CreateVpc")] = ec2_create("vpc")
TABLE[("ec2", "CreateSubnet")] = ec2_create("subnet", "VpcId")
TABLE[("ec2", "CreateRouteTable")] = ec2_create("route-table", "VpcId")
TABLE[("ec2", "CreateInternetGateway")] = ec2_create("internet-gateway")
TABLE[("ec2", "CreateNatGateway")] = ec2_create("natgateway", "SubnetId", "AllocationId")
TABLE[("ec2", "AllocateAddress")] = ec2_create("elastic-ip")
TABLE[("ec2", "CreateSecurityGroup")] = ec2_create("security-group", "VpcId")
TABLE[("ec2", "CreateNetworkAcl")] = ec2_create("network-acl", "VpcId")


@register("ec2", "CreateLaunchTemplate")
def create_launch_template(request: Request, world: World) -> list[Check]:
    # Only the template's own tag specifications are this request's tags; those inside
    # LaunchTemplateData are applied by RunInstances later.
    return ec2_create("launch-template")(request, world)


def ec2_on(*parameters: str, context: Callable[[Request], dict] | None = None) -> Builder:
    """An action on existing EC2 resources, each named by a parameter."""

    def build(request: Request, world: World) -> list[Check]:
        extra = context(request) if context else {}
        return [
            ec2_existing(request, world, f"ec2:{request.operation}", resource_id, extra)
            for parameter in parameters
            for resource_id in as_list(request.params.get(parameter))
        ]

    return build


TABLE[("ec2", "AttachInternetGateway")] = TABLE[("ec2", "DetachInternetGateway")] = ec2_on("InternetGatewayId", "VpcId")
TABLE[("ec2", "AssociateRouteTable")] = ec2_on("RouteTableId", "SubnetId", "GatewayId")
TABLE[("ec2", "CreateRoute")] = TABLE[("ec2", "ReplaceRoute")] = TABLE[("ec2", "DeleteRoute")] = ec2_on("RouteTableId")
TABLE[("ec2", "ModifyVpcAttribute")] = TABLE[("ec2", "DescribeVpcAttribute")] = ec2_on("VpcId")
TABLE[("ec2", "ModifySubnetAttribute")] = ec2_on("SubnetId")
TABLE[("ec2", "RevokeSecurityGroupIngress")] = TABLE[("ec2", "RevokeSecurityGroupEgress")] = ec2_on("GroupId")
TABLE[("ec2", "DeleteSecurityGroup")] = ec2_on("GroupId")
TABLE[("ec2", "DeleteSubnet")] = ec2_on("SubnetId")
TABLE[("ec2", "DeleteVpc")] = ec2_on("VpcId")
TABLE[("ec2", "DeleteRouteTable")] = ec2_on("RouteTableId")
TABLE[("ec2", "DeleteInternetGateway")] = ec2_on("InternetGatewayId")
TABLE[("ec2", "DeleteNatGateway")] = ec2_on("NatGatewayId")
TABLE[("ec2", "ReleaseAddress")] = ec2_on("AllocationId")
TABLE[("ec2", "DeleteLaunchTemplate")] = TABLE[("ec2", "ModifyLaunchTemplate")] = ec2_on("LaunchTemplateId")
TABLE[("ec2", "CreateLaunchTemplateVersion")] = ec2_on("LaunchTemplateId")
TABLE[("ec2", "DeleteFlowLogs")] = ec2_on("FlowLogIds")


@register("ec2", "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress")
def authorize_security_group(request: Request, world: World) -> list[Check]:
    action = f"ec2:{request.operation}"
    tags = spec_tags(request.params.get("TagSpecifications"), "security-group-rule")
    context = request_tags(tags)
    checks = [ec2_existing(request, world, action, request.params["GroupId"], context)]
    if tags:
        # The rules are created, tagged, resources of their own (security-group-rule).
        checks.append(Check(action, world.ec2_new("security-group-rule"), context))
        checks.append(
            Check("ec2:CreateTags", world.ec2_new("security-group-rule"), {**context, "ec2:CreateAction": request.operation}, because=EC2_TAG_ON_CREATE)
        )
    return checks


@register("ec2", "CreateTags", "DeleteTags")
def ec2_tags(request: Request, world: World) -> list[Check]:
    context = request_tags(key_values(request.params.get("Tags")))
    if request.operation == "DeleteTags":
        context = {"aws:TagKeys": sorted(key_values(request.params.get("Tags")))}
    return [ec2_existing(request, world, f"ec2:{request.operation}", resource_id, context) for resource_id in request.params["Resources"]]


@register("ec2", "CreateFlowLogs")
def create_flow_logs(request: Request, world: World) -> list[Check]:
    checks = ec2_create("vpc-flow-log", "ResourceIds")(request, world)
    role = request.params.get("DeliverLogsPermissionArn")
    if role:
        checks.append(Check("iam:PassRole", role, {"iam:PassedToService": "vpc-flow-logs.amazonaws.com"}, because=FLOW_LOGS_PASS_ROLE))
    return checks


# =================================================================================================
# Elastic Load Balancing (v2)
# =================================================================================================
def elb_existing(world: World, action: str, arn: str, context: dict | None = None) -> Check:
    return Check(action, arn, {**(context or {}), **resource_tags(world.tags(arn))})


def elb_create(arn_element: str, *existing: str) -> Builder:
    def build(request: Request, world: World) -> list[Check]:
        action = f"elasticloadbalancing:{request.operation}"
        tags = key_values(request.params.get("Tags"))
        context = request_tags(tags)
        created = request.response_values(arn_element)
        checks = [elb_existing(world, action, request.params[p], context) for p in existing]
        if not existing:
            if not created:
                raise LookupError(f"{request} answered no {arn_element}: the table cannot name what it created")
            checks.append(Check(action, created[0], context))
        if tags and created:
            checks.append(
                Check(
                    "elasticloadbalancing:AddTags",
                    created[0],
                    {**context, "elasticloadbalancing:CreateAction": request.operation},
                    because=SAR_DEPENDENT.format(action=action, page="list_awselasticloadbalancingv2.html"),
                )
            )
        return checks

    return build


@register("elasticloadbalancing", "CreateLoadBalancer")
def create_load_balancer(request: Request, world: World) -> list[Check]:
    return elb_create("LoadBalancerArn")(request, world) + service_linked_role(world, "elasticloadbalancing.amazonaws.com", request)


TABLE[("elasticloadbalancing", "CreateTargetGroup")] = elb_create("TargetGroupArn")
TABLE[("elasticloadbalancing", "CreateListener")] = elb_create("ListenerArn", "LoadBalancerArn")
TABLE[("elasticloadbalancing", "CreateRule")] = elb_create("RuleArn", "ListenerArn")


def elb_on(parameter: str) -> Builder:
    def build(request: Request, world: World) -> list[Check]:
        return [elb_existing(world, f"elasticloadbalancing:{request.operation}", arn) for arn in as_list(request.params[parameter])]

    return build


for operation, parameter in {
    "ModifyLoadBalancerAttributes": "LoadBalancerArn",
    "DeleteLoadBalancer": "LoadBalancerArn",
    "SetSecurityGroups": "LoadBalancerArn",
    "SetSubnets": "LoadBalancerArn",
    "ModifyTargetGroupAttributes": "TargetGroupArn",
    "ModifyTargetGroup": "TargetGroupArn",
    "DeleteTargetGroup": "TargetGroupArn",
    "ModifyListener": "ListenerArn",
    "DeleteListener": "ListenerArn",
    "ModifyListenerAttributes": "ListenerArn",
    "ModifyRule": "RuleArn",
    "DeleteRule": "RuleArn",
}.items():
    TABLE[("elasticloadbalancing", operation)] = elb_on(parameter)


@register("elasticloadbalancing", "AddTags", "RemoveTags")
def elb_tags(request: Request, world: World) -> list[Check]:
    if request.operation == "AddTags":
        context = request_tags(key_values(request.params.get("Tags")))
    else:
        context = {"aws:TagKeys": sorted(request.params.get("TagKeys", []))}
    return [elb_existing(world, f"elasticloadbalancing:{request.operation}", arn, context) for arn in request.params["ResourceArns"]]


# =================================================================================================
# ECS
# =================================================================================================
def ecs_cluster_arn(world: World, name_or_arn: str) -> str:
    return name_or_arn if name_or_arn.startswith("arn:") else world.arn("ecs", f"cluster/{name_or_arn}")


def ecs_service_arn(world: World, cluster: str, name_or_arn: str) -> str:
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return world.arn("ecs", f"service/{ecs_cluster_arn(world, cluster).rsplit('/', 1)[-1]}/{name_or_arn}")


def ecs_tags(request: Request) -> dict[str, str]:
    return key_values(request.params.get("tags"), "key", "value")


def ecs_tag_on_create(request: Request, arn: str, context: dict) -> list[Check]:
    if not ecs_tags(request):
        return []
    return [Check("ecs:TagResource", arn, {**context, "ecs:CreateAction": request.operation}, because=ECS_TAG_ON_CREATE)]


def capacity_provider_arns(world: World, strategy) -> list[str]:
    return [world.arn("ecs", f"capacity-provider/{item['capacityProvider']}") for item in as_list(strategy)]


@register("ecs", "CreateCluster")
def create_cluster(request: Request, world: World) -> list[Check]:
    arn = world.arn("ecs", f"cluster/{request.params.get('clusterName', 'default')}")
    context = request_tags(ecs_tags(request))
    providers = [world.arn("ecs", f"capacity-provider/{name}") for name in as_list(request.params.get("capacityProviders"))]
    if providers:
        context["ecs:capacity-provider"] = providers
    return (
        [Check("ecs:CreateCluster", arn, context)]
        + ecs_tag_on_create(request, arn, request_tags(ecs_tags(request)))
        + service_linked_role(world, "ecs.amazonaws.com", request)
    )


@register("ecs", "CreateCapacityProvider")
def create_capacity_provider(request: Request, world: World) -> list[Check]:
    arn = world.arn("ecs", f"capacity-provider/{request.params['name']}")
    context = request_tags(ecs_tags(request))
    return [Check("ecs:CreateCapacityProvider", arn, context)] + ecs_tag_on_create(request, arn, context)


@register("ecs", "PutClusterCapacityProviders")
def put_cluster_capacity_providers(request: Request, world: World) -> list[Check]:
    arn = ecs_cluster_arn(world, request.params["cluster"])
    context = {"ecs:capacity-provider": [world.arn("ecs", f"capacity-provider/{n}") for n in request.params.get("capacityProviders", [])]}
    return [Check("ecs:PutClusterCapacityProviders", arn, {**context, **resource_tags(world.tags(arn))})]


@register("ecs", "DescribeClusters")
def describe_clusters(request: Request, world: World) -> list[Check]:
    return [
        Check("ecs:DescribeClusters", arn, resource_tags(world.tags(arn)))
        for arn in (ecs_cluster_arn(world, c) for c in request.params.get("clusters", ["default"]))
    ]


@register("ecs", "DescribeCapacityProviders")
def describe_capacity_providers(request: Request, world: World) -> list[Check]:
    names = request.params.get("capacityProviders")
    if not names:
        raise LookupError("DescribeCapacityProviders without names: the table knows no resource for it")
    return [Check("ecs:DescribeCapacityProviders", n if n.startswith("arn:") else world.arn("ecs", f"capacity-provider/{n}")) for n in names]


@register("ecs", "DescribeServices")
def describe_services(request: Request, world: World) -> list[Check]:
    cluster = request.params.get("cluster", "default")
    return [
        Check("ecs:DescribeServices", arn, {"ecs:cluster": ecs_cluster_arn(world, cluster), **resource_tags(world.tags(arn))})
        for arn in (ecs_service_arn(world, cluster, s) for s in request.params["services"])
    ]


def ecs_service_context(request: Request, world: World) -> dict:
    context = {"ecs:cluster": ecs_cluster_arn(world, request.params.get("cluster", "default"))}
    providers = capacity_provider_arns(world, request.params.get("capacityProviderStrategy"))
    if providers:
        context["ecs:capacity-provider"] = providers
    if request.params.get("taskDefinition"):
        definition = request.params["taskDefinition"]
        context["ecs:task-definition"] = definition if definition.startswith("arn:") else world.arn("ecs", f"task-definition/{definition}")
    return context


@register("ecs", "CreateService")
def create_service(request: Request, world: World) -> list[Check]:
    cluster = request.params.get("cluster", "default")
    arn = ecs_service_arn(world, cluster, request.params["serviceName"])
    context = {**ecs_service_context(request, world), **request_tags(ecs_tags(request))}
    return (
        [Check("ecs:CreateService", arn, context)]
        + ecs_tag_on_create(request, arn, request_tags(ecs_tags(request)))
        + service_linked_role(world, "ecs.amazonaws.com", request)
    )


@register("ecs", "UpdateService", "DeleteService")
def update_service(request: Request, world: World) -> list[Check]:
    arn = ecs_service_arn(world, request.params.get("cluster", "default"), request.params["service"])
    checks = [Check(f"ecs:{request.operation}", arn, {**ecs_service_context(request, world), **resource_tags(world.tags(arn))})]
    return checks + (service_linked_role(world, "ecs.amazonaws.com", request) if request.operation == "UpdateService" else [])


@register("ecs", "RegisterTaskDefinition")
def register_task_definition(request: Request, world: World) -> list[Check]:
    created = request.response_json.get("taskDefinition", {}).get("taskDefinitionArn")
    if not created:
        raise LookupError(f"{request} answered no taskDefinitionArn")
    context = request_tags(ecs_tags(request))
    checks = [Check("ecs:RegisterTaskDefinition", created, context)] + ecs_tag_on_create(request, created, context)
    for parameter in ("executionRoleArn", "taskRoleArn"):
        role = request.params.get(parameter)
        if role:
            checks.append(
                Check(
                    "iam:PassRole",
                    role,
                    {"iam:PassedToService": "ecs-tasks.amazonaws.com"},
                    because=PASS_ROLE.format(service="ecs-tasks.amazonaws.com", source=PASS_ROLE_ECS),
                )
            )
    return checks


@register("ecs", "ListServices")
def list_services(request: Request, world: World) -> list[Check]:
    return [Check("ecs:ListServices", "*", {"ecs:cluster": ecs_cluster_arn(world, request.params.get("cluster", "default"))})]


@register("ecs", "TagResource", "UntagResource", "ListTagsForResource")
def ecs_tagging(request: Request, world: World) -> list[Check]:
    arn = request.params["resourceArn"]
    context = resource_tags(world.tags(arn))
    if request.operation == "TagResource":
        context.update(request_tags(ecs_tags(request)))
    elif request.operation == "UntagResource":
        context["aws:TagKeys"] = sorted(request.params.get("tagKeys", []))
    return [Check(f"ecs:{request.operation}", arn, context)]


@register("ecs", "DeleteCluster", "UpdateCluster", "UpdateClusterSettings")
def ecs_on_cluster(request: Request, world: World) -> list[Check]:
    arn = ecs_cluster_arn(world, request.params["cluster"])
    return [Check(f"ecs:{request.operation}", arn, resource_tags(world.tags(arn)))]


@register("ecs", "DeleteCapacityProvider", "UpdateCapacityProvider")
def ecs_on_capacity_provider(request: Request, world: World) -> list[Check]:
    name = request.params.get("capacityProvider") or request.params["name"]
    arn = name if name.startswith("arn:") else world.arn("ecs", f"capacity-provider/{name}")
    return [Check(f"ecs:{request.operation}", arn, resource_tags(world.tags(arn)))]


# =================================================================================================
# EC2 Auto Scaling
# =================================================================================================
def asg_launches(request: Request, world: World, group_arn: str) -> list[Check]:
    """What AWS checks of the caller when a group is created or updated with a launch template:
    passing the instance profile's role to EC2, launching instances from the template, and tagging
    them on launch."""
    mixed = request.params.get("MixedInstancesPolicy") or {}
    template = request.params.get("LaunchTemplate") or mixed.get("LaunchTemplate", {}).get("LaunchTemplateSpecification")
    if not template:
        return []
    version = world.launch_template(template.get("LaunchTemplateId"), template.get("LaunchTemplateName"), template.get("Version"))
    data = version["LaunchTemplateData"]
    template_arn = world.arn("ec2", f"launch-template/{version['LaunchTemplateId']}")
    launch = {"ec2:LaunchTemplate": template_arn, "ec2:IsLaunchTemplateResource": "true"}
    checks = []
    profile = data.get("IamInstanceProfile", {})
    role = world.instance_profile_role(profile.get("Arn"), profile.get("Name")) if profile else None
    if role:
        checks.append(Check("iam:PassRole", role, {"iam:PassedToService": "ec2.amazonaws.com"}, because=ASG_DEPENDENT))
    subnets = [s for s in (request.params.get("VPCZoneIdentifier") or "").split(",") if s]
    resources = [world.ec2_new("instance"), world.ec2_new("volume"), world.ec2_new("network-interface"), template_arn]
    resources += [world.ec2(s) for s in subnets]
    resources += [world.ec2(g) for g in data.get("SecurityGroupIds", [])]
    resources.append(world.arn("ec2", f"image/{data['ImageId']}", account=False))
    instance_tags = spec_tags(data.get("TagSpecifications"), "instance")
    tags_at_launch = {**instance_tags, **spec_tags(data.get("TagSpecifications"), "volume")}
    for resource in resources:
        context = dict(launch)
        if resource.endswith(("instance/*", "volume/*", "network-interface/*")):
            context.update(request_tags(tags_at_launch))
        checks.append(Check("ec2:RunInstances", resource, context, because=ASG_DEPENDENT))
    for kind in ("instance", "volume"):
        tags = spec_tags(data.get("TagSpecifications"), kind)
        if tags:
            checks.append(Check("ec2:CreateTags", world.ec2_new(kind), {**request_tags(tags), "ec2:CreateAction": "RunInstances"}, because=ASG_DEPENDENT))
    return checks


@register("autoscaling", "CreateAutoScalingGroup")
def create_auto_scaling_group(request: Request, world: World) -> list[Check]:
    arn = world.arn("autoscaling", f"autoScalingGroup:*:autoScalingGroupName/{request.params['AutoScalingGroupName']}")
    context = request_tags(key_values(request.params.get("Tags")))
    return (
        [Check("autoscaling:CreateAutoScalingGroup", arn, context)]
        + asg_launches(request, world, arn)
        + service_linked_role(world, "autoscaling.amazonaws.com", request)
    )


@register("autoscaling", "UpdateAutoScalingGroup")
def update_auto_scaling_group(request: Request, world: World) -> list[Check]:
    arn = world.autoscaling_group_arn(request.params["AutoScalingGroupName"])
    return [Check("autoscaling:UpdateAutoScalingGroup", arn, resource_tags(world.tags(arn)))] + asg_launches(request, world, arn)


@register(
    "autoscaling",
    "DeleteAutoScalingGroup",
    "SetInstanceProtection",
    "StartInstanceRefresh",
    "CancelInstanceRefresh",
    "PutLifecycleHook",
    "DeleteLifecycleHook",
    "SuspendProcesses",
    "ResumeProcesses",
    "SetDesiredCapacity",
)
def asg_on(request: Request, world: World) -> list[Check]:
    arn = world.autoscaling_group_arn(request.params["AutoScalingGroupName"])
    return [Check(f"autoscaling:{request.operation}", arn, resource_tags(world.tags(arn)))]


@register("autoscaling", "CreateOrUpdateTags", "DeleteTags")
def asg_tags(request: Request, world: World) -> list[Check]:
    checks = []
    for tag in request.params.get("Tags", []):
        arn = world.autoscaling_group_arn(tag["ResourceId"])
        context = {**resource_tags(world.tags(arn)), **request_tags({tag["Key"]: tag.get("Value", "")})}
        checks.append(Check(f"autoscaling:{request.operation}", arn, context))
    return checks


# =================================================================================================
# Application Auto Scaling
# =================================================================================================
def scaling_context(request: Request) -> dict:
    return {
        "application-autoscaling:service-namespace": request.params["ServiceNamespace"],
        "application-autoscaling:scalable-dimension": request.params["ScalableDimension"],
    }


def cloudwatch_alarm_validation(world: World, when: str) -> list[Check]:
    # The validation calls name no alarm ("We call the PutMetricAlarm API without any parameters"):
    # only a statement that covers every alarm of the account (alarm:* or *) allows them.
    nameless = world.arn("cloudwatch", "alarm:*")
    return [
        Check(f"cloudwatch:{action}", nameless, because=f"{when}: {APPLICATION_AUTO_SCALING_VALIDATION}")
        for action in ("PutMetricAlarm", "DescribeAlarms", "DeleteAlarms")
    ]


@register("application-autoscaling", "RegisterScalableTarget")
def register_scalable_target(request: Request, world: World) -> list[Check]:
    arn = request.response_json.get("ScalableTargetARN") or world.scalable_target_arn(
        request.params["ServiceNamespace"], request.params["ResourceId"], request.params["ScalableDimension"]
    )
    tags = key_values(request.params.get("Tags"))
    context = {**scaling_context(request), **request_tags(tags)}
    checks = [Check("application-autoscaling:RegisterScalableTarget", arn, context)]
    if tags:
        checks.append(
            Check(
                "application-autoscaling:TagResource",
                arn,
                request_tags(tags),
                because=SAR_DEPENDENT.format(action="application-autoscaling:RegisterScalableTarget", page="list_awsapplicationautoscaling.html"),
            )
        )
    if request.params["ServiceNamespace"] == "ecs":
        _, cluster, service = request.params["ResourceId"].split("/")
        service_arn = ecs_service_arn(world, cluster, service)
        when = "RegisterScalableTarget of an ECS service"
        checks += [
            Check(
                f"ecs:{action}",
                service_arn,
                {"ecs:cluster": ecs_cluster_arn(world, cluster), **resource_tags(world.tags(service_arn))},
                because=f"{when}: {APPLICATION_AUTO_SCALING_VALIDATION}",
            )
            for action in ("DescribeServices", "UpdateService")
        ]
        checks += cloudwatch_alarm_validation(world, when)
        checks += service_linked_role(world, "ecs.application-autoscaling.amazonaws.com", request)
    return checks


@register("application-autoscaling", "PutScalingPolicy", "DeleteScalingPolicy", "DeregisterScalableTarget", "PutScheduledAction", "DeleteScheduledAction")
def on_scalable_target(request: Request, world: World) -> list[Check]:
    arn = world.scalable_target_arn(request.params["ServiceNamespace"], request.params["ResourceId"], request.params["ScalableDimension"])
    checks = [Check(f"application-autoscaling:{request.operation}", arn, {**scaling_context(request), **resource_tags(world.tags(arn))})]
    if request.operation == "PutScalingPolicy" and request.params.get("PolicyType") == "TargetTrackingScaling":
        checks += cloudwatch_alarm_validation(world, "PutScalingPolicy of a target tracking policy, which creates and deletes its alarms")
    return checks


@register("application-autoscaling", "ListTagsForResource", "TagResource", "UntagResource")
def scaling_tagging(request: Request, world: World) -> list[Check]:
    arn = request.params["ResourceARN"]
    context = resource_tags(world.tags(arn))
    if request.operation == "TagResource":
        context.update(request_tags(key_values(request.params.get("Tags"))))
    elif request.operation == "UntagResource":
        context["aws:TagKeys"] = sorted(request.params.get("TagKeys", []))
    return [Check(f"application-autoscaling:{request.operation}", arn, context)]


# =================================================================================================
# CloudWatch Logs
# =================================================================================================
def log_group_arn(world: World, name: str) -> str:
    return world.arn("logs", f"log-group:{name}")


@register("logs", "CreateLogGroup")
def create_log_group(request: Request, world: World) -> list[Check]:
    return [Check("logs:CreateLogGroup", log_group_arn(world, request.params["logGroupName"]), request_tags(key_values(request.params.get("tags"))))]


@register("logs", "PutRetentionPolicy", "DeleteRetentionPolicy", "DeleteLogGroup", "AssociateKmsKey", "DisassociateKmsKey", "ListTagsLogGroup")
def on_log_group(request: Request, world: World) -> list[Check]:
    arn = log_group_arn(world, request.params["logGroupName"])
    return [Check(f"logs:{request.operation}", arn, resource_tags(world.tags(arn)))]


@register("logs", "ListTagsForResource", "TagResource", "UntagResource")
def logs_tagging(request: Request, world: World) -> list[Check]:
    arn = request.params["resourceArn"].removesuffix(":*")
    context = resource_tags(world.tags(arn))
    if request.operation == "TagResource":
        context.update(request_tags(key_values(request.params.get("tags"))))
    elif request.operation == "UntagResource":
        context["aws:TagKeys"] = sorted(request.params.get("tagKeys", []))
    return [Check(f"logs:{request.operation}", arn, context)]


# =================================================================================================
# ECR
# =================================================================================================
def repository_arn(world: World, name: str) -> str:
    return world.arn("ecr", f"repository/{name}")


@register("ecr", "CreateRepository")
def create_repository(request: Request, world: World) -> list[Check]:
    arn = repository_arn(world, request.params["repositoryName"])
    tags = key_values(request.params.get("tags"))
    checks = [Check("ecr:CreateRepository", arn, request_tags(tags))]
    if tags:
        because = SAR_DEPENDENT.format(action="ecr:CreateRepository", page="list_amazonelasticcontainerregistry.html")
        checks.append(Check("ecr:TagResource", arn, request_tags(tags), because=because))
    return checks


@register("ecr", "DescribeRepositories")
def describe_repositories(request: Request, world: World) -> list[Check]:
    names = request.params.get("repositoryNames")
    if not names:
        return [Check("ecr:DescribeRepositories", repository_arn(world, "*"))]
    return [Check("ecr:DescribeRepositories", repository_arn(world, n), resource_tags(world.tags(repository_arn(world, n)))) for n in names]


@register(
    "ecr",
    "GetLifecyclePolicy",
    "PutLifecyclePolicy",
    "DeleteLifecyclePolicy",
    "DeleteRepository",
    "ListImages",
    "DescribeImages",
    "BatchDeleteImage",
    "PutImageScanningConfiguration",
    "PutImageTagMutability",
    "GetRepositoryPolicy",
    "BatchGetImage",
    "PutImage",
)
def on_repository(request: Request, world: World) -> list[Check]:
    arn = repository_arn(world, request.params["repositoryName"])
    return [Check(f"ecr:{request.operation}", arn, resource_tags(world.tags(arn)))]


@register("ecr", "ListTagsForResource", "TagResource", "UntagResource")
def ecr_tagging(request: Request, world: World) -> list[Check]:
    arn = request.params["resourceArn"]
    context = resource_tags(world.tags(arn))
    if request.operation == "TagResource":
        context.update(request_tags(key_values(request.params.get("tags"))))
    elif request.operation == "UntagResource":
        context["aws:TagKeys"] = sorted(request.params.get("tagKeys", []))
    return [Check(f"ecr:{request.operation}", arn, context)]


# =================================================================================================
# Systems Manager Parameter Store
# =================================================================================================
def parameter_arn(world: World, name: str) -> str:
    if name.startswith("arn:"):
        return name
    # AWS's public parameters (the ECS-optimized AMI) belong to no account.
    return world.arn("ssm", f"parameter/{name.lstrip('/')}", account=not name.startswith("/aws/"))


@register("ssm", "GetParameter")
def get_parameter(request: Request, world: World) -> list[Check]:
    return [Check("ssm:GetParameter", parameter_arn(world, request.params["Name"]))]


@register("ssm", "GetParameters")
def get_parameters(request: Request, world: World) -> list[Check]:
    return [Check("ssm:GetParameters", parameter_arn(world, name)) for name in request.params["Names"]]


# =================================================================================================
# S3
# =================================================================================================
def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def bucket_policy(world: World, bucket: str) -> Document | None:
    policy = world.bucket_policy(bucket)
    return Document(f"the bucket policy of {bucket}", policy) if policy else None


# The key policy AWS gives its managed key aws/s3 (AWS KMS Developer Guide, "AWS managed keys":
# "Allow access through S3 for all principals in the account that are authorized to use S3"),
# https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#aws-managed-key
def aws_managed_key_policy(world: World, service: str) -> Document:
    return Document(
        f"the key policy of the AWS managed key aws/{service}",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": f"Allow access through {service} for all principals in the account that are authorized to use {service}",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"kms:CallerAccount": world.account, "kms:ViaService": f"{service}.{world.region}.amazonaws.com"}},
                },
                {
                    "Sid": "Allow direct access to key metadata to the account",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{world.account}:root"},
                    "Action": ["kms:Describe*", "kms:Get*", "kms:List*"],
                    "Resource": "*",
                },
            ],
        },
    )


def kms_through_s3(request: Request, world: World, action: str) -> list[Check]:
    encryption = world.bucket_encryption(request.params["Bucket"])
    if encryption is None:
        return []
    key = encryption.get("KMSMasterKeyID")
    context = {
        "kms:ViaService": f"s3.{world.region}.amazonaws.com",
        "kms:CallerAccount": world.account,
        "aws:ViaAWSService": "true",
        "aws:CalledVia": ["s3.amazonaws.com"],
    }
    if key:
        key_arn = key if key.startswith("arn:") else world.arn("kms", f"key/{key}")
        # A customer managed key's policy is the customer's; the default one delegates to IAM.
        return [Check(action, key_arn, context, because=S3_SSE_KMS)]
    return [
        Check(
            action,
            world.arn("kms", "key/aws-managed-key-aws-s3"),
            context,
            because=S3_SSE_KMS,
            resource_policy=aws_managed_key_policy(world, "s3"),
            resource_owner=world.account,
        )
    ]


@register("s3", "HeadObject", "GetObject")
def read_object(request: Request, world: World) -> list[Check]:
    bucket, key = request.params["Bucket"], request.params["Key"]
    policy = bucket_policy(world, bucket)
    checks = [Check("s3:GetObject", object_arn(bucket, key), resource_policy=policy, resource_owner=world.account if policy else None)]
    if request.status == 404:
        checks.append(
            Check("s3:ListBucket", bucket_arn(bucket), because=S3_MISSING_KEY, resource_policy=policy, resource_owner=world.account if policy else None)
        )
    elif request.operation == "GetObject" and request.status < 300:
        checks += kms_through_s3(request, world, "kms:Decrypt")
    return checks


@register("s3", "PutObject")
def put_object(request: Request, world: World) -> list[Check]:
    bucket, key = request.params["Bucket"], request.params["Key"]
    policy = bucket_policy(world, bucket)
    checks = [Check("s3:PutObject", object_arn(bucket, key), resource_policy=policy, resource_owner=world.account if policy else None)]
    return checks + kms_through_s3(request, world, "kms:GenerateDataKey")


@register("s3", "DeleteObject")
def delete_object(request: Request, world: World) -> list[Check]:
    bucket, key = request.params["Bucket"], request.params["Key"]
    action = "s3:DeleteObjectVersion" if request.params.get("versionId") else "s3:DeleteObject"
    policy = bucket_policy(world, bucket)
    return [Check(action, object_arn(bucket, key), resource_policy=policy, resource_owner=world.account if policy else None)]


# S3 bucket operations and the IAM action each is authorized as (S3 User Guide, "Required permissions
# for Amazon S3 API operations", https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html):
# terraform's aws_s3_bucket reads every subresource of a bucket.
S3_BUCKET_OPERATIONS = {
    "CreateBucket": "s3:CreateBucket",
    "DeleteBucket": "s3:DeleteBucket",
    "GetBucketLocation": "s3:GetBucketLocation",
    "GetBucketAcl": "s3:GetBucketAcl",
    "PutBucketAcl": "s3:PutBucketAcl",
    "GetBucketCors": "s3:GetBucketCORS",
    "PutBucketCors": "s3:PutBucketCORS",
    "DeleteBucketCors": "s3:PutBucketCORS",
    "GetBucketWebsite": "s3:GetBucketWebsite",
    "GetBucketVersioning": "s3:GetBucketVersioning",
    "PutBucketVersioning": "s3:PutBucketVersioning",
    "GetBucketAccelerateConfiguration": "s3:GetAccelerateConfiguration",
    "GetBucketRequestPayment": "s3:GetBucketRequestPayment",
    "GetBucketLogging": "s3:GetBucketLogging",
    "PutBucketLogging": "s3:PutBucketLogging",
    "GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
    "GetBucketReplication": "s3:GetReplicationConfiguration",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
    "GetBucketTagging": "s3:GetBucketTagging",
    "PutBucketTagging": "s3:PutBucketTagging",
    "DeleteBucketTagging": "s3:PutBucketTagging",
    "GetBucketPolicy": "s3:GetBucketPolicy",
    "PutBucketPolicy": "s3:PutBucketPolicy",
    "DeleteBucketPolicy": "s3:DeleteBucketPolicy",
    "GetBucketOwnershipControls": "s3:GetBucketOwnershipControls",
    "PutBucketOwnershipControls": "s3:PutBucketOwnershipControls",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "GetBucketPolicyStatus": "s3:GetBucketPolicyStatus",
    "GetBucketNotificationConfiguration": "s3:GetBucketNotification",
}


def s3_bucket_operation(request: Request, world: World) -> list[Check]:
    bucket = request.params["Bucket"]
    policy = bucket_policy(world, bucket) if request.operation != "CreateBucket" else None
    return [Check(S3_BUCKET_OPERATIONS[request.operation], bucket_arn(bucket), resource_policy=policy, resource_owner=world.account if policy else None)]


for operation in S3_BUCKET_OPERATIONS:
    TABLE[("s3", operation)] = s3_bucket_operation


@register("s3", "ListObjectsV2", "ListObjects", "HeadBucket")
def list_bucket(request: Request, world: World) -> list[Check]:
    bucket = request.params["Bucket"]
    context = {}
    for parameter, key in (("prefix", "s3:prefix"), ("delimiter", "s3:delimiter"), ("max-keys", "s3:max-keys")):
        if parameter in request.params:
            context[key] = str(request.params[parameter])
    policy = bucket_policy(world, bucket)
    return [Check("s3:ListBucket", bucket_arn(bucket), context, resource_policy=policy, resource_owner=world.account if policy else None)]


# =================================================================================================
# A task starting: what the ECS agent does with the task execution role (no API call of the
# portal's; the emulator runs no task). Modelled from each task definition the runs registered.
# =================================================================================================
TASK_START = (
    "a task of this definition starting: the ECS agent pulls the image, creates the log stream and reads the declared "
    'secrets with the task execution role (ECS Developer Guide, "Amazon ECS task execution IAM role", '
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html: ecr:GetAuthorizationToken, "
    "ecr:BatchCheckLayerAvailability, ecr:GetDownloadUrlForLayer, ecr:BatchGetImage, logs:CreateLogStream, "
    'logs:PutLogEvents; ssm:GetParameters, secretsmanager:GetSecretValue, and kms:Decrypt "only if your secret uses a custom '
    'KMS key and not the default key")'
)


def task_start(registration: Request, world: World) -> list[Check]:
    """The execution role's authorizations when a task of a registered definition starts."""
    checks: list[Check] = []
    region = world.region
    for container in registration.params.get("containerDefinitions", []):
        image = container.get("image", "")
        registry = f"{world.account}.dkr.ecr.{region}.amazonaws.com/"
        if image.startswith(registry):
            repository = image[len(registry) :].split("@")[0].split(":")[0]
            checks.append(Check("ecr:GetAuthorizationToken", "*", because=TASK_START))
            for action in ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"):
                checks.append(Check(action, repository_arn(world, repository), because=TASK_START))
        log = container.get("logConfiguration") or {}
        if log.get("logDriver") == "awslogs":
            options = log.get("options", {})
            group = options["awslogs-group"]
            stream = f"{options.get('awslogs-stream-prefix', 'ecs')}/{container['name']}/task-id"
            stream_arn = world.arn("logs", f"log-group:{group}:log-stream:{stream}")
            checks += [Check(action, stream_arn, because=TASK_START) for action in ("logs:CreateLogStream", "logs:PutLogEvents")]
        for secret in container.get("secrets", []):
            source = secret["valueFrom"]
            if ":secretsmanager:" in source:
                secret_arn = ":".join(source.split(":")[:7])  # without a json-key/version-stage suffix
                checks.append(Check("secretsmanager:GetSecretValue", world.secret_full_arn(secret_arn), because=TASK_START))
                key = world.secret_kms_key(secret_arn)
                if key:
                    # The key's own policy is evaluated with it (KMS requires it to allow, or to
                    # delegate to IAM as the default key policy does).
                    # Secrets Manager asks KMS with the secret's whole ARN in the encryption context
                    # ("How AWS Secrets Manager uses AWS KMS", Encryption context: SecretARN and
                    # SecretVersionId), which a policy may condition on.
                    checks.append(
                        Check(
                            "kms:Decrypt",
                            key,
                            {
                                "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                                "kms:CallerAccount": world.account,
                                "aws:ViaAWSService": "true",
                                "aws:CalledVia": ["secretsmanager.amazonaws.com"],
                                "kms:EncryptionContext:SecretARN": world.secret_full_arn(secret_arn),
                                "kms:EncryptionContextKeys": ["SecretARN", "SecretVersionId"],
                            },
                            because=TASK_START,
                            resource_policy=Document(f"the key policy of {key}", world.key_policy(key)),
                            resource_owner=world.account,
                        )
                    )
            else:
                checks.append(Check("ssm:GetParameters", parameter_arn(world, source), because=TASK_START))
    return checks


def dumps(value) -> str:
    return json.dumps(value, sort_keys=True)
