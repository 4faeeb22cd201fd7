"""The REST binding: `/rest/<Noun>` and `/rest/<Noun>/<id>` over the same pipeline as SOAP.

Every call becomes the 61968 RequestMessage a SOAP caller would send (rest_messages.py) and
is processed by `Processor.process` in the reactor's thread pool, so it is checked against the
noun's profile, handled by the same handlers, journaled (the HTTP request line, content type and
body as it arrived) and, for writes, idempotent by its MessageID: the `Idempotency-Key` header.
Bodies and answers are the CIM profile documents, as XML or, by `Accept`/`Content-Type:
application/json`, as JSON by the mapping of profiles/jsonmap.py. Refusals are RFC 9457 problem
documents carrying the 61968 reply code. I1 and I9 (and every interface, where the server
requires signing everywhere) are read-only here: their writes need a signed SOAP request.
See docs/rest.md.
"""
from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode

from lxml import etree

from ..message import Error, MessageError, ResponseMessage, namespaces, parse_bytes, soap
from ..message import envelope as env
from ..profiles import NOUNS, Noun, Service, objects, xsd_dir
from ..profiles.jsonmap import JsonMappingError, from_json, to_json
from ..security import SecurityFault
from ..store import StoreUnavailable
from . import rest_messages as rm
from .guard import Verdict
from .outage import RETRY_AFTER_SECONDS
from .pipeline import InboundCall, Processor
from .rest_openapi import openapi_document
from .tls import PeerCertificate, peer_label

log = logging.getLogger(__name__)

DEFAULT_SOURCE = "REST"
XML_TYPE = "application/xml; charset=utf-8"
JSON_TYPE = "application/json"
MAX_KEY_LENGTH = 200  # an Idempotency-Key becomes the MessageID, which the pipeline bounds the same way
# HTTP method -> the transaction verb it stands for
WRITE_VERBS = {"POST": "create", "PUT": "change", "DELETE": "delete"}


