"""A container registry on loopback that answers the way public.ecr.aws does, for the image copy
(portal/journey/images.py) where this machine reaches no public registry: the OCI distribution API
behind an anonymous bearer token (a 401 naming the realm first), a tag that is an index of two
platforms, and blobs redirected to storage on another host name, which refuses a request carrying
the registry's Authorization header (as a signed S3 URL does).

The image is synthetic and small: one layer with one file, its config and manifest, in OCI form."""

import gzip
import hashlib
import io
import json
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "anonymous-pull-token"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tiny_layer() -> tuple[bytes, bytes]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        data = b"a base image\n"
        entry = tarfile.TarInfo("etc/base-image")
        entry.size = len(data)
        tar.addfile(entry, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0), raw.getvalue()


class FakeRegistry:
    def __init__(self, repository: str = "library/tiny", tag: str = "stable"):
        self.repository, self.tag = repository, tag
        layer, uncompressed = tiny_layer()
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"ExposedPorts": {"80/tcp": {}}},
                "rootfs": {"type": "layers", "diff_ids": [digest_of(uncompressed)]},
                "history": [{"created_by": "a base image"}],
            }
        ).encode()
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest_of(config), "size": len(config)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest_of(layer), "size": len(layer)}],
            }
        ).encode()
        index = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": [
                    # Listed first, and absent: a copy that took it would fail.
                    {
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "digest": "sha256:" + "0" * 64,
                        "size": 1,
                        "platform": {"os": "linux", "architecture": "arm64"},
                    },
                    {
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "digest": digest_of(manifest),
                        "size": len(manifest),
                        "platform": {"os": "linux", "architecture": "amd64"},
                    },
                ],
            }
        ).encode()
        self.blobs = {digest_of(config): config, digest_of(layer): layer}
        self.manifests = {tag: index, digest_of(manifest): manifest}
        self.layer, self.manifest, self.config = layer, manifest, config
        self.corrupt: set[str] = set()  # digests served with other bytes
        self.requests: list[tuple[str, str | None]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def reference(self) -> str:
        return f"127.0.0.1:{self.port}/{self.repository}:{self.tag}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handler(self):
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def send(self, status: int, body: bytes = b"", headers: dict | None = None):
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                registry.requests.append((self.path, self.headers.get("Authorization")))
                path, _, query = self.path.partition("?")
                if path == "/token":
                    wanted = f"scope=repository%3A{registry.repository.replace('/', '%2F')}%3Apull"
                    ok = wanted in query and "service=fake-registry" in query
                    return self.send(200 if ok else 400, json.dumps({"token": TOKEN}).encode() if ok else b"")
                if path.startswith("/storage/"):
                    # A signed storage URL: a second way of authenticating is refused.
                    if self.headers.get("Authorization"):
                        return self.send(400, b"Only one auth mechanism allowed")
                    digest = path.removeprefix("/storage/")
                    body = registry.blobs[digest]
                    return self.send(200, b"corrupted" + body if digest in registry.corrupt else body)
                prefix = f"/v2/{registry.repository}/"
                if not path.startswith(prefix):
                    return self.send(404)
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    challenge = f'Bearer realm="http://127.0.0.1:{registry.port}/token",service="fake-registry",scope="aws"'
                    return self.send(401, b"", {"WWW-Authenticate": challenge})
                kind, _, reference = path.removeprefix(prefix).partition("/")
                if kind == "manifests" and reference in registry.manifests:
                    body = registry.manifests[reference]
                    return self.send(200, body, {"Content-Type": json.loads(body)["mediaType"]})
                if kind == "blobs" and reference in registry.blobs:
                    # Another host name for the storage, so that the client must drop the token.
                    return self.send(307, b"", {"Location": f"http://localhost:{registry.port}/storage/{reference}"})
                return self.send(404)

        return Handler
