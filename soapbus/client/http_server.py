"""A small threaded HTTP server in the background, for what must receive messages in-process.

The SDK's callback listener and the conformance harness's listener and mock endpoint all need
the same thing: POSTs (and for the mock, GETs of WSDLs) answered by a function, on a thread
of their own, started and stopped by the caller. This is that, once.
"""
from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

XML = "text/xml; charset=utf-8"

# (path, body, headers) -> (status, answer); answers are SOAP, so XML
PostHandler = Callable[[str, bytes, dict], tuple[int, bytes]]
# (path, query) -> (status, body, content type)
GetHandler = Callable[[str, str], tuple[int, bytes, str]]


class BackgroundHTTPServer:
    def __init__(self, host: str, port: int, on_post: PostHandler, on_get: GetHandler | None = None,
                 name: str = "soapbus-http"):
        self._server = ThreadingHTTPServer((host, port), _handler_class(on_post, on_get, name))  # OSError: caller's
        self._server.daemon_threads = True
        self._name = name

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return host, port

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, name=self._name, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler_class(on_post: PostHandler, on_get: GetHandler | None, name: str):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, answer = on_post(self.path, body, dict(self.headers))
            self._send(status, answer, XML)

        def do_GET(self):  # noqa: N802
            if on_get is None:
                self._send(405, b"POST a SOAP message here\n", "text/plain")
                return
            parts = urlsplit(self.path)
            self._send(*on_get(parts.path, parts.query))

        def _send(self, status: int, data: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *args):
            log.debug("%s %s", name, fmt % args)

    return Handler
