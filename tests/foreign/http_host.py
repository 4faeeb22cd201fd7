"""A threaded HTTP server on loopback for the hand-written endpoints: GET serves documents, POST goes to SOAP."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

# (path, SOAPAction without quotes, body) -> (HTTP status, SOAP envelope bytes)
SoapHandler = Callable[[str, str, bytes], "tuple[int, bytes]"]


class SoapHost:
    def __init__(self, handle: SoapHandler):
        self.documents: dict[str, tuple[str, bytes]] = {}  # path with query -> (content type, bytes)
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The head and the body are two writes: with Nagle's algorithm on a kept-alive connection
            # the body waits for the client's delayed ACK of the head (about 40 ms a request on loopback).
            disable_nagle_algorithm = True

            def do_GET(self):  # noqa: N802
                found = host.documents.get(self.path)
                if found is None:
                    self._send(404, "text/plain; charset=utf-8", f"nothing at {self.path}\n".encode())
                else:
                    self._send(200, *found)

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                action = (self.headers.get("SOAPAction") or "").strip().strip('"')
                status, answer = handle(self.path, action, body)
                self._send(status, "text/xml; charset=utf-8", answer)

            def _send(self, status: int, content_type: str, data: bytes):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # the test output is not the place for an access log
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def publish(self, path: str, data: bytes | str, content_type: str = "text/xml; charset=utf-8") -> str:
        """Serve `data` at `path` (query included, e.g. '/svc?wsdl'); returns its URL."""
        self.documents[path] = (content_type, data.encode("utf-8") if isinstance(data, str) else data)
        return self.base + path

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
