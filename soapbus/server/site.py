"""The Twisted web site: SOAP endpoints, WSDLs, schemas and the discovery page.

GETs (pages, WSDLs, XSDs) are answered on the reactor from memory; POSTs go to the WSGI
thread pool, where the database work happens, so nothing blocks the reactor.
"""
from __future__ import annotations

import html
import json
from functools import lru_cache

from twisted.web import resource, server, static

from ..profiles import INTERFACES, Service, services
from ..profiles import wsdl as wsdl_builder
from ..profiles import xsd_dir
from .admin import admin_resource
from .wsgi import SoapEndpoint
from .wsgi_host import TOO_LARGE_KEY, render_in_pool

JOURNAL_SAMPLE = 64 * 1024  # bytes of an oversized body kept for the journal


class LimitedRequest(server.Request):
    """A request that stops storing its body once it passes the site's limit.

    Twisted would otherwise buffer any body whole before the endpoint sees it; past the limit
    only the first bytes are kept (for the journal) and the endpoint answers with a fault.
    """

    max_body_bytes = 8 * 1024 * 1024

    def gotLength(self, length):
        self._received = 0
        self._too_large = length is not None and length > self.max_body_bytes
        super().gotLength(None if self._too_large else length)

    def handleContentChunk(self, data):
        self._received += len(data)
        if self._received > self.max_body_bytes:
            self._too_large = True
        if not self._too_large or self.content.tell() < JOURNAL_SAMPLE:
            super().handleContentChunk(data)


def base_url(request) -> str:
    host = request.getHeader(b"host")
    host = host.decode("ascii", "replace") if host else f"{request.getHost().host}:{request.getHost().port}"
    scheme = "https" if request.isSecure() else "http"
    return f"{scheme}://{host}"


@lru_cache(maxsize=256)
def _wsdl_bytes(service_name: str, address: str) -> bytes:
    service = next(s for s in services() if s.name == service_name)
    return wsdl_builder.build_wsdl(service, address)


def service_urls(service: Service, base: str) -> dict:
    return {"url": f"{base}/soap/{service.name}", "wsdl": f"{base}/wsdl/{service.name}.wsdl"}


def endpoint_listing(base: str) -> list[dict]:
    listing = []
    for svc in services():
        listing.append({
            "interface": svc.interface or "generic",
            "interface_name": INTERFACES.get(svc.interface, "any noun, generic Request/Response/PublishEvent"),
            "service": svc.name,
            "role": svc.role,
            "nouns": [svc.noun] if svc.noun else sorted({s.noun for s in services() if s.noun}),
            "operations": [{"name": op.name, "verb": op.verb, "soapAction": op.soap_action} for op in svc.operations],
            **service_urls(svc, base),
        })
    return listing


class SoapResource(resource.Resource):
    """POST: the SOAP endpoint (run in the thread pool). GET ?wsdl: the WSDL, like most SOAP stacks."""

    isLeaf = True

    def __init__(self, reactor, threadpool, service: Service, endpoint: SoapEndpoint):
        super().__init__()
        self.reactor = reactor
        self.threadpool = threadpool
        self.service = service
        self.endpoint = endpoint

    def render_POST(self, request):
        return render_in_pool(self.reactor, self.threadpool, self.endpoint, request,
                              too_large=getattr(request, "_too_large", False))

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/xml; charset=utf-8")
        return _wsdl_bytes(self.service.name, service_urls(self.service, base_url(request))["url"])

    render_HEAD = render_GET

    def render(self, request):
        if request.method in (b"POST", b"GET", b"HEAD"):
            return super().render(request)
        request.setResponseCode(405)
        request.setHeader(b"allow", b"GET, HEAD, POST")
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"POST a SOAP 1.1 message here, or GET ?wsdl\n"


class WsdlDirectory(resource.Resource):
    def getChild(self, name, request):
        stem = name.decode("utf-8", "replace").removesuffix(".wsdl")
        service = next((s for s in services() if s.name == stem), None)
        if service is None:
            return resource.NoResource(f"no WSDL named {name.decode('utf-8', 'replace')}")
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

    def render_GET(self, request):
        request.setHeader(b"content-type", b"application/json")
        return json.dumps(endpoint_listing(base_url(request)), indent=2).encode("utf-8")


class DiscoveryPage(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        base = base_url(request)
        rows = []
        for entry in endpoint_listing(base):
            e = {k: html.escape(str(v)) for k, v in entry.items()}
            ops = html.escape(", ".join(op["name"] for op in entry["operations"]))
            rows.append(f"<tr><td>{e['interface']}</td><td>{e['service']}</td><td>{html.escape(', '.join(entry['nouns']))}"
                        f"</td><td>{ops}</td><td><a href='{e['url']}'>{e['url']}</a></td>"
                        f"<td><a href='{e['wsdl']}'>WSDL</a></td></tr>")
        page = f"""<!doctype html><html><head><meta charset="utf-8"><title>soapbus endpoints</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}}</style>
</head><body><h1>soapbus: IEC 61968-100 endpoints</h1>
<p>SOAP 1.1, document/literal. Programs: <a href="{base}/endpoints.json">{base}/endpoints.json</a>.
Schemas under <a href="{base}/xsd/">{base}/xsd/</a>.</p>
<table><tr><th>interface</th><th>service</th><th>nouns</th><th>operations</th><th>endpoint</th><th>WSDL</th></tr>
{''.join(rows)}</table></body></html>"""
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return page.encode("utf-8")


def build_site(reactor, threadpool, processor, max_body_bytes: int, guard) -> server.Site:
    from . import spyne_app

    root = resource.Resource()
    root.putChild(b"", DiscoveryPage())
    root.putChild(b"index.html", DiscoveryPage())
    root.putChild(b"endpoints.json", EndpointsJson())
    root.putChild(b"wsdl", WsdlDirectory())
    schemas = static.File(str(xsd_dir()), defaultType="text/xml")
    schemas.contentTypes = {".xsd": "text/xml"}
    root.putChild(b"xsd", schemas)
    root.putChild(b"admin", admin_resource(reactor, threadpool, processor.store))
    soap_dir = resource.Resource()
    root.putChild(b"soap", soap_dir)
    for svc in services():
        endpoint = SoapEndpoint(svc, spyne_app.build(svc, processor), processor, max_body_bytes, guard)
        soap_dir.putChild(svc.name.encode("ascii"), SoapResource(reactor, threadpool, svc, endpoint))
    site = server.Site(root)

    class _Request(LimitedRequest):
        pass

    _Request.max_body_bytes = max_body_bytes
    site.requestFactory = _Request
    return site


__all__ = ["build_site", "endpoint_listing", "LimitedRequest", "TOO_LARGE_KEY"]
