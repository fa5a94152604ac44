"""Whether the image a service declares is in the repository its ecr-repository workspace made, asked
of ECR before anything is planned, and how to push one there.

ECS pulls a task's image only when it starts the task: a tag nobody pushed would be planned,
approved and applied without a word, and then every task would stop with CannotPullContainerError
(AWS, "Amazon ECS stopped task error messages"). So a change of a service whose repository exists
is held while its tag is missing from it (`PORTAL_IMAGE_CHECK=hold`, the default), or planned with a
warning on its change page (`warn`, for teams whose pipelines push after approval). A registration
makes the repository itself: its change page says to push the tag once that workspace has applied.

The question is ECR's BatchGetImage, asked as the ecr administrator (the repository is its own, as
for the deployed-image tag of portal.runner.deployed_images): an image that is not there is a
failure `ImageNotFound` in the answer, a repository that is not there the error
RepositoryNotFoundException (ECR API Reference, BatchGetImage). Anything else (no administrator yet,
AWS unreachable) is "could not check", which holds nothing.
"""

from dataclasses import dataclass
from enum import StrEnum

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError

from portal.core.aws import client
from portal.workspaces import identities

# The pages ask while they render: a slow answer is "could not check", not a slow page.
TIMEOUT_SECONDS = 3
PAGE_CACHE_SECONDS = 15


class Found(StrEnum):
    PRESENT = "present"
    MISSING = "missing"
    NO_REPOSITORY = "no_repository"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ImageCheck:
    found: Found
    repository: str
    tag: str
    reason: str = ""  # why it could not be checked

    @property
    def message(self) -> str:
        image = f"{self.repository}:{self.tag}"
        if self.found == Found.PRESENT:
            return f"{image} is in the repository."
        if self.found == Found.MISSING:
            return (
                f"{self.tag} is not in the repository {self.repository}: ECS could not start the service's tasks. "
                "Push it there first (the Image section of the service page shows how), or name a tag that is there."
            )
        if self.found == Found.NO_REPOSITORY:
            return (
                f"The repository {self.repository} is made by this service's first apply: push {self.tag} to it as soon "
                f"as its workspace ecs/ecr-repositories/{self.repository} has applied, or the service's tasks cannot start."
            )
        return f"Whether {image} is in the repository could not be checked ({self.reason})."


def check_image(repository: str, tag: str) -> ImageCheck:
    try:
        ecr = client("ecr", timeout=TIMEOUT_SECONDS, role_arn=identities.role_arn("ecr", "admin"))
        answer = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": tag}])
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "") or "an error"
        if code == "RepositoryNotFoundException":
            return ImageCheck(Found.NO_REPOSITORY, repository, tag)
        return ImageCheck(Found.UNKNOWN, repository, tag, reason=f"ECR answered {code}")
    except BotoCoreError as exc:
        return ImageCheck(Found.UNKNOWN, repository, tag, reason=f"ECR did not answer: {type(exc).__name__}")
    return ImageCheck(Found.PRESENT if answer.get("images") else Found.MISSING, repository, tag)


def require_image(repository: str, tag: str) -> None:
    """Before a service's change is proposed: with the check set to hold, a tag missing from an
    existing repository is an error on the image tag field, and nothing is kept."""
    if settings.IMAGE_CHECK != "hold":
        return
    check = check_image(repository, tag)
    if check.found == Found.MISSING:
        raise ValidationError({"image_tag": [check.message]})


@dataclass(frozen=True)
class PushInstructions:
    """How to push an image to the repository (ECR User Guide, "Pushing a Docker image"): log docker
    in to the registry with a token from `aws ecr get-login-password`, tag the image with the
    repository's URI and the tag, push it."""

    repository_url: str  # empty until the repository has applied
    tag: str

    @property
    def registry(self) -> str:
        return self.repository_url.split("/", 1)[0]

    @property
    def commands(self) -> list[str]:
        if not self.repository_url:
            return []
        return [
            f"aws ecr get-login-password --region {settings.AWS_REGION} | docker login --username AWS --password-stdin {self.registry}",
            f"docker tag <your image> {self.repository_url}:{self.tag}",
            f"docker push {self.repository_url}:{self.tag}",
        ]


def push_instructions(service, tag: str) -> PushInstructions:
    """The commands for the service's repository, whose address is its workspace's last applied output."""
    from portal.runs.models import Run

    run = Run.objects.filter(workspace__service=service, workspace__module="ecr-repository").applied().last_finished_first().only("outputs").first()
    return PushInstructions(repository_url=(run.outputs or {}).get("repository_url", "") if run else "", tag=tag)


def image_section(service, tag: str) -> dict:
    """What the pages show of a declared tag: whether it is there, and how to push it. A tag found is
    kept PAGE_CACHE_SECONDS (the steady state of a service's page, reloaded by many: ECR is asked at
    most that often); any other answer is asked again each time, as someone is pushing it now. The
    hold before planning always asks."""
    key = f"portal:image-present:{service.resource_name}:{tag}"
    check = cache.get(key)
    if check is None:
        check = check_image(service.resource_name, tag)
        if check.found == Found.PRESENT:
            cache.set(key, check, PAGE_CACHE_SECONDS)
    return {"check": check, "push": push_instructions(service, tag), "on_emulator": settings.ON_EMULATOR}
