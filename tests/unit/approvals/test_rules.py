"""The approval policy's rules (portal/approvals/rules.py), pure: a plan's facts read from
`terraform show -json` as the ecs-service module's plans have it, and the decision for each branch.
The same branches on plans terraform made are in tests/e2e/approvals/."""

import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.approvals.rules import DEFAULT_POLICY, PlanFacts, Policy, approval_policy, decide, facts_of

CONTAINER = {"name": "web", "image": "1.dkr.ecr.eu-west-1.amazonaws.com/web:1.0.0", "cpu": 256, "memory": 512, "portMappings": [{"containerPort": 8080}]}


def definitions(**changes) -> str:
    return json.dumps([{**CONTAINER, **changes}])


def task_definition(before: str, after: str, actions=("delete", "create"), **after_fields) -> dict:
    return {
        "address": "module.this.aws_ecs_task_definition.this",
        "type": "aws_ecs_task_definition",
        "change": {
            "actions": list(actions),
            "before": {"family": "web", "cpu": "256", "container_definitions": before, "arn": "arn:1", "revision": 1},
            "after": {"family": "web", "cpu": "256", "container_definitions": after, **after_fields},
            "after_unknown": {"arn": True, "revision": True, "id": True, "arn_without_revision": True},
        },
    }


def service(**after) -> dict:
    before = {"name": "web", "desired_count": 1, "task_definition": "arn:1"}
    return {
        "address": "module.this.aws_ecs_service.this",
        "type": "aws_ecs_service",
        "change": {"actions": ["update"], "before": before, "after": {**before, "task_definition": None, **after}, "after_unknown": {"task_definition": True}},
    }


def plan(*changes) -> dict:
    unchanged = {"address": "module.this.aws_cloudwatch_log_group.this", "type": "aws_cloudwatch_log_group", "change": {"actions": ["no-op"]}}
    return {"resource_changes": [unchanged, *changes]}


NEW_IMAGE = definitions(image="1.dkr.ecr.eu-west-1.amazonaws.com/web:1.1.0")
GUARDED = Policy(image_deploys=0, two_approvals_for=frozenset({"aws_ecr_repository", "aws_lb"}))


def test_a_new_image_alone_is_an_image_only_deploy():
    facts = facts_of(plan(task_definition(definitions(), NEW_IMAGE), service()))
    assert facts.image_only and facts.removed == (("module.this.aws_ecs_task_definition.this", "aws_ecs_task_definition", "replace"),)
    assert PlanFacts.from_json(json.loads(json.dumps(facts.as_json()))) == facts


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param((task_definition(definitions(), definitions(memory=1024)), service()), id="the container's memory too"),
        pytest.param((task_definition(definitions(), definitions(image=NEW_IMAGE, cpu=512)), service()), id="an image and the cpu"),
        pytest.param((task_definition(definitions(), NEW_IMAGE, cpu="512"), service()), id="the task's cpu beside a new image"),
        pytest.param((task_definition(definitions(), NEW_IMAGE), service(desired_count=3)), id="the desired count beside a new image"),
        pytest.param((task_definition(definitions(), definitions()), service()), id="nothing of the containers"),
        pytest.param((task_definition(definitions(), None), service()), id="containers known only after apply"),
        pytest.param((task_definition(definitions(), "not json"), service()), id="containers that are not JSON"),
        pytest.param((service(),), id="the service alone"),
        pytest.param(
            (
                task_definition(definitions(), NEW_IMAGE),
                service(),
                {"address": "module.this.aws_iam_role.task", "type": "aws_iam_role", "change": {"actions": ["update"], "before": {}, "after": {"x": 1}}},
            ),
            id="a role beside a new image",
        ),
        pytest.param((task_definition(definitions(), NEW_IMAGE, actions=("update",)), service()), id="a task definition updated in place"),
    ],
)
def test_anything_beside_the_image_is_not_an_image_only_deploy(changes):
    assert not facts_of(plan(*changes)).image_only


def test_what_the_provider_reads_back_for_unset_attributes_is_no_change():
    """As the AWS provider plans a replaced task definition (seen on the emulator): "" or {} read
    back where the configuration plans null, containers read back with empty lists, attributes it
    computes unknown, and lists of markers that mark nothing unknown."""
    replaced = task_definition(definitions(mountPoints=[], volumesFrom=[]), NEW_IMAGE)
    replaced["change"]["before"] |= {"task_role_arn": "", "tags": {}, "requires_compatibilities": ["EC2"], "enable_fault_injection": False}
    replaced["change"]["after"] |= {"task_role_arn": None, "tags": None, "requires_compatibilities": ["EC2"], "enable_fault_injection": None}
    replaced["change"]["after_unknown"] |= {"enable_fault_injection": True, "requires_compatibilities": [False], "volume": []}
    updated = service(network_configuration=[{"subnets": ["subnet-1"]}])
    updated["change"]["before"]["network_configuration"] = [{"subnets": ["subnet-1"], "security_groups": []}]
    updated["change"]["after_unknown"]["network_configuration"] = [{"security_groups": [], "subnets": [False]}]
    assert facts_of(plan(replaced, updated)).image_only

    removed_role = task_definition(definitions(), NEW_IMAGE)
    removed_role["change"]["before"]["task_role_arn"] = "arn:aws:iam::1:role/task"
    removed_role["change"]["after"]["task_role_arn"] = None
    assert not facts_of(plan(removed_role, service())).image_only, "a role taken away is a change"
    marked = service()
    marked["change"]["after_unknown"]["network_configuration"] = [{"subnets": [True]}]
    assert not facts_of(plan(task_definition(definitions(), NEW_IMAGE), marked)).image_only, "a service's subnets known only after apply"


