"""The Twisted web site: SOAP endpoints, WSDLs, schemas and the discovery page.

GETs (pages, WSDLs, XSDs) are answered on the reactor from memory; a SOAP POST is one job of
the thread pool, where the database work happens (server/inbound.py), so nothing blocks the reactor.
"""
from __future__ import annotations

import json
from functools import lru_cache

from twisted.web import resource, server

from ..profiles import Service, services
from ..profiles import wsdl as wsdl_builder
from ..profiles import xsd_dir
from .admin import admin_resource
from .discovery import (Directory, DiscoveryPage, NotFound, SamplePage, SchemaFiles, base_url, default_signing,
                        endpoint_listing, service_urls)
from .inbound import SoapEndpoint, SoapResource

JOURNAL_SAMPLE = 64 * 1024  # bytes of an oversized body kept for the journal
FORM_PATHS = b"/console"  # the only pages that take HTML form posts (server/console.py)


class LimitedRequest(server.Request):
    """A request that stops storing its body once it passes the site's limit.

    Twisted would otherwise buffer any body whole before the endpoint sees it; past the limit
    only the first bytes are kept (for the journal) and the endpoint answers with a fault.
    """

    max_body_bytes = 8 * 1024 * 1024
    too_large = False  # the body is, or was announced, larger than max_body_bytes: the one place that decides

    def gotLength(self, length):
        self._received = 0
        self.too_large = length is not None and length > self.max_body_bytes
        super().gotLength(None if self.too_large else length)

    def handleContentChunk(self, data):
        self._received += len(data)
        if self._received > self.max_body_bytes:
            self.too_large = True
        if not self.too_large or self.content.tell() < JOURNAL_SAMPLE:
            super().handleContentChunk(data)

    def requestReceived(self, command, path, version):
        # Twisted reads the Content-Type of every POST through the email package to see whether
        # the body is a form (a fifth of the reactor's time per SOAP request): only the console's are.
        self._parsePOSTFormSubmission = path.startswith(FORM_PATHS)
        label = getattr(getattr(self.channel, "site", None), "worker_label", None)
        if label is not None:
            self.setHeader(b"x-soapbus-worker", label)
        super().requestReceived(command, path, version)


class QuietSite(server.Site):
    """No access log: Twisted's goes to its global log, which nothing here reads, at a cost per
    request; every SOAP and REST message is in the journal with its peer instead."""

    # Under `serve --workers N`: this worker's number (1..N), sent as X-Soapbus-Worker on every
    # answer, so that an operator (and the tests) can see how connections are spread.
    worker_label: bytes | None = None

    def log(self, request):
        pass


@lru_cache(maxsize=256)
def _wsdl_bytes(service_name: str, address: str) -> bytes:
    service = next(s for s in services() if s.name == service_name)
    return wsdl_builder.build_wsdl(service, address)


class WsdlDirectory(Directory):
    def getChild(self, name, request):
        stem = name.decode("utf-8", "replace").removesuffix(".wsdl")
        service = next((s for s in services() if s.name == stem), None)
        if service is None:
            return NotFound(f"no WSDL named {name.decode('utf-8', 'replace')}")
        return _WsdlPage(service)


class _WsdlPage(resource.Resource):
    isLeaf = True

    def __init__(self, service: Service):
        super().__init__()
        self.service = service

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/xml; charset=utf-8")
        return _wsdl_bytes(self.service.name, service_urls(self.service, base_url(request))["url"])


class EndpointsJson(resource.Resource):
    isLeaf = True

    def __init__(self, requires_signing=default_signing):
        super().__init__()
        self.requires_signing = requires_signing

    def render_GET(self, request):
        request.setHeader(b"content-type", b"application/json")
        return json.dumps(endpoint_listing(base_url(request), self.requires_signing), indent=2).encode("utf-8")


def build_site(reactor, threadpool, processor, max_body_bytes: int, guard, database=None, *,
               metrics=None, console=None) -> server.Site:
    """database: the server's DatabaseWatch (server.health): /health, and the 5.2 gate in front of
    every SOAP endpoint while the database is away (server.outage). metrics: server.metrics.Metrics
    for /metrics; console: server.console.ConsoleSettings for /console/."""
    from . import spyne_app
    from .health import health_resource
    from .rest import rest_resource

    root = Directory()
    signing = lambda service: guard.requires_signing(service, None)  # noqa: E731 - this server's policy
    root.putChild(b"", DiscoveryPage(signing))
    root.putChild(b"index.html", DiscoveryPage(signing))
    root.putChild(b"endpoints.json", EndpointsJson(signing))
    root.putChild(b"samples", SamplePage())
    root.putChild(b"wsdl", WsdlDirectory())
    schemas = SchemaFiles(str(xsd_dir()), defaultType="text/xml")
    schemas.contentTypes = {".xsd": "text/xml"}
    root.putChild(b"xsd", schemas)
    root.putChild(b"admin", admin_resource(reactor, threadpool, processor.store))
    root.putChild(b"rest", rest_resource(reactor, threadpool, processor, guard, max_body_bytes, database))
    if database is not None:
        root.putChild(b"health", health_resource(database))
    if metrics is not None:
        root.putChild(b"metrics", metrics.resource(reactor, threadpool, processor.store))
    if console is not None:
        from .console import ConsoleResource

        root.putChild(b"console", ConsoleResource(reactor, threadpool, processor.store, console))
    soap_dir = Directory()
    root.putChild(b"soap", soap_dir)
    is_ready = database.is_ready if database is not None else (lambda: True)
    for svc in services():
        endpoint = SoapEndpoint(svc, spyne_app.build(svc, processor), processor, guard, max_body_bytes, is_ready)
        soap_dir.putChild(svc.name.encode("ascii"), SoapResource(reactor, threadpool, svc, endpoint, _wsdl_bytes))
    site = QuietSite(root)

    class _Request(LimitedRequest):
        pass

    _Request.max_body_bytes = max_body_bytes
    site.requestFactory = _Request
    return site


__all__ = ["build_site", "endpoint_listing", "LimitedRequest"]
