"""The emulator sends each answer in one piece (portal/emulator.py, serve_each_answer_in_one_send).

Unmended, moto's server (werkzeug's development server) sent an answer's head and its body in two
sends; under bin/portal the AWS provider's client was seen closing its connection between them, and
the SDK sent the call again although the emulator had carried it out (InvalidSubnet.Conflict). Here
the session's emulator (tests/environment.py, mended as bin/portal runs it) answers a plain request,
and the server's writes to that connection are counted.
"""

import os
import socket
import socketserver
import uuid
from urllib.parse import urlsplit

import pytest

from portal.core.aws import client


@pytest.fixture
def large_object():
    """A request for a 200 KB object in the emulator (presigned: the bucket is private), an answer
    larger than the writer's default buffer."""
    s3, bucket = client("s3"), f"serving-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket=bucket, Key="large", Body=b"x" * 200_000)
    url = urlsplit(s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "large"}))
    yield f"GET {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode()
    s3.delete_object(Bucket=bucket, Key="large")
    s3.delete_bucket(Bucket=bucket)


def writes_to_one_connection(monkeypatch, request: bytes) -> tuple[bytes, list[int]]:
    """The answer to `request`, and the sizes of the emulator's writes to that connection in order."""
    writes = []
    # The server writes through one of these: socketserver's unbuffered writer, or a buffered
    # writer over socket.SocketIO.
    for writer in (socketserver._SocketWriter, socket.SocketIO):

        def counting(self, data, original=writer.write):
            writes.append((self._sock.getpeername()[1], len(data)))
            return original(self, data)

        monkeypatch.setattr(writer, "write", counting)

    emulator = urlsplit(os.environ["AWS_ENDPOINT_URL"])  # the session's, started by the tier (tests/environment.py)
    with socket.create_connection((emulator.hostname, emulator.port), timeout=10) as connection:
        connection.sendall(request)
        answer = b"".join(iter(lambda: connection.recv(65536), b""))
        port = connection.getsockname()[1]
    return answer, [size for peer, size in writes if peer == port]


def test_an_answer_leaves_the_emulator_in_one_send(monkeypatch):
    answer, writes = writes_to_one_connection(monkeypatch, b"GET / HTTP/1.1\r\nHost: s3.amazonaws.com\r\n\r\n")

    assert answer.startswith(b"HTTP/1.1 200 ") and b"</ListAllMyBucketsResult>" in answer, answer[:300]
    assert writes == [len(answer)]


def test_a_large_answer_leaves_with_its_head_in_one_write(monkeypatch, large_object):
    answer, writes = writes_to_one_connection(monkeypatch, large_object)

    head = answer[: answer.index(b"\r\n\r\n") + 4]
    assert answer.startswith(b"HTTP/1.1 200 ") and len(answer) == len(head) + 200_000
    # One write hands the kernel everything; a socket may take it in more than one send() call.
    assert writes[0] > len(head) and sum(writes) == len(answer), (len(head), writes)