class RestApplication:
    """The WSGI application behind /rest (run in the thread pool by wsgi_host.render_in_pool)."""

    def __init__(self, processor: Processor, guard, max_body_bytes: int, is_ready=lambda: True):
        self.processor = processor
        self.guard = guard
        self.max_body_bytes = max_body_bytes
        self.is_ready = is_ready  # the database watch: while it is away, 503 without a database round trip

    def __call__(self, environ, start_response, base_url: str = "", *, too_large: bool = False,
                 tls_client: PeerCertificate | None = None):
        """too_large: the body outgrew the limit while arriving (site.LimitedRequest decided);
        tls_client: the client certificate the TLS handshake verified. Both read on the reactor."""
        try:
            answer = self.answer(environ, base_url, too_large, tls_client)
        except rm.RestProblem as refusal:
            answer = rm.problem_answer(refusal)
        except StoreUnavailable:
            answer = _outage()
        except Exception:  # a bug must not become a traceback on the wire
            log.exception("REST %s %s failed", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            answer = rm.problem_answer(rm.problem(500, "5.3", "the server failed while answering; see its log"))
        headers = [("Content-Type", answer.content_type), ("Content-Length", str(len(answer.body))), *answer.headers]
        start_response(f"{answer.status} {_REASONS.get(answer.status, 'Status')}", headers)
        return [answer.body]

    # ------------------------------------------------------------ routing

    def answer(self, environ, base_url: str, too_large: bool = False,
               tls_client: PeerCertificate | None = None) -> rm.HttpAnswer:
        method = environ["REQUEST_METHOD"]
        segments = [s for s in environ["PATH_INFO"].split("/")[2:] if s]  # after /rest
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if not segments:
            self._only(method, ("GET", "HEAD"))
            return _json(200, rest_index(base_url, self._signed_only))
        if segments == ["openapi.json"]:
            self._only(method, ("GET", "HEAD"))
            document = openapi_document(base_url, self._signed_only)
            return rm.HttpAnswer(200, JSON_TYPE, json.dumps(document, separators=(",", ":")).encode("utf-8"))
        if len(segments) > 2:
            raise rm.problem(404, "2.5", f"no resource at {environ['PATH_INFO']}; resources are /rest/<Noun> and "
                                         f"/rest/<Noun>/<id>")
        noun = NOUNS.get(segments[0])
        if noun is None:
            raise rm.problem(404, "2.5", f"no noun {segments[0]!r} is served here; /rest/ lists those that are")
        object_id = segments[1] if len(segments) == 2 else None
        self._allowed(method, noun, object_id, base_url)
        if not self.is_ready():
            return _outage()
        call = _Call(self, environ, noun, base_url, too_large, tls_client)
        if method in ("GET", "HEAD"):
            return call.read_one(object_id, query) if object_id else call.read_list(query)
        rm.refuse_unknown_parameters(query, ())
        return call.write(WRITE_VERBS[method], object_id)

    @staticmethod
    def _only(method: str, allowed: tuple[str, ...]) -> None:
        if method not in allowed:
            raise rm.RestProblem(405, Error(code="2.9", level="FATAL", reason=f"{method} is not answered here"),
                                 headers=[("Allow", ", ".join(allowed))])

    def _allowed(self, method: str, noun: Noun, object_id: str | None, base_url: str) -> None:
        allowed = rm.allowed_methods(noun, object_id is not None, self._signed_only(noun))
        if method in allowed:
            return
        headers = [("Allow", ", ".join(allowed))]
        verb = WRITE_VERBS.get(method)
        offered = verb is not None and "Execute" in noun.roles and verb in noun.transactions
        if offered and self._signed_only(noun):
            execute = _service(noun, "Execute")
            extra = {"soapEndpoint": f"{base_url}/soap/{execute.name}", "wsdl": f"{base_url}/wsdl/{execute.name}.wsdl"}
            raise rm.RestProblem(405, Error(code="2.9", level="FATAL", reason=(
                f"{noun.name} ({noun.interface}) is read-only over REST: {WRITE_VERBS[method]} needs a WS-Security "
                f"signed SOAP request to {extra['soapEndpoint']}")), headers=headers, **extra)
        if verb is not None and "Execute" not in noun.roles:
            reason = f"{noun.name} is not written by requests here: it is queried (get) and told of by events"
        elif verb is not None and verb in noun.transactions:  # POST to an object, PUT or DELETE to the collection
            reason = f"{method} {'/rest/<Noun>/<id>' if method == 'POST' else '/rest/<Noun>'} is not answered; " \
                     f"{verb} is {'POST /rest/<Noun>' if verb == 'create' else method + ' /rest/<Noun>/<id>'}"
        elif verb is not None:
            reason = f"{noun.name} offers no {verb} (its transactions: {', '.join(noun.transactions)})"
        else:
            reason = f"{method} is not answered at this resource"
        raise rm.RestProblem(405, Error(code="2.9", level="FATAL", reason=reason), headers=headers)

    def _signed_only(self, noun: Noun) -> bool:
        """Whether the noun's writes must be signed (I1, I9, or every interface by configuration)."""
        execute = _service(noun, "Execute")
        return execute is not None and self.guard.requires_signing(execute, None)


def rest_index(base_url: str, signed_only) -> dict:
    """What /rest/ lists: every noun, its URL and the methods its collection answers."""
    return {"openapi": f"{base_url}/rest/openapi.json",
            "nouns": [{"noun": n.name, "interface": n.interface, "url": f"{base_url}/rest/{n.name}",
                       "methods": list(rm.allowed_methods(n, False, signed_only(n)))}
                      for n in NOUNS.values()]}


def _service(noun: Noun, role: str) -> Service | None:
    return next((s for s in noun.services() if s.role == role), None)


class _Call:
    """One REST call on a noun: builds its 61968 request, runs it through the pipeline, answers."""

    def __init__(self, app: RestApplication, environ, noun: Noun, base_url: str, too_large: bool,
                 tls_client: PeerCertificate | None):
        self.app, self.environ, self.noun, self.base_url = app, environ, noun, base_url
        self.too_large = too_large
        self.json_wanted = _prefers_json(environ.get("HTTP_ACCEPT", ""))
        self.source = (environ.get("HTTP_X_61968_SOURCE") or DEFAULT_SOURCE).strip()[:MAX_KEY_LENGTH]
        self.tls_client = tls_client  # the verified client certificate, over mutual TLS
        self.peer = peer_label(environ.get("REMOTE_ADDR"), self.tls_client)  # journaled as for SOAP

    # ------------------------------------------------------------ reads

    def read_one(self, object_id: str, query: dict[str, list[str]]) -> rm.HttpAnswer:
        rm.refuse_unknown_parameters(query, rm.ONE_PARAMETERS)
        edition = rm.edition_asked(self.noun, query)
        request = rm.get_one(self.noun, object_id, edition, self._header("get", str(uuid.uuid4())))
        response = self._process(request, "Get", b"")
        items = self._items(response)
        if self.noun.series is None:  # a query by mRID also finds the objects referring to it
            items = [item for item in items if _key_of(self.noun, item) == object_id]
        if not items:
            raise rm.problem(404, self.noun.unknown_code, f"no {self.noun.item} {object_id!r} is known")
        return self._documents(200, items, _warnings(response))

    def read_list(self, query: dict[str, list[str]]) -> rm.HttpAnswer:
        criteria = rm.list_criteria(self.noun, query)
        request = rm.get_list(self.noun, criteria, self._header("get", str(uuid.uuid4())))
        response = self._process(request, "Get", b"", unknown_is_empty=True)
        items = self._items(response)
        pages = max(1, -(-len(items) // criteria.page_size))
        if criteria.page > pages:
            raise rm.problem(404, "2.15", f"page {criteria.page} is past the last page ({pages}) of "
                                          f"{len(items)} {self.noun.item} objects", details="at ?page")
        first = (criteria.page - 1) * criteria.page_size
        headers = [("X-Total-Count", str(len(items))), ("Link", self._links(query, criteria.page, pages)),
                   *_warnings(response)]
        return self._documents(200, items[first:first + criteria.page_size], headers)

    def _links(self, query: dict[str, list[str]], page: int, pages: int) -> str:
        def url(number: int) -> str:
            params = [(k, v) for k, values in query.items() if k != "page" for v in values] + [("page", str(number))]
            return f"{self.base_url}/rest/{self.noun.name}?{urlencode(params)}"
        links = [(1, "first"), (pages, "last")]
        if page < pages:
            links.append((page + 1, "next"))
        if page > 1:
            links.append((page - 1, "prev"))
        return ", ".join(f'<{url(number)}>; rel="{rel}"' for number, rel in links)

    def _documents(self, status: int, items: list[etree._Element], headers=()) -> rm.HttpAnswer:
        """The items as one profile document per edition (a 61968 Payload around several)."""
        documents = objects.documents(self.noun, items) or [objects.document_of(self.noun, [])]
        headers = [("Vary", "Accept"), *headers]
        if self.json_wanted:
            converted = [to_json(d, _profile_path(self.noun, etree.QName(d).namespace)) for d in documents]
            body = converted[0] if len(converted) == 1 else {"Payload": converted}
            return rm.HttpAnswer(status, JSON_TYPE, json.dumps(body, indent=2).encode("utf-8"), headers)
        if len(documents) == 1:
            root = documents[0]
        else:
            root = etree.Element(f"{{{namespaces.MSG}}}Payload", nsmap={None: namespaces.MSG})
            root.extend(documents)
        return rm.HttpAnswer(status, XML_TYPE, etree.tostring(root, xml_declaration=True, encoding="UTF-8"), headers)

    # ------------------------------------------------------------ writes

    def write(self, verb: str, object_id: str | None) -> rm.HttpAnswer:
        key = (self.environ.get("HTTP_IDEMPOTENCY_KEY") or "").strip()
        if len(key) > MAX_KEY_LENGTH:
            raise rm.problem(400, "1.8", f"the Idempotency-Key is {len(key)} characters long; at most "
                                         f"{MAX_KEY_LENGTH} are accepted (a UUID has 36)", details="at Idempotency-Key")
        message_id = key or str(uuid.uuid4())
        body = self._body() if verb != "delete" else b""
        raw = self._raw(body)
        if key:
            self._refuse_reused_key(message_id, raw)
        document = self._document(body) if verb != "delete" else None
        if verb == "change":
            document = rm.with_object_id(self.noun, document, object_id)
        request = rm.transaction(self._header(verb, message_id), document, object_id)
        response = self._process(request, "Execute", raw)
        reply = response.reply
        location = None
        if verb == "create" and reply.ids:
            location = f"{self.base_url}/rest/{self.noun.name}/{quote(rm.object_key(reply.ids[0]), safe=':')}"
        status = 201 if verb == "create" else 200
        headers = [("Location", location)] if location else []
        if self.json_wanted or not _prefers_xml(self.environ.get("HTTP_ACCEPT", "")):
            body = rm.reply_json(reply, response.header.message_id, response.header.correlation_id, location)
            return rm.HttpAnswer(status, JSON_TYPE, body, headers)
        return rm.HttpAnswer(status, XML_TYPE, env.to_bytes(response), headers)

    def _body(self) -> bytes:
        if self.too_large:
            raise rm.problem(413, "3.1", f"the body is larger than this server's limit of {self.app.max_body_bytes} "
                                         "bytes; send fewer objects per request")
        return self.environ["wsgi.input"].read()

    def _document(self, body: bytes) -> etree._Element:
        content_type = (self.environ.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()
        limits = self.app.processor.parse_limits
        if content_type in ("application/json",) or content_type.endswith("+json"):
            try:
                data = json.loads(body)
                document = from_json(data, self.noun.name, self.noun.profile_ns, self._profile_for,
                                     limits.max_elements, limits.max_depth)
            except (ValueError, RecursionError) as exc:  # JSONDecodeError and JsonMappingError are ValueErrors
                reason = str(exc) if isinstance(exc, JsonMappingError) else f"the body is not JSON: {exc}"
                raise rm.problem(400, "1.8", reason) from None
            return document
        if content_type in ("application/xml", "text/xml") or content_type.endswith("+xml"):
            try:
                return parse_bytes(body, f"{self.noun.name} document", limits)
            except MessageError as exc:
                raise rm.problem(400, exc.code, exc.reason) from None
        raise rm.problem(415, "1.8", f"content type {content_type or '(none)'!r} is not taken here; send the "
                                     f"{self.noun.name} document as application/xml or application/json")

    def _profile_for(self, namespace: str) -> Path | None:
        edition = self.noun.edition_for(namespace)
        return xsd_dir() / edition.profile_xsd if edition else None

    def _raw(self, body: bytes) -> bytes:
        """What the journal keeps of the request: its line, content type and body, as they arrived."""
        env_ = self.environ
        target = env_["PATH_INFO"] + (f"?{env_['QUERY_STRING']}" if env_.get("QUERY_STRING") else "")
        head = f"{env_['REQUEST_METHOD']} {target} HTTP\r\nContent-Type: {env_.get('CONTENT_TYPE') or ''}\r\n\r\n"
        return head.encode("utf-8") + body

    def _refuse_reused_key(self, message_id: str, raw: bytes) -> None:
        """The same Idempotency-Key for another request is a client's mistake, not a repeat: 422."""
        for entry in self.app.processor.store.journal_by_message_id(message_id):
            if (entry.direction == "in" and entry.source == self.source and entry.outcome in ("processed", "routed")
                    and entry.raw is not None and entry.raw != raw):
                raise rm.problem(422, "1.8", "this Idempotency-Key was used for another request (another method, "
                                             "resource or body); use a new key for a new request",
                                 details="at Idempotency-Key")

    # ------------------------------------------------------------ the pipeline

    def _header(self, verb: str, message_id: str):
        return rm.header(verb, self.noun, message_id, self.source)

    def _process(self, request, role: str, raw: bytes, unknown_is_empty: bool = False) -> ResponseMessage:
        service = _service(self.noun, role)
        operation = next(op for op in service.operations if op.verb == request.header.verb)
        carrier = env.to_element(request, wrapper=f"{{{service.message_ns}}}{operation.name}",
                                 part_ns=service.message_ns)
        self._check_tls_binding(service, request)
        call = InboundCall(raw or self._raw(b""), soap.envelope(carrier), request, service, operation, self.peer,
                           tls_client=self.tls_client)
        outcome = self.app.processor.process(call)
        if outcome.status >= 500:  # a Fault: the pipeline could not answer with a 61968 reply
            raise rm.problem(500, "5.3", "the request could not be processed; see the server log")
        response = env.parse(soap.unwrap(outcome.body, self.app.processor.parse_limits).message, "ResponseMessage")
        reply = response.reply
        if reply.result == "FAILED":
            first = reply.errors[0].code if reply.errors else None
            if unknown_is_empty and first in ("2.4", "2.12", "2.15"):
                return ResponseMessage(response.header, reply, None)
            refusal = rm.reply_problem(reply, request.header.verb)
            raise rm.RestProblem(refusal.status, refusal.error, messageId=response.header.correlation_id,
                                 errors=[rm.error_json(e) for e in reply.errors])
        return response

    def _check_tls_binding(self, service: Service, request) -> None:
        """Over mutual TLS with --bind, the client certificate must be bound to the Source it claims
        (X-61968-Source), as for SOAP; reads of interfaces whose SOAP requests must be signed are
        answered unsigned here, so the guard's signing rule is not applied to them."""
        if self.tls_client is None:
            return
        if request.header.verb == "get" and self.app.guard.requires_signing(service, request):
            return
        try:
            self.app.guard.authorize(service, Verdict(False, None), request, self.tls_client)
        except SecurityFault as fault:
            raise rm.problem(403, "2.14", fault.reason, details="at X-61968-Source",
                             wsSecurityFault=fault.code) from None

    def _items(self, response: ResponseMessage) -> list[etree._Element]:
        documents = response.payload.documents if response.payload is not None else []
        return [item for document in documents for item in objects.items(self.noun, document)]


def _warnings(response: ResponseMessage) -> list[tuple[str, str]]:
    """The reply's WARNINGs (an object answered in its stored edition, not the one asked) as headers:
    the documents carry no reply of their own."""
    return [("X-61968-Warning", f"{e.code} {e.reason or ''}".strip().encode("latin-1", "replace").decode("latin-1"))
            for e in response.reply.errors if e.level == "WARNING"]


def _key_of(noun: Noun, item: etree._Element) -> str | None:
    ref = objects.identify(noun, item)
    return ref.key if ref else None


def _profile_path(noun: Noun, namespace: str) -> Path:
    return xsd_dir() / (noun.edition_for(namespace) or noun.base_edition).profile_xsd


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for part in accept.split(","):
        media, *params = [p.strip() for p in part.split(";")]
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            ranges.append((media.lower(), quality))
    return ranges


def _quality(accept: str, kinds: tuple[str, ...]) -> float:
    return max((q for media, q in _media_ranges(accept) if media in kinds or media.endswith(kinds[-1])), default=0.0)


def _prefers_json(accept: str) -> bool:
    """JSON when Accept ranks application/json (or a +json type) above XML; XML otherwise (the default)."""
    return _quality(accept, ("application/json", "+json")) > _quality(accept, ("application/xml", "text/xml", "+xml"))


def _prefers_xml(accept: str) -> bool:
    return _quality(accept, ("application/xml", "text/xml", "+xml")) > 0


def _json(status: int, body: dict) -> rm.HttpAnswer:
    return rm.HttpAnswer(status, JSON_TYPE, json.dumps(body, indent=2).encode("utf-8"))


def _outage() -> rm.HttpAnswer:
    refusal = rm.problem(503, "5.2", "transaction not attempted: this system's database is not available; send "
                                     f"the request again, with the same Idempotency-Key, after {RETRY_AFTER_SECONDS} "
                                     "seconds (Retry-After)")
    refusal.headers.append(("Retry-After", str(RETRY_AFTER_SECONDS)))
    return rm.problem_answer(refusal)


_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            409: "Conflict", 413: "Payload Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Content",
            500: "Internal Server Error", 503: "Service Unavailable"}


# ---------------------------------------------------------------- Twisted


def rest_resource(reactor, threadpool, processor: Processor, guard, max_body_bytes: int, database=None):
    """The /rest resource: every request answered by a RestApplication in the thread pool."""
    from twisted.web import resource

    from .discovery import base_url
    from .tls import client_certificate
    from .wsgi_host import render_in_pool

    application = RestApplication(processor, guard, max_body_bytes,
                                  database.is_ready if database is not None else (lambda: True))

    class RestResource(resource.Resource):
        isLeaf = True

        def render(self, request):
            # read on the reactor: the Host header, the connection's address and certificate, the body's size
            base = base_url(request)
            too_large = getattr(request, "too_large", False)
            tls_client = client_certificate(request)

            def bound(environ, start_response):
                return application(environ, start_response, base, too_large=too_large, tls_client=tls_client)
            return render_in_pool(reactor, threadpool, bound, request)

    return RestResource()


__all__ = ["RestApplication", "rest_resource", "rest_index"]
