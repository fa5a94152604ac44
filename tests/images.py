"""An image manifest as a pipeline's push leaves it in a repository: what the tests put there with
the ECR API, where nothing takes a docker push (the emulator's registry address)."""

import json


def image_manifest(fill: str = "a") -> str:
    """A manifest of no layers whose config digest is `fill` repeated: a distinct image per fill."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023, "digest": "sha256:" + fill * 64},
            "layers": [],
        }
    )
