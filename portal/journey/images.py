"""Copying a container image from a registry into a service's ECR repository, without Docker.

The image is pulled over the registry's HTTP API (the OCI distribution API, which public.ecr.aws and
Docker Hub serve; anonymous pulls get a bearer token from the realm the registry names in its 401),
one layer is added (a page under the service's routed path, so that the load balancer answers 200 from
the service there: nginx serves only what is under its html folder), and the result is pushed with
ECR's own layer-upload API (InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload, PutImage), the
calls `docker push` makes. Every blob is checked against its digest on the way in; ECR computes the
digest of each uploaded layer again and refuses a mismatch.

The registry client is requests (pinned in requirements.txt): it drops the Authorization header when
a blob request is redirected to another host (the storage behind the registry), which a signed
storage URL requires; urllib would send it along.
"""

import gzip
import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass, field

import requests

# What a client accepts for a tag: an index (several platforms) or one platform's manifest.
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json")
LAYER_TYPES = {
    "application/vnd.oci.image.manifest.v1+json": "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.docker.distribution.manifest.v2+json": "application/vnd.docker.image.rootfs.diff.tar.gzip",
}
# ECS on the cluster's instances (x86_64 ECS-optimized AMI).
PLATFORM = {"os": "linux", "architecture": "amd64"}


class ImageCopyFailed(Exception):
    pass


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ImageReference:
    registry: str
    repository: str
    tag: str

    @classmethod
    def parse(cls, text: str) -> "ImageReference":
        match = re.fullmatch(r"(?P<registry>[a-z0-9.-]+(?::\d+)?)/(?P<repository>[a-z0-9._/-]+):(?P<tag>[A-Za-z0-9_.-]{1,128})", text)
        if not match:
            raise ImageCopyFailed(f"{text!r} is not an image reference of the form registry/repository:tag.")
        return cls(**match.groupdict())

    @property
    def base_url(self) -> str:
        host = self.registry.split(":")[0]
        # Plain HTTP only for a registry on this machine (a test's), as Docker allows for loopback.
        scheme = "http" if host in ("127.0.0.1", "localhost") else "https"
        return f"{scheme}://{self.registry}"

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"


@dataclass
class Image:
    manifest: bytes
    media_type: str
    config: bytes
    layers: list[bytes] = field(default_factory=list)

    @property
    def manifest_document(self) -> dict:
        return json.loads(self.manifest)


class Registry:
    """Reads one repository of a registry, anonymously."""

    def __init__(self, reference: ImageReference, timeout: float = 60):
        self.reference = reference
        self.timeout = timeout
        self.session = requests.Session()
        self.token: str | None = None

    def get(self, path: str, accept: tuple[str, ...] = ()) -> requests.Response:
        url = f"{self.reference.base_url}/v2/{self.reference.repository}/{path}"
        headers = {"Accept": ", ".join(accept)} if accept else {}
        response = self.session.get(url, headers=self.authorised(headers), timeout=self.timeout)
        if response.status_code == 401 and self.token is None:
            self.token = self.anonymous_token(response.headers.get("WWW-Authenticate", ""))
            response = self.session.get(url, headers=self.authorised(headers), timeout=self.timeout)
        if response.status_code != 200:
            raise ImageCopyFailed(f"{self.reference.registry} answered {response.status_code} for {path} of {self.reference.repository}.")
        return response

    def authorised(self, headers: dict) -> dict:
        return {**headers, "Authorization": f"Bearer {self.token}"} if self.token else headers

    def anonymous_token(self, challenge: str) -> str:
        """The bearer token the registry's 401 says where to get (the distribution spec's token
        authentication), asked for a pull of this repository."""
        fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        if not challenge.lower().startswith("bearer") or "realm" not in fields:
            raise ImageCopyFailed(f"{self.reference.registry} asks for credentials this copy does not have ({challenge or 'no challenge'}).")
        params = {"scope": f"repository:{self.reference.repository}:pull"}
        if "service" in fields:
            params["service"] = fields["service"]
        answer = self.session.get(fields["realm"], params=params, timeout=self.timeout)
        if answer.status_code != 200:
            raise ImageCopyFailed(f"{fields['realm']} refused an anonymous pull token ({answer.status_code}).")
        body = answer.json()
        return body.get("token") or body["access_token"]

    def blob(self, digest: str) -> bytes:
        data = self.get(f"blobs/{digest}").content
        if digest_of(data) != digest:
            raise ImageCopyFailed(f"The blob {digest} of {self.reference} arrived with another digest: refused.")
        return data

    def image(self) -> Image:
        """The image of the tag for linux/amd64, with its config and layers."""
        response = self.get(f"manifests/{self.reference.tag}", accept=INDEX_TYPES + MANIFEST_TYPES)
        media_type = response.headers.get("Content-Type", "").split(";")[0]
        manifest = response.content
        document = json.loads(manifest)
        media_type = document.get("mediaType", media_type)
        if media_type in INDEX_TYPES:
            chosen = next(
                (m for m in document.get("manifests", []) if all(m.get("platform", {}).get(k) == v for k, v in PLATFORM.items())),
                None,
            )
            if chosen is None:
                raise ImageCopyFailed(f"{self.reference} has no image for {PLATFORM['os']}/{PLATFORM['architecture']}.")
            response = self.get(f"manifests/{chosen['digest']}", accept=MANIFEST_TYPES)
            manifest = response.content
            if digest_of(manifest) != chosen["digest"]:
                raise ImageCopyFailed(f"The manifest {chosen['digest']} of {self.reference} arrived with another digest: refused.")
            document = json.loads(manifest)
            media_type = document.get("mediaType", chosen.get("mediaType", ""))
        if media_type not in MANIFEST_TYPES:
            raise ImageCopyFailed(f"{self.reference} is a {media_type or 'manifest of no known type'}, not an image this copy knows.")
        return Image(
            manifest=manifest,
            media_type=media_type,
            config=self.blob(document["config"]["digest"]),
            layers=[self.blob(layer["digest"]) for layer in document["layers"]],
        )