def test_a_plan_that_changes_nothing_is_not_an_image_deploy():
    assert facts_of(plan()) == PlanFacts(removed=(), image_only=False)


def test_destroyed_and_replaced_resources_are_read_with_their_type():
    repository = {"address": "module.this.aws_ecr_repository.this", "type": "aws_ecr_repository", "change": {"actions": ["delete"]}}
    balancer = {"address": "module.this.aws_lb.this", "type": "aws_lb", "change": {"actions": ["create", "delete"]}}
    created = {"address": "module.this.aws_s3_bucket.this", "type": "aws_s3_bucket", "change": {"actions": ["create"]}}
    assert facts_of(plan(repository, balancer, created)).removed == (
        ("module.this.aws_ecr_repository.this", "aws_ecr_repository", "destroy"),
        ("module.this.aws_lb.this", "aws_lb", "replace"),
    )


def test_each_branch_of_the_decision():
    deploy = facts_of(plan(task_definition(definitions(), NEW_IMAGE), service()))
    destroy = PlanFacts(removed=(("module.this.aws_ecr_repository.this", "aws_ecr_repository", "destroy"),), image_only=False)
    other = PlanFacts(removed=(("module.this.aws_ecs_task_definition.this", "aws_ecs_task_definition", "replace"),), image_only=False)

    two = decide(GUARDED, [deploy, destroy], image_deploy_allowed=None)
    assert (two.approvals, two.rule) == (2, "two_approvals") and "module.this.aws_ecr_repository.this (destroy)" in two.reason
    none = decide(GUARDED, [deploy], image_deploy_allowed=None)
    assert (none.approvals, none.rule) == (0, "image_deploy")
    unhealthy = decide(GUARDED, [deploy], image_deploy_allowed="its last deploy was applied, not healthy")
    assert (unhealthy.approvals, unhealthy.rule) == (1, "one_approval") and "its last deploy was applied, not healthy" in unhealthy.reason
    assert decide(GUARDED, [deploy, other], image_deploy_allowed=None).approvals == 1, "every plan must be image-only"
    assert decide(GUARDED, [], image_deploy_allowed=None).approvals == 1
    # The default policy is the rule that always was: one approval, whatever the plan.
    assert {decide(DEFAULT_POLICY, [facts], image_deploy_allowed=None).approvals for facts in (deploy, destroy, other)} == {1}


def test_the_portals_decommission_at_an_end_needs_none_only_when_the_policy_says_so():
    destroy = PlanFacts(removed=(("module.this.aws_ecr_repository.this", "aws_ecr_repository", "destroy"),), image_only=False)
    ending = Policy(image_deploys=1, two_approvals_for=GUARDED.two_approvals_for, ended_environments=0)
    decision = decide(ending, [destroy], image_deploy_allowed="n/a", environment_ended="at 2026-12-05 10:00 UTC")
    assert (decision.approvals, decision.rule) == (0, "environment_ended") and "2026-12-05 10:00 UTC" in decision.reason
    assert decide(GUARDED, [destroy], image_deploy_allowed="n/a", environment_ended="at 2026-12-05 10:00 UTC").approvals == 2, "the default asks"
    assert decide(ending, [destroy], image_deploy_allowed="n/a").approvals == 2, "anyone else's decommission"


def test_a_long_list_of_guarded_resources_is_shortened():
    many = PlanFacts(removed=tuple((f"aws_lb.n{i}", "aws_lb", "destroy") for i in range(8)), image_only=False)
    assert decide(GUARDED, [many], image_deploy_allowed=None).reason.endswith("aws_lb.n4 (destroy) and 3 more.")


def test_the_setting_is_read_strictly():
    environ = {"PORTAL_APPROVAL_POLICY": '{"image_deploys": 0, "two_approvals_for": ["aws_lb"]}'}
    assert approval_policy_from(environ) == Policy(image_deploys=0, two_approvals_for=frozenset({"aws_lb"}))
    assert approval_policy_from({}) == DEFAULT_POLICY
    for bad, said in [
        ('{"image_deploy": 0}', "it takes image_deploys"),
        ('{"image_deploys": 2}', "must be 0 or 1"),
        ('{"image_deploys": true}', "must be 0 or 1"),
        ('{"ended_environments": 3}', "ended_environments must be 0 or 1"),
        ('{"two_approvals_for": "aws_lb"}', "list of AWS resource types"),
        ('{"two_approvals_for": ["aws_lb", "lb"]}', "list of AWS resource types"),
        ("[0]", "a JSON object"),
    ]:
        with pytest.raises(ImproperlyConfigured, match="PORTAL_APPROVAL_POLICY") as raised:
            approval_policy_from({"PORTAL_APPROVAL_POLICY": bad})
        assert said in str(raised.value), bad


def approval_policy_from(environ: dict) -> Policy:
    import os
    from unittest import mock

    with mock.patch.dict(os.environ, environ, clear=False):
        if not environ:
            os.environ.pop("PORTAL_APPROVAL_POLICY", None)
        return approval_policy("PORTAL_APPROVAL_POLICY")


def test_the_policy_says_itself_in_words():
    assert DEFAULT_POLICY.as_text() == ["One approval, from someone other than the proposer, for anything else."]
    lines = GUARDED.as_text()
    assert lines[0].startswith("Two approvals") and "aws_ecr_repository, aws_lb" in lines[0] and lines[1].startswith("No approval for an image-only deploy")
