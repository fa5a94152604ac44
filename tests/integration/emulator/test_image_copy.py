"""Copying an image into a service's ECR repository without Docker (portal/journey/images.py), the
step the AWS acceptance run takes with public.ecr.aws/nginx/nginx:stable-alpine: pulled here from a
registry on loopback that answers as public.ecr.aws does (tests/fake_registry.py), pushed into the
emulator's ECR with the layer-upload API, and read back from ECR."""

import gzip
import io
import json
import tarfile

import pytest

from portal.core.aws import client
from portal.journey import images
from tests.fake_registry import FakeRegistry


@pytest.fixture
def registry():
    served = FakeRegistry()
    yield served
    served.close()


@pytest.fixture
def repository(request):
    ecr = client("ecr")
    name = f"image-copy-{request.node.name.replace('_', '-')[:40]}"
    ecr.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")
    yield name
    ecr.delete_repository(repositoryName=name, force=True)


def pushed(repository: str, tag: str) -> tuple[dict, str]:
    (image,) = client("ecr").batch_get_image(repositoryName=repository, imageIds=[{"imageTag": tag}])["images"]
    return json.loads(image["imageManifest"]), image["imageId"]["imageDigest"]


def test_the_amd64_image_of_the_tag_is_copied_with_the_page_layer(registry, repository):
    page = ("usr/share/nginx/html/acc-1a2b3-hello/index.html", "<p>acc-1a2b3-hello 1.0.0</p>\n")

    digest = images.copy_image(registry.reference, client("ecr", timeout=60), repository, "1.0.0", page=page)

    manifest, stored_digest = pushed(repository, "1.0.0")
    assert stored_digest == digest
    base = json.loads(registry.manifest)
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["layers"][0] == base["layers"][0], "the base image's layer is kept as it was"
    added = manifest["layers"][1]
    assert added["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    layers = client("ecr").batch_check_layer_availability(
        repositoryName=repository, layerDigests=[layer["digest"] for layer in manifest["layers"]] + [manifest["config"]["digest"]]
    )
    assert [layer["layerAvailability"] for layer in layers["layers"]] == ["AVAILABLE"] * 3 and layers["failures"] == []

    layer, uncompressed = images.page_layer(*page)
    assert added["digest"] == images.digest_of(layer)
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as tar:
        assert tar.extractfile(page[0]).read().decode() == page[1]
        assert tar.getmember("usr/share/nginx/html/acc-1a2b3-hello").isdir()
    config = json.loads(images.with_page(images.Registry(images.ImageReference.parse(registry.reference)).image(), *page).config)
    assert config["rootfs"]["diff_ids"][-1] == images.digest_of(uncompressed)
    assert manifest["config"]["digest"] == images.digest_of(json.dumps(config, separators=(",", ":")).encode())


def test_the_pull_asks_for_an_anonymous_token_and_drops_it_at_the_storage(registry, repository):
    images.copy_image(registry.reference, client("ecr", timeout=60), repository, "1.0.0")

    seen = registry.requests
    assert seen[0][1] is None and seen[1][0].startswith("/token?"), "a 401 first, then the realm's token"
    assert all(auth == f"Bearer {'anonymous-pull-token'}" for path, auth in seen[2:] if path.startswith("/v2/"))
    assert [auth for path, auth in seen if path.startswith("/storage/")] == [None, None]
    assert not any(path.endswith("0" * 64) for path, _ in seen), "the arm64 image is never fetched"


def test_a_second_tag_of_the_same_image_uploads_no_layer_again(registry, repository):
    ecr = client("ecr", timeout=60)
    page = ("usr/share/nginx/html/x/index.html", "one\n")
    images.copy_image(registry.reference, ecr, repository, "1.0.0", page=page)
    uploads = []
    original = ecr.initiate_layer_upload
    ecr.initiate_layer_upload = lambda **kwargs: uploads.append(kwargs) or original(**kwargs)

    images.copy_image(registry.reference, ecr, repository, "1.1.0", page=("usr/share/nginx/html/x/index.html", "two\n"))

    assert len(uploads) == 2, "only the new page layer and the new config are uploaded"
    assert pushed(repository, "1.0.0")[1] != pushed(repository, "1.1.0")[1]


def test_a_blob_that_arrives_with_another_digest_is_refused(registry, repository):
    registry.corrupt.add(images.digest_of(registry.layer))

    with pytest.raises(images.ImageCopyFailed, match="arrived with another digest"):
        images.copy_image(registry.reference, client("ecr"), repository, "1.0.0")

    assert client("ecr").list_images(repositoryName=repository)["imageIds"] == []


@pytest.mark.parametrize("reference", ["nginx", "public.ecr.aws/nginx/nginx", "public.ecr.aws/nginx/nginx:a b"])
def test_a_reference_without_registry_or_tag_is_refused(reference):
    with pytest.raises(images.ImageCopyFailed, match="registry/repository:tag"):
        images.ImageReference.parse(reference)


def test_public_registries_are_read_over_https_and_only_loopback_over_http():
    assert images.ImageReference.parse("public.ecr.aws/nginx/nginx:stable-alpine").base_url == "https://public.ecr.aws"
    assert images.ImageReference.parse("127.0.0.1:5000/library/tiny:1").base_url == "http://127.0.0.1:5000"
