"""An HTTPS proxy for tests: every ``CONNECT host:443`` is tunnelled to the fake, whatever the host.

So a client that honours ``HTTPS_PROXY`` reaches "management.azure.com" or "<account>.blob.core.windows.net" and
finds the fake there, presenting a certificate for that name signed by the test CA (tests/fakearm/ca.py). A client
that ignores the proxy variables fails to resolve or reach those names, which is the point of the test.
"""

from __future__ import annotations

import select
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Tunnel(socketserver.BaseRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, target, _ = [*request_line.split(" "), "", ""][:3]
        if method.upper() != "CONNECT":
            self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        self.server.targets.append(target)
        upstream = socket.create_connection(("127.0.0.1", self.server.upstream_port))
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        _pipe(self.request, upstream)


def _pipe(a: socket.socket, b: socket.socket) -> None:
    try:
        while True:
            readable, _, _ = select.select([a, b], [], [], 30)
            if not readable:
                return
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (b if sock is a else a).sendall(data)
    except OSError:
        return
    finally:
        b.close()


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.targets: list[str] = []
        super().__init__(("127.0.0.1", 0), _Tunnel)


@contextmanager
def tunnel_proxy(upstream_port: int) -> Iterator[_ProxyServer]:
    """A running proxy; ``.server_address[1]`` is its port, ``.targets`` the ``host:port`` of each CONNECT."""
    server = _ProxyServer(upstream_port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
