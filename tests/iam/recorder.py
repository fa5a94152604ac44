"""Every request the tests' emulator serves, kept for the IAM evaluation (tests/iam/evaluation.py).

The recorder wraps moto's WSGI application: it keeps what AWS would authorize a request on (the
access key that signed it, the service, the raw request to parse later, the response, whether it
came over TLS) and, before the request reaches moto, the tags of the EC2 resources it names, because
AWS evaluates `aws:ResourceTag/*` on the tags a resource carries before the call. Parsing into
operations and parameters happens at evaluation time (moto's own botocore-model parsers), so the
recording costs a few dictionary writes per request.
"""

import io
import itertools
import re
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")
# EC2 ids a request may name (vpc-0abc..., sg-..., lt-...): their tags are read before the call.
EC2_ID = re.compile(rb"\b(?:vpc|subnet|sg|sgr|rtb|rtbassoc|igw|nat|eipalloc|acl|lt|i|fl|eni|vol|ami)-[0-9a-f]{8,17}\b")


@dataclass
class Recorded:
    seq: int
    key_id: str | None
    region: str | None
    signing_name: str | None
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    secure: bool
    status: int = 0
    response: bytes = b""
    ec2_tags_before: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def query_params(self) -> dict[str, list[str]]:
        return parse_qs(self.query, keep_blank_values=True)


class Recorder:
    """Thread-safe: the emulator serves terraform's parallel requests on threads of its own."""

    def __init__(self) -> None:
        self.calls: list[Recorded] = []
        self._lock = threading.Lock()
        self._seq = itertools.count()

    def mark(self) -> int:
        """A position in the recording: calls after it are `since(mark)`."""
        with self._lock:
            return len(self.calls)

    def since(self, mark: int, until: int | None = None) -> list[Recorded]:
        with self._lock:
            return list(self.calls[mark:until])

    def wrap(self, app):
        def recording_app(environ, start_response):
            headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
            if environ.get("CONTENT_TYPE"):
                headers["content-type"] = environ["CONTENT_TYPE"]
            query = environ.get("QUERY_STRING", "")
            match = CREDENTIAL.search(headers.get("authorization", ""))
            if match is None:  # a presigned URL carries its credential in the query
                credential = parse_qs(query).get("X-Amz-Credential", [""])[0]
                match = CREDENTIAL.search(f"Credential={credential}")
            key_id, _, region, signing_name = match.groups() if match else (None, None, None, None)
            body = b""
            # S3 bodies (state files, chunked uploads) are not needed to authorize the call.
            if signing_name != "s3" and environ.get("CONTENT_LENGTH"):
                body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
                environ["wsgi.input"] = io.BytesIO(body)
            call = Recorded(
                seq=next(self._seq),
                key_id=key_id,
                region=region,
                signing_name=signing_name,
                method=environ["REQUEST_METHOD"],
                path=environ.get("PATH_INFO", ""),
                query=query,
                # The session token is a credential: the access key id is all the evaluation needs.
                headers={k: v for k, v in headers.items() if k not in ("authorization", "x-amz-security-token")},
                body=body,
                # The emulator speaks plain HTTP; AWS's endpoints only TLS.
                secure=environ.get("wsgi.url_scheme") == "https",
                ec2_tags_before=ec2_tags(region, body + query.encode()) if signing_name == "ec2" else {},
            )
            status = {}

            def capture(status_line, response_headers, exc_info=None):
                status["code"] = int(status_line.split(" ", 1)[0])
                return start_response(status_line, response_headers, exc_info)

            result = app(environ, capture)
            try:
                chunks = list(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
            call.status = status.get("code", 0)
            # S3 answers with state files: only an error's body is kept (its code), so that a whole
            # test session's recording stays small.
            body = b"".join(chunks)
            call.response = body[:2048] if signing_name == "s3" and call.status >= 300 else (b"" if signing_name == "s3" else body)
            if key_id is not None and not call.path.startswith("/moto-api"):
                with self._lock:
                    self.calls.append(call)
            return chunks

        return recording_app


def ec2_tags(region: str | None, text: bytes) -> dict[str, dict[str, str]]:
    """The tags moto holds for each EC2 id the request names, as they are before the request."""
    ids = {m.decode() for m in EC2_ID.findall(text)}
    if not ids or region is None:
        return {}
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[DEFAULT_ACCOUNT_ID][region]
    return {resource_id: dict(backend.tags.get(resource_id, {})) for resource_id in ids}


class RecordingMotoServer(ThreadedMotoServer):
    """moto's ThreadedMotoServer, its application wrapped by a Recorder."""

    def __init__(self, recorder: Recorder, **kwargs) -> None:
        super().__init__(**kwargs)
        self.recorder = recorder

    def _server_entry(self) -> None:
        # As ThreadedMotoServer._server_entry, with the application wrapped.
        app = self.recorder.wrap(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()
