"""The image a service runs is never expired by its repository's lifecycle policy.

The emulator never runs lifecycle policies, so ECR's documented evaluation is modelled here
(`expired`: "Lifecycle policy evaluation rules" in the ECR user guide) and applied to the policy
the ecr-repository module really renders (planned by terraform); the tagging the worker does after a
service's apply runs against the emulator."""

import json
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from django.conf import settings

from portal.core.aws import client
from portal.runner.deployed_images import deployed_tag, keep_deployed_image
from portal.runner.terraform import terraform_environment
from tests.images import image_manifest

pytestmark = [pytest.mark.django_db]


@dataclass
class Image:
    digest: str
    tags: list[str]
    pushed_at: datetime


def matches(rule: dict, image: Image) -> bool:
    selection = rule["selection"]
    if selection["tagStatus"] == "untagged":
        return not image.tags
    if selection["tagStatus"] == "tagged":
        # "an image is matched if all of the tags in the tagPrefixList are matched against any of the image's tags"
        return all(any(tag.startswith(prefix) for tag in image.tags) for prefix in selection["tagPrefixList"])
    return True  # any


def expired(policy: dict, images: list[Image], now: datetime) -> set[str]:
    """ECR's evaluation: rules in priority order; an image matched by a higher-priority rule cannot be
    expired by a lower one; imageCountMoreThan keeps the newest N of what the rule selects (by push
    time), sinceImagePushed expires what is older; an image is expired by one rule at most."""
    claimed, gone = set(), set()
    for rule in sorted(policy["rules"], key=lambda r: r["rulePriority"]):
        selected = sorted((i for i in images if i.digest not in claimed and matches(rule, i)), key=lambda i: i.pushed_at, reverse=True)
        selection = rule["selection"]
        if selection["countType"] == "imageCountMoreThan":
            gone |= {i.digest for i in selected[selection["countNumber"] :]}
        else:
            limit = now - timedelta(days=selection["countNumber"])
            gone |= {i.digest for i in selected if i.pushed_at < limit}
        claimed |= {i.digest for i in selected}
    return gone


@pytest.fixture(scope="module")
def rendered_policy(tmp_path_factory):
    """The lifecycle policy the module renders with its defaults, from a real terraform plan."""
    root = tmp_path_factory.mktemp("ecr-policy")
    shutil.copytree(settings.INFRA_MODULES_DIR / "ecr-repository", root / "module", ignore=shutil.ignore_patterns(".terraform*", "tests", "examples"))
    (root / "main.tf").write_text('module "this" {\n  source = "./module"\n  name   = "art-service-lifecycle-check"\n}\n')
    env = terraform_environment()
    for command in (["init", "-input=false", "-backend=false"], ["plan", "-input=false", "-refresh=false", "-out=plan"]):
        done = subprocess.run(["terraform", *command], cwd=root, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    shown = json.loads(subprocess.run(["terraform", "show", "-json", "plan"], cwd=root, env=env, capture_output=True, text=True, check=True).stdout)
    (policy,) = [
        r["values"]["policy"] for r in shown["planned_values"]["root_module"]["child_modules"][0]["resources"] if r["type"] == "aws_ecr_lifecycle_policy"
    ]
    return json.loads(policy)


def test_a_service_running_an_old_image_keeps_it_however_many_images_are_pushed_after(rendered_policy):
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    running = Image("sha256:running", ["1.0.0", deployed_tag("1.0.0")], now - timedelta(days=60))
    builds = [Image(f"sha256:{n}", [f"ci-{n}"], now - timedelta(days=59 - n)) for n in range(50)]
    layers = [Image("sha256:untagged", [], now - timedelta(days=30))]

    gone = expired(rendered_policy, [running, *builds, *layers], now)

    assert "sha256:running" not in gone, "the image the service runs stays pullable"
    assert len([d for d in gone if d.startswith("sha256:") and d[7:].isdigit()]) == 50 - 30, "builds beyond the newest 30 expire"
    assert "sha256:untagged" in gone


def test_the_model_expires_a_running_image_under_a_count_rule_alone():
    """What the policy was before: keep the newest 30 of any image. Guards the model itself."""
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    before = {
        "rules": [
            {"rulePriority": 1, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7}},
            {"rulePriority": 2, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30}},
        ]
    }
    running = Image("sha256:running", ["1.0.0"], now - timedelta(days=60))
    builds = [Image(f"sha256:{n}", [f"ci-{n}"], now - timedelta(days=59 - n)) for n in range(30)]

    assert "sha256:running" in expired(before, [running, *builds], now)


MANIFEST = image_manifest("b")


@pytest.fixture
def repository(state_bucket):  # the session's bootstrap: its tests are e2e
    """A repository with one image, as CI pushes it; the administrators exist (the session's bootstrap)."""
    ecr = client("ecr")
    name = "art-service-deployed-images"
    ecr.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")
    ecr.put_image(repositoryName=name, imageManifest=MANIFEST, imageTag="1.4.2")
    yield name
    ecr.delete_repository(repositoryName=name, force=True)


# With the session's bootstrap, as every test that uses it: transactional, so that pytest-django runs
# them after the tests that count rows.
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_after_a_deploy_the_image_is_tagged_deployed_once_and_for_all(repository):
    lines = []

    keep_deployed_image({"repository_name": repository, "image_tag": "1.4.2"}, lines.append)
    keep_deployed_image({"repository_name": repository, "image_tag": "1.4.2"}, lines.append)

    (image,) = client("ecr").describe_images(repositoryName=repository)["imageDetails"]
    assert sorted(image["imageTags"]) == ["1.4.2", "deployed-1.4.2"]
    assert lines[0] == f"[portal] {repository}:1.4.2 is kept from the repository's lifecycle policy: tagged deployed-1.4.2.\n"
    assert "is kept from the repository's lifecycle policy (deployed-1.4.2)" in lines[1]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_deploy_of_a_tag_not_pushed_says_the_tasks_cannot_start(repository):
    lines = []

    keep_deployed_image({"repository_name": repository, "image_tag": "9.9.9"}, lines.append)

    assert lines == [f"[portal] {repository}:9.9.9 is not in the repository: ECS cannot start the service's tasks until it is pushed there.\n"]
    assert len(client("ecr").describe_images(repositoryName=repository)["imageDetails"]) == 1


def test_a_long_tag_still_makes_a_valid_tag():
    assert deployed_tag("1.0.0") == "deployed-1.0.0"
    long = deployed_tag("x" * 128)
    assert len(long) <= 128 and long.startswith("deployed-") and long != deployed_tag("x" * 127 + "y")
