"""Testing a client: the harness hosts a mock endpoint built from a client suite.

The mock serves the WSDLs and schemas of every typed service and the generic one (addresses
rewritten to itself), answers each request with the suite's canned answer for its verb and
noun, keeps every request as evidence, and judges what the vendor's client sent: envelope
validity, a fresh UUID MessageID, a Timestamp with a zone, signatures where --trust is given,
and that every request the suite asks for arrived.
"""
from __future__ import annotations

import fnmatch
import re
import threading
import time
from datetime import datetime, timezone
from urllib.parse import urlsplit


from .. import message as m
from ..client.http_server import BackgroundHTTPServer
from ..message import codes, namespaces, soap
from ..profiles import wsdl_dir, xsd_dir
from ..security import sign_envelope
from .checks import KINDS
from .errors import ConformanceError, TemplateError
from .exchange import Exchange
from .keys import KeyMaterial
from .messages import xml_from
from .model import BLOCKED, ERROR, CheckResult, Outcome, RunResult, Suite
from .templating import Scope, render

_SERVICE = re.compile(r"^/soap/([A-Za-z0-9_]+)$")
_FILE = re.compile(r"^/(wsdl|xsd)/([A-Za-z0-9_.-]+\.(?:wsdl|xsd))$")


class _Ctx:
    """What the check kinds read from a run context."""

    def __init__(self, keys: KeyMaterial):
        self.keys = keys
        self.message_ids: dict = {}

    def exchange_of(self, step_id):
        return None


