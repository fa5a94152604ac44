"""The image a service was deployed with stays in its repository.

The repository's lifecycle policy (infra_modules/ecr-repository) expires images by push time, not
by what runs: its first rule keeps the images tagged `deployed-...`, which no lower rule may then
expire (ECR's "Lifecycle policy evaluation rules"). After a service's apply the worker gives the
image that tag, as the ecr administrator (the repository is its own). Tags are immutable, so a tag
given once stays on its image."""

import hashlib

from botocore.exceptions import BotoCoreError, ClientError

from portal.core.aws import client
from portal.workspaces import identities

DEPLOYED_TAG_PREFIX = "deployed-"  # the ecr-repository module's deployed_tag_prefix
TAG_MAX_LENGTH = 128


def deployed_tag(image_tag: str) -> str:
    tag = f"{DEPLOYED_TAG_PREFIX}{image_tag}"
    if len(tag) <= TAG_MAX_LENGTH:
        return tag
    return f"{DEPLOYED_TAG_PREFIX}{hashlib.sha256(image_tag.encode()).hexdigest()[:40]}"


def keep_deployed_image(variables: dict, log) -> None:
    """Tag the image of a service's applied inputs `deployed-<tag>`; say in the log what was done,
    or why not and what it means. Never fails the apply: the service runs either way."""
    repository, image_tag = variables.get("repository_name"), variables.get("image_tag")
    if not repository or not image_tag:
        return
    kept = deployed_tag(image_tag)
    try:
        ecr = client("ecr", role_arn=identities.role_arn("ecr", "admin"))
        found = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": image_tag}])["images"]
        if not found:
            log(f"[portal] {repository}:{image_tag} is not in the repository: ECS cannot start the service's tasks until it is pushed there.\n")
            return
        image = found[0]
        extra = {"imageManifestMediaType": image["imageManifestMediaType"]} if image.get("imageManifestMediaType") else {}
        ecr.put_image(repositoryName=repository, imageManifest=image["imageManifest"], imageTag=kept, **extra)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("ImageAlreadyExistsException", "ImageTagAlreadyExistsException"):
            log(f"[portal] {repository}:{image_tag} is kept from the repository's lifecycle policy ({kept}).\n")
            return
        log(
            f"[portal] {repository}:{image_tag} could not be tagged {kept} ({code}): the repository's lifecycle policy "
            "may expire it once enough newer images are pushed.\n"
        )
        return
    except BotoCoreError as exc:
        log(f"[portal] {repository}:{image_tag} could not be tagged {kept} ({exc}).\n")
        return
    log(f"[portal] {repository}:{image_tag} is kept from the repository's lifecycle policy: tagged {kept}.\n")