def page_layer(path: str, content: str) -> tuple[bytes, bytes]:
    """(gzipped layer, its uncompressed tar) holding one file at `path` (and its folder), made the
    same way every time: same content, same digest."""
    data = content.encode()
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as tar:
        folder = tarfile.TarInfo(path.rsplit("/", 1)[0])
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(folder)
        entry = tarfile.TarInfo(path)
        entry.size, entry.mode = len(data), 0o644
        tar.addfile(entry, io.BytesIO(data))
    uncompressed = tar_bytes.getvalue()
    return gzip.compress(uncompressed, mtime=0), uncompressed


def with_page(image: Image, path: str, content: str) -> Image:
    """The image with one more layer holding `content` at `path` (no leading slash)."""
    layer, uncompressed = page_layer(path, content)
    config = json.loads(image.config)
    config.setdefault("rootfs", {"type": "layers", "diff_ids": []})["diff_ids"].append(digest_of(uncompressed))
    if "history" in config:
        config["history"].append({"created_by": f"infra portal: the page at /{path}"})
    config_bytes = json.dumps(config, separators=(",", ":")).encode()
    manifest = image.manifest_document
    manifest["config"] = {**manifest["config"], "digest": digest_of(config_bytes), "size": len(config_bytes)}
    manifest["layers"] = [*manifest["layers"], {"mediaType": LAYER_TYPES[image.media_type], "digest": digest_of(layer), "size": len(layer)}]
    return Image(
        manifest=json.dumps(manifest, separators=(",", ":")).encode(),
        media_type=image.media_type,
        config=config_bytes,
        layers=[*image.layers, layer],
    )


def push(image: Image, ecr, repository: str, tag: str) -> str:
    """Upload the image's blobs that the repository lacks, then the manifest under `tag`; its digest."""
    for blob in [image.config, *image.layers]:
        upload_blob(ecr, repository, blob)
    answer = ecr.put_image(
        repositoryName=repository,
        imageManifest=image.manifest.decode(),
        imageManifestMediaType=image.media_type,
        imageTag=tag,
    )
    return answer["image"]["imageId"]["imageDigest"]


def upload_blob(ecr, repository: str, blob: bytes) -> None:
    digest = digest_of(blob)
    known = ecr.batch_check_layer_availability(repositoryName=repository, layerDigests=[digest]).get("layers", [])
    if any(layer.get("layerAvailability") == "AVAILABLE" for layer in known):
        return
    upload = ecr.initiate_layer_upload(repositoryName=repository)
    part_size = upload["partSize"]
    for first in range(0, len(blob), part_size):
        part = blob[first : first + part_size]
        ecr.upload_layer_part(
            repositoryName=repository,
            uploadId=upload["uploadId"],
            partFirstByte=first,
            partLastByte=first + len(part) - 1,
            layerPartBlob=part,
        )
    try:
        done = ecr.complete_layer_upload(repositoryName=repository, uploadId=upload["uploadId"], layerDigests=[digest])
    except ecr.exceptions.LayerAlreadyExistsException:
        return
    if done["layerDigest"] != digest:
        raise ImageCopyFailed(f"ECR computed {done['layerDigest']} for a blob of {digest}.")


def copy_image(source: str, ecr, repository: str, tag: str, page: tuple[str, str] | None = None) -> str:
    """Copy `source` (registry/repository:tag) into the ECR `repository` under `tag`, with a page
    layer when given; the pushed image's digest."""
    image = Registry(ImageReference.parse(source)).image()
    if page is not None:
        image = with_page(image, *page)
    return push(image, ecr, repository, tag)
