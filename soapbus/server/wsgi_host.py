"""Hosting a WSGI application (the REST binding's) on Twisted: one job of the thread pool each.

twisted.web.wsgi would do, but its response path blocks the worker thread on the reactor
(`blockingCallFromThread`) for the first write and hops again for each later one; an answer
here is one small body, so the whole call runs in the pool and the reactor writes the
collected answer once. (SOAP requests are not WSGI: server/inbound.py.)

The pool never touches the Twisted request: the body (already whole in memory or a temporary
file when the resource renders) is read into bytes on the reactor, and the answer is written
on the reactor. Twisted closes `request.content` when a client hangs up, so a pool thread
still reading it would fail half-way (`ValueError: I/O operation on closed file`); with the
bytes in hand, a request that arrived whole is processed and journaled whole even if its
client is gone, and the answer that cannot be delivered is logged in one line. What the
application needs beside the environ (the too-large flag, the TLS client certificate) it is
given as arguments by its resource, read on the reactor, never through environ keys.
"""
from __future__ import annotations

import io
import logging

from twisted.internet.threads import deferToThreadPool
from twisted.web.server import NOT_DONE_YET

log = logging.getLogger(__name__)


def environ_for(request) -> dict:
    """The WSGI environ of a Twisted request (built on the reactor, read in the pool)."""
    host = request.getHost()
    peer = request.getClientAddress()
    environ = {
        "REQUEST_METHOD": request.method.decode("ascii"),
        "SCRIPT_NAME": "",
        "PATH_INFO": request.path.decode("utf-8", "replace"),
        "QUERY_STRING": request.uri.partition(b"?")[2].decode("utf-8", "replace"),
        "CONTENT_TYPE": (request.getHeader(b"content-type") or b"").decode("latin-1"),
        "CONTENT_LENGTH": (request.getHeader(b"content-length") or b"").decode("latin-1"),
        "SERVER_NAME": getattr(host, "host", "localhost"),
        "SERVER_PORT": str(getattr(host, "port", 0)),
        "SERVER_PROTOCOL": request.clientproto.decode("ascii"),
        "REMOTE_ADDR": getattr(peer, "host", ""),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https" if request.isSecure() else "http",
        "wsgi.input": io.BytesIO(request_body(request)),
        "wsgi.errors": _LogStream(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, values in request.requestHeaders.getAllRawHeaders():
        key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
        if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
            environ[key] = ",".join(v.decode("latin-1") for v in values)
    return environ


def request_body(request) -> bytes:
    """The body Twisted received (all of it, or the first bytes kept of an oversized one)."""
    request.content.seek(0)
    return request.content.read()


def call_application(application, environ: dict) -> tuple[int, list[tuple[str, str]], bytes]:
    """Run a WSGI application to completion (in a worker thread) and collect its answer."""
    started: dict = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, headers
        return lambda data: chunks.append(data)

    chunks: list[bytes] = []
    result = application(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return int(started["status"].split(" ", 1)[0]), started["headers"], b"".join(chunks)


def render_in_pool(reactor, threadpool, application, request):
    """Answer `request` from `application` run in `threadpool`; returns NOT_DONE_YET for render()."""
    environ = environ_for(request)
    finished = []
    request.notifyFinish().addBoth(finished.append)  # the client may go away while we work

    def write(answer):
        status, headers, body = answer
        if finished:
            _log_undelivered(environ, status, body)
            return
        request.setResponseCode(status)
        for name, value in headers:
            if name.lower() != "content-length":
                request.setHeader(name.encode("latin-1"), value.encode("latin-1"))
        request.setHeader(b"content-length", str(len(body)).encode("ascii"))
        request.write(body)
        request.finish()

    def fail(failure):
        log.error("unhandled error answering %s: %s", environ["PATH_INFO"], failure.getTraceback())
        write((500, [("Content-Type", "text/plain; charset=utf-8")],
               b"the server failed while answering; see its log\n"))

    deferToThreadPool(reactor, threadpool, call_application, application, environ).addCallbacks(write, fail)
    return NOT_DONE_YET


def _log_undelivered(environ: dict, status: int, body: bytes) -> None:
    log.warning("client %s went away before its answer to %s %s (HTTP %d, %d bytes); the request had arrived "
                "whole and was handled to the end: the journal holds it and this answer",
                environ["REMOTE_ADDR"] or "?", environ["REQUEST_METHOD"], environ["PATH_INFO"], status, len(body))


class _LogStream:
    def write(self, text):
        log.warning("%s", text.rstrip())

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass
