"""Deliberately broken endpoints: a real HTTP proxy in front of a real soapbus server that alters answers.

Each mutant is one function that takes (request bytes, upstream answer) and returns what the
proxy sends back, or one that alters the request on its way up. WSDLs pass through with the
upstream's address replaced by the proxy's, so the harness discovers the mutant, not soapbus.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from lxml import etree

from soapbus import message as m
from soapbus.message import namespaces, soap
from soapbus.security import sign_envelope

MSG = namespaces.MSG


def passed_on(body: bytes) -> bytes:
    return body


def answered_as_is(body: bytes, status: int, answer: bytes) -> tuple[int, bytes]:
    return status, answer


class Proxy:
    """One proxy can stand for one mutant after another (`acting`): its URLs, and so the harness's
    parsed WSDLs of them, stay the same, where a proxy of its own per mutant had every WSDL read anew."""

    def __init__(self, upstream: str, on_request=None, on_response=None):
        self.upstream = upstream.rstrip("/")
        self.on_request = on_request or passed_on
        self.on_response = on_response or answered_as_is
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                resp = requests.get(proxy.upstream + self.path, timeout=30)
                data = resp.content.replace(proxy.upstream.encode(), proxy.url.encode())
                self._send(resp.status_code, data, resp.headers.get("Content-Type", "text/xml"))

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sent = proxy.on_request(body)
                resp = requests.post(proxy.upstream + self.path, data=sent, timeout=30, headers={
                    "Content-Type": self.headers.get("Content-Type", "text/xml"),
                    "SOAPAction": self.headers.get("SOAPAction", '""')})
                status, answer = proxy.on_response(body, resp.status_code, resp.content)
                self._send(status, answer, resp.headers.get("Content-Type", "text/xml; charset=utf-8"))

            def _send(self, status, data, content_type):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"

    @contextlib.contextmanager
    def acting(self, on_request=None, on_response=None) -> Iterator["Proxy"]:
        """This proxy as the mutant given, for the block; a plain pass-through again after it."""
        self.on_request, self.on_response = on_request or passed_on, on_response or answered_as_is
        try:
            yield self
        finally:
            self.on_request, self.on_response = passed_on, answered_as_is

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------- helpers on envelopes


def _msg_header(env: etree._Element):
    for el in env.iter(etree.Element):
        if etree.QName(el).localname == "Header" and etree.QName(el).namespace != namespaces.SOAP11_ENV:
            return el
    return None


def _child(header, name):
    for el in header:
        if isinstance(el.tag, str) and etree.QName(el).localname == name:
            return el
    return None


def _edit(answer: bytes, fn) -> bytes:
    try:
        env = etree.fromstring(answer)
    except etree.XMLSyntaxError:
        return answer
    fn(env)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def ok_reply_for(request: bytes, key) -> bytes:
    """A signed OK answer to a request, as a server that accepted it would send."""
    unwrapped = soap.unwrap(request)
    msg = m.parse(unwrapped.message)
    noun = msg.header.noun
    ns = namespaces.noun_message_ns(noun)
    answer = m.reply_to(msg.header, m.ok(), source="mutant")
    env = soap.envelope(m.to_element(answer, wrapper=f"{{{ns}}}{noun}ResponseMessage", part_ns=ns))
    return soap.to_bytes(sign_envelope(env, key))


# ---------------------------------------------------------------- the mutants


def no_correlation_echo(body, status, answer):
    def drop(env):
        header = _msg_header(env)
        if header is not None and _child(header, "CorrelationID") is not None:
            header.remove(_child(header, "CorrelationID"))
    return status, _edit(answer, drop)


def wrong_reply_code(body, status, answer):
    """2.9 (invalid verb) answered as 2.5 (invalid noun)."""
    def recode(env):
        for el in env.iter(f"{{{MSG}}}code"):
            if el.text == "2.9":
                el.text = "2.5"
    return status, _edit(answer, recode)


def invalid_envelope(body, status, answer):
    """Header/Timestamp moved after MessageID: out of the schema's order."""
    def reorder(env):
        header = _msg_header(env)
        if header is None:
            return
        stamp, mid = _child(header, "Timestamp"), _child(header, "MessageID")
        if stamp is not None and mid is not None:
            header.remove(stamp)
            mid.addnext(stamp)
    return status, _edit(answer, reorder)


def unsigned_response(body, status, answer):
    def strip(env):
        head = env.find(f"{{{namespaces.SOAP11_ENV}}}Header")
        if head is not None:
            env.remove(head)
    return status, _edit(answer, strip)


def accepting(key, fault_says: str):
    """Answers OK (signed) where the real server refused with a fault whose text says `fault_says`."""
    def on_response(body, status, answer):
        fault = soap.read_fault(etree.fromstring(answer)) if status == 500 else None
        if fault is not None and fault_says in f"{fault.code} {fault.reason}":
            return 200, ok_reply_for(body, key)
        return status, answer
    return on_response


def refusing_every_request(body, status, answer):
    """Every 61968 request refused as such (FAILED 1.8), whatever it says: one root cause for every check."""
    try:
        msg = m.parse(soap.unwrap(body).message)
    except Exception:  # not a 61968 request (malformed on purpose): the real answer
        return status, answer
    noun = msg.header.noun
    ns = namespaces.noun_message_ns(noun)
    refusal = m.reply_to(msg.header, m.failed("1.8", "refused by the mutant"), source="mutant")
    env = soap.envelope(m.to_element(refusal, wrapper=f"{{{ns}}}{noun}ResponseMessage", part_ns=ns))
    return 200, soap.to_bytes(env)


def synchronous_only(body: bytes) -> bytes:
    """The server never sees AsyncReplyFlag or ReplyAddress: it answers every request in full, at once."""
    try:
        env = etree.fromstring(body)
    except etree.XMLSyntaxError:
        return body
    header = _msg_header(env)
    if header is None:
        return body
    for name in ("AsyncReplyFlag", "ReplyAddress"):
        found = _child(header, name)
        if found is not None:
            header.remove(found)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


class ActsTwice:
    """No idempotency: a repeated MessageID is passed on under a fresh one, so the server acts again;
    the answer's CorrelationID is put back, so that only the acting twice shows."""

    def __init__(self):
        self.seen: set[str] = set()
        self.renamed: dict[str, str] = {}

    def on_request(self, body: bytes) -> bytes:
        try:
            env = etree.fromstring(body)
        except etree.XMLSyntaxError:
            return body
        header = _msg_header(env)
        mid = _child(header, "MessageID") if header is not None else None
        if mid is None or not mid.text:
            return body
        if mid.text in self.seen:
            fresh = m.new_message_id()
            self.renamed[fresh] = mid.text
            mid.text = fresh
            return etree.tostring(env, xml_declaration=True, encoding="utf-8")
        self.seen.add(mid.text)
        return body

    def on_response(self, body, status, answer):
        def restore(env):
            header = _msg_header(env)
            corr = _child(header, "CorrelationID") if header is not None else None
            if corr is not None and corr.text in self.renamed:
                corr.text = self.renamed[corr.text]
        return status, _edit(answer, restore)


class EventSink:
    """Subscribed in the listener's place: takes every event and passes none on (the missing event)."""

    def __init__(self):
        self.count = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.count += 1
                msg = m.parse(soap.unwrap(body).message)
                data = soap.to_bytes(soap.envelope(m.to_element(m.reply_to(msg.header, m.ok()))))
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/sink"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
