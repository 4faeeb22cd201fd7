"""What the server says about itself: its base URL, the endpoint listing, and the HTML pages.

Every HTML page is a Jinja2 template under `templates/`, rendered with autoescaping: values
(above all the URLs, which carry the client's Host header) are escaped by the template
engine, never pasted into markup here.

The base URL of the links, WSDL addresses and endpoints.json is built from the request's Host
header only when that header is a well-formed `host[:port]` (RFC 9110 §7.2: a DNS name, an
IPv4 address or a bracketed IPv6 address, and an optional decimal port), and there is exactly
one. Anything else (quotes, angle brackets, spaces, a path, user info, two Host headers) is
not used at all: the URLs name the address the connection arrived on instead.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from twisted.web import resource, static

from ..profiles import INTERFACES, Service, services
from ..profiles import get as get_noun

MAX_HOST_LENGTH = 255
HOST_HEADER = re.compile(r"""
    (?: (?P<name>[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?)   # a DNS name or a dotted IPv4 address
      | \[(?P<ipv6>[0-9A-Fa-f:.]+)\]                        # an IPv6 literal, bracketed
    )
    (?::(?P<port>[0-9]{1,5}))?
    """, re.VERBOSE)


def authority_from_host_header(values: list[bytes] | None) -> str | None:
    """The Host header as `host[:port]` when it is exactly one well-formed one, else None."""
    if not values or len(values) != 1 or len(values[0]) > MAX_HOST_LENGTH:
        return None
    try:
        text = values[0].decode("ascii")
    except UnicodeDecodeError:
        return None
    match = HOST_HEADER.fullmatch(text)
    if match is None:
        return None
    if match["port"] is not None and not 0 < int(match["port"]) < 65536:
        return None
    if match["ipv6"] is not None:
        try:
            ipaddress.IPv6Address(match["ipv6"])
        except ValueError:
            return None
    return text


def listening_authority(request) -> str:
    """The address and port this connection arrived on, as a URL authority."""
    local = request.getHost()
    host = f"[{local.host}]" if ":" in local.host else local.host
    return f"{host}:{local.port}"


def base_url(request) -> str:
    authority = authority_from_host_header(request.requestHeaders.getRawHeaders(b"host"))
    scheme = "https" if request.isSecure() else "http"
    return f"{scheme}://{authority or listening_authority(request)}"


def service_urls(service: Service, base: str) -> dict:
    return {"url": f"{base}/soap/{service.name}", "wsdl": f"{base}/wsdl/{service.name}.wsdl"}


def default_signing(service: Service) -> bool:
    """Whether a service requires signed requests under the default policy (I1 and I9)."""
    return service.signed_by_default


def endpoint_listing(base: str, requires_signing: Callable[[Service], bool] = default_signing) -> list[dict]:
    """Every service: where it is, what it takes, whether it requires signed requests ("signing":
    "required" or "optional"; the generic service names the nouns it requires it for), the profile
    schema of its noun and a ready sample request per verb (/samples/<Noun>/<verb>.xml)."""
    listing = []
    signed_nouns = sorted({s.noun for s in services() if s.noun and requires_signing(s)})
    for svc in services():
        entry = {
            "interface": svc.interface or "generic",
            "interface_name": INTERFACES.get(svc.interface, "any noun, generic Request/Response/PublishEvent"),
            "service": svc.name,
            "role": svc.role,
            "nouns": [svc.noun] if svc.noun else sorted({s.noun for s in services() if s.noun}),
            "operations": [{"name": op.name, "verb": op.verb, "soapAction": op.soap_action} for op in svc.operations],
            "signing": "required" if requires_signing(svc) else "optional",
            **service_urls(svc, base),
        }
        if svc.noun:
            noun = get_noun(svc.noun)
            entry["profiles"] = [f"{base}/xsd/{edition.profile_xsd}" for edition in noun.editions]
            entry["samples"] = [{"verb": op.verb, "url": f"{base}/samples/{svc.noun}/{op.verb}.xml"}
                                for op in svc.operations]
        else:
            entry["signingRequiredFor"] = signed_nouns
        listing.append(entry)
    return listing


@lru_cache(maxsize=1)
def templates() -> Environment:
    return Environment(loader=PackageLoader("soapbus.server", "templates"),
                       autoescape=select_autoescape(enabled_extensions=("html.j2",), default=True),
                       undefined=StrictUndefined)


def render_page(request, template: str, **values) -> bytes:
    request.setHeader(b"content-type", b"text/html; charset=utf-8")
    return templates().get_template(template).render(**values).encode("utf-8")


class DiscoveryPage(resource.Resource):
    isLeaf = True

    def __init__(self, requires_signing: Callable[[Service], bool] = default_signing):
        super().__init__()
        self.requires_signing = requires_signing

    def render_GET(self, request):
        base = base_url(request)
        return render_page(request, "discovery.html.j2", base=base,
                           listing=endpoint_listing(base, self.requires_signing))


class SamplePage(resource.Resource):
    """GET /samples/<Noun>/<verb>.xml: the example request `soapbus sample NOUN VERB` prints."""

    isLeaf = True

    def render_GET(self, request):
        from ..profiles.examples import ExampleError, find_example, message_file_text, request_for

        parts = [p.decode("utf-8", "replace") for p in request.postpath]
        if len(parts) != 2 or not parts[1].endswith(".xml"):
            return NotFound("samples are at /samples/<Noun>/<verb>.xml").render(request)
        try:
            example = find_example(parts[0], parts[1].removesuffix(".xml"))
            text = message_file_text(request_for(example))
        except ExampleError as exc:
            return NotFound(str(exc)).render(request)
        request.setHeader(b"content-type", b"text/xml; charset=utf-8")
        return text.encode("utf-8")


class NotFound(resource.Resource):
    """A 404 page saying what was not found (Twisted's NoResource pastes its text in unescaped)."""

    isLeaf = True

    def __init__(self, detail: str):
        super().__init__()
        self.detail = detail

    def render(self, request):
        request.setResponseCode(404)
        return render_page(request, "not_found.html.j2", detail=self.detail)


class Directory(resource.Resource):
    """A folder of resources whose unknown names are answered with our 404 page."""

    def getChild(self, name, request):
        return NotFound(f"nothing at {request.path.decode('utf-8', 'replace')}")


class SchemaListing(resource.Resource):
    isLeaf = True

    def __init__(self, names: list[str]):
        super().__init__()
        self.names = names

    def render_GET(self, request):
        return render_page(request, "schemas.html.j2", names=self.names)


class SchemaFiles(static.File):
    """The xsd/ folder: the files as Twisted serves them, the folder's listing from our template."""

    childNotFound = NotFound("no schema by that name")

    def directoryListing(self):
        return SchemaListing(sorted(self.listNames()))


__all__ = ["base_url", "service_urls", "endpoint_listing", "DiscoveryPage", "SchemaFiles", "NotFound", "Directory",
           "templates",
           "authority_from_host_header"]
