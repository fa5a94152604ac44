"""The emulator sends each answer in one piece (portal/emulator.py, serve_each_answer_in_one_send).

Unmended, moto's server (werkzeug's development server) sent an answer's head and its body in two
sends; under bin/portal the AWS provider's client was seen closing its connection between them, and
the SDK sent the call again although the emulator had carried it out (InvalidSubnet.Conflict). Here
the session's emulator (tests/environment.py, mended as bin/portal runs it) answers a plain request,
and the server's writes to that connection are counted.
"""

import socket
import socketserver

from tests.environment import _emulator


def test_an_answer_leaves_the_emulator_in_one_send(monkeypatch):
    writes = []
    # The server writes through one of these: socketserver's unbuffered writer, or a buffered
    # writer over socket.SocketIO.
    for writer in (socketserver._SocketWriter, socket.SocketIO):
        def counting(self, data, original=writer.write):
            writes.append((self._sock.getpeername()[1], len(data)))
            return original(self, data)

        monkeypatch.setattr(writer, "write", counting)

    with socket.create_connection(_emulator.get_host_and_port(), timeout=10) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\nHost: s3.amazonaws.com\r\n\r\n")  # S3 ListBuckets
        answer = b"".join(iter(lambda: connection.recv(65536), b""))
        port = connection.getsockname()[1]

    assert answer.startswith(b"HTTP/1.1 200 ") and b"</ListAllMyBucketsResult>" in answer, answer[:300]
    assert [size for peer, size in writes if peer == port] == [len(answer)]