class MockEndpoint:
    def __init__(self, suite: Suite, host: str = "127.0.0.1", port: int = 0, keys: KeyMaterial | None = None,
                 variables: dict | None = None, signing_key=None):
        if suite.role != "client":
            raise ConformanceError(f"suite {suite.name} tests a server; serve-mock takes a suite with role client")
        self.suite = suite
        self.keys = keys or KeyMaterial()
        self.signing_key = signing_key
        self.received: list[Exchange] = []
        self._cond = threading.Condition()
        scope = Scope({"source": "soapbus-conformance-mock"}, {"uuid": m.new_message_id,
                                                              "now": lambda offset=0: m.format_time(m.now())})
        for name, raw in suite.vars.items():
            scope.values[name] = (variables or {}).get(name, render(raw, scope))
        self.scope = scope
        try:
            self._http = BackgroundHTTPServer(host, port, self._post, self._get, name="conformance-mock")
        except OSError as exc:
            raise ConformanceError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self.started = datetime.now(timezone.utc)

    @property
    def url(self) -> str:
        host, port = self._http.address
        return f"http://{host}:{port}"

    def service_urls(self) -> list[str]:
        return [f"{self.url}/soap/{p.stem}" for p in sorted(wsdl_dir().glob("*.wsdl"))]

    def start(self) -> "MockEndpoint":
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------ waiting and judging

    def wait(self, timeout: float | None = None) -> None:
        """Until every request the suite asks for has arrived, or timeout seconds (the suite's by default)."""
        wanted = [w.lower() for w in self.suite.mock.get("requests", [])]
        deadline = time.monotonic() + (timeout if timeout is not None else self.suite.mock.get("timeout", 60))
        with self._cond:
            while time.monotonic() < deadline:
                seen = {f"{ex.header.verb} {ex.header.noun}".lower() for ex in self.received if ex.header is not None}
                if wanted and all(w in seen for w in wanted):
                    return
                self._cond.wait(min(0.2, max(0.0, deadline - time.monotonic())))

    def result(self) -> RunResult:
        results = {cid: CheckResult(spec, self.suite.name) for cid, spec in self.suite.checks.items()}
        ctx = _Ctx(self.keys)
        with self._cond:
            received = list(self.received)
        per_item = [a for a in self.suite.mock.get("expect", []) if not KINDS[a.kind].collective]
        collective = [a for a in self.suite.mock.get("expect", []) if KINDS[a.kind].collective]
        # Requests are judged in arrival order, each MessageID remembered after its own judgement,
        # so that a client reusing one is caught on the second request.
        for ex in received:
            for assertion in per_item:
                self._judge(assertion, ex, ctx, results)
            if ex.header is not None and ex.header.message_id:
                ctx.message_ids.setdefault(ex.header.message_id, ("request", ex.step))
        for assertion in collective:
            self._judge(assertion, received, ctx, results)
        for result in results.values():
            if not result.outcomes:
                result.outcomes.append(Outcome(BLOCKED, "no request arrived to judge (see client.requests-arrived)"))
        return RunResult(targets=[self.url], suites=[self.suite.name], checks=list(results.values()),
                         started=self.started, finished=datetime.now(timezone.utc), role="client",
                         notes=[f"mock endpoint: {self.url}", f"{len(received)} request(s) received"])

    def _judge(self, assertion, subject, ctx, results) -> None:
        kind = KINDS[assertion.kind]
        try:
            params = render(assertion.params, self.scope)
            outcome = kind.fn(params, subject, ctx)
        except TemplateError as exc:
            outcome = Outcome(ERROR, str(exc))
        except Exception as exc:  # a harness bug must not hide the other checks
            outcome = Outcome(ERROR, f"harness error: {exc}")
        if isinstance(subject, Exchange):
            outcome.exchange = subject
            outcome.step = subject.step
            outcome.message = f"{subject.step}: {outcome.message}"
        results[assertion.check].outcomes.append(outcome)

    # ------------------------------------------------------------ answering

    def take(self, path: str, body: bytes, action: str) -> tuple[int, bytes]:
        service = _SERVICE.match(path)
        exchange = Exchange(step=f"request {len(self.received) + 1}", url=path, soap_action=action, response=body,
                            label="received", status=200)
        with self._cond:
            self.received.append(exchange)
            self._cond.notify_all()
        msg = exchange.message
        if service is None or msg is None or not hasattr(msg, "header"):
            reason = exchange.parse_problem or f"no service at {path}"
            fault = soap.fault("soapenv:Client", f"1.8: {reason}",
                               m.to_element(m.FaultMessage(m.failed("1.8", reason))))
            exchange.notes.append(f"answered with a SOAP Fault: {reason}")
            return 500, soap.to_bytes(fault)
        answer = self._answer(msg)
        noun = msg.header.noun
        name = service.group(1)
        if name == "Operations":
            element = m.to_element(answer)
        else:
            ns = namespaces.noun_message_ns(noun)
            element = m.to_element(answer, wrapper=f"{{{ns}}}{noun}ResponseMessage", part_ns=ns)
        env = soap.envelope(element)
        if self.signing_key is not None:
            env = sign_envelope(env, self.signing_key)
        exchange.notes.append(f"answered {answer.reply.result} {' '.join(e.code for e in answer.reply.errors)}")
        return 200, soap.to_bytes(env)

    def _answer(self, msg) -> m.ResponseMessage:
        for canned in self.suite.mock["answers"]:
            if (fnmatch.fnmatch(msg.header.verb.lower(), str(canned["verb"]).lower())
                    and fnmatch.fnmatch(msg.header.noun, str(canned["noun"]))):
                result = str(canned.get("result", codes.OK))
                code = str(canned.get("code", "0.0" if result == codes.OK else "5.3"))
                reply = m.Reply(result=result, errors=[m.Error(code=code)])
                payload = None
                if canned.get("payload"):
                    local = self.scope.child(**render(canned.get("vars") or {}, self.scope))
                    try:
                        payload = m.Payload(documents=[xml_from(canned["payload"], local, self.suite.path,
                                                                "mock answer payload")])
                    except ConformanceError as exc:
                        reply = m.failed("5.3", f"the mock's canned payload is broken: {exc}")
                return m.reply_to(msg.header, reply, payload, source="soapbus-conformance-mock")
        return m.reply_to(msg.header, m.failed("2.9", f"the mock has no answer for {msg.header.verb} "
                                                      f"{msg.header.noun}"), source="soapbus-conformance-mock")

    def _file(self, path: str, query: str) -> bytes | None:
        service = _SERVICE.match(path)
        if service and query.lower() == "wsdl":
            file = wsdl_dir() / f"{service.group(1)}.wsdl"
        else:
            found = _FILE.match(path)
            if not found:
                return None
            file = (wsdl_dir() if found.group(1) == "wsdl" else xsd_dir()) / found.group(2)
        if not file.is_file():
            return None
        data = file.read_bytes()
        if file.suffix == ".wsdl":
            data = re.sub(rb'location="https?://[^"/]+(/soap/[A-Za-z0-9_]+)"',
                          lambda mm: b'location="' + self.url.encode() + mm.group(1) + b'"', data)
            data = data.replace(b'"../xsd/', f'"{self.url}/xsd/'.encode())
        return data

    def _post(self, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
        return self.take(urlsplit(path).path, body, (headers.get("SOAPAction") or "").strip('"'))

    def _get(self, path: str, query: str) -> tuple[int, bytes, str]:
        data = self._file(path, query)
        return (404, b"not found", "text/plain") if data is None else (200, data, "text/xml; charset=utf-8")


def serve_mock(suite, host: str = "127.0.0.1", port: int = 0, *, trust=None, server_cert=None, server_key=None,
               variables: dict | None = None) -> MockEndpoint:
    """Start a mock endpoint for a client suite (name, path or Suite); call .wait() then .result()."""
    from . import suites as suite_files

    loaded = suite if isinstance(suite, Suite) else suite_files.load(suite)
    keys = KeyMaterial.load(server_cert, server_key, trust)
    return MockEndpoint(loaded, host, port, keys, variables, signing_key=keys.client).start()


__all__ = ["MockEndpoint", "serve_mock"]
