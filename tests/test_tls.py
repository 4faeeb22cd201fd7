"""Transport security over real TLS on loopback: HTTPS, mutual TLS, the identity of a client
certificate, every outbound hop (SDK, `soapbus call`, the harness, deliveries, amqps).

Two servers: `mtls` serves plain HTTP and HTTPS side by side and requires a client certificate
its CA issued; `https_only` serves HTTPS alone (--no-http), asks for no client certificate, and
delivers over mutual TLS to https receivers (per origin: one with a client certificate, one
without) and to RabbitMQ over amqps (through a TLS front the test runs before the broker).
"""
from __future__ import annotations

import dataclasses
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from lxml import etree

from soapbus import message as m
from soapbus.message import soap
from soapbus.security import pki
from soapbus.store import Store

from .conftest import skip_or_fail
from .helpers import header, meter_readings

try:
    import OpenSSL  # noqa: F401 - the server's TLS needs pyOpenSSL (Twisted's tls extra)
except ImportError:
    OpenSSL = None

AMQP_HOST, AMQP_PORT = "127.0.0.1", 5672
WSDL_NS = {"wsdl": "http://schemas.xmlsoap.org/wsdl/", "soap": "http://schemas.xmlsoap.org/wsdl/soap/"}


@pytest.fixture(scope="module", autouse=True)
def _needs_pyopenssl():
    if OpenSSL is None:
        skip_or_fail("pyOpenSSL is not installed: pip install 'Twisted[tls]' (the server's TLS needs it)")


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory):
    return pki.init(tmp_path_factory.mktemp("pki"))


# ---------------------------------------------------------------- a server whose URLs may all be https


@dataclasses.dataclass
class Served:
    process: subprocess.Popen
    data_dir: Path
    lines: list[str]
    http: str | None
    https: str

    @property
    def database_url(self) -> str:
        return f"sqlite:///{(self.data_dir / 'soapbus.db').resolve()}"

    def log(self) -> str:
        return "".join(self.lines)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def serve(data_dir: Path, args: list[str]) -> Served:
    command = [sys.executable, "-m", "soapbus", "serve", "--port", "0", "--tls-port", "0", "--data", str(data_dir),
               "--log-level", "INFO", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        if "discovery page:" in line:  # printed after every "listening on" line
            threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
            urls = re.findall(r"listening on (https?://\S+)", "".join(lines))
            return Served(process, data_dir, lines, next((u for u in urls if u.startswith("http:")), None),
                          next(u for u in urls if u.startswith("https:")))
    process.kill()
    raise RuntimeError("soapbus serve did not start:\n" + "".join(lines))


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="module")
def mtls(tmp_path_factory, test_pki):
    server = serve(tmp_path_factory.mktemp("mtls"), [
        "--tls-cert", str(test_pki.tls_server.cert), "--tls-key", str(test_pki.tls_server.key),
        "--tls-client-ca", str(test_pki.ca.cert), "--tls-require-client-cert",
        "--server-key", str(test_pki.server.key), "--server-cert", str(test_pki.server.cert),
        "--trust-ca", str(test_pki.ca.cert)])
    yield server
    server.stop()


def mdms(test_pki) -> tuple[str, str]:
    return str(test_pki.tls_mdms.cert), str(test_pki.tls_mdms.key)


def get(url: str, test_pki, cert=None) -> requests.Response:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would replace verify=
    return session.get(url, verify=str(test_pki.ca.cert), cert=cert, timeout=10)


# ---------------------------------------------------------------- the handshake


def test_mutual_tls_accepted_with_a_client_certificate_the_ca_issued(mtls, test_pki):
    resp = get(f"{mtls.https}/health/live", test_pki, cert=mdms(test_pki))
    assert resp.status_code == 200 and resp.json() == {"live": True}
    assert "TLS 1.2/1.3; client certificate REQUIRED" in mtls.log()


@pytest.mark.parametrize("name, reason", [
    (None, "peer did not return a certificate"),
    ("untrusted", "its issuer is not among the --tls-client-ca certificates"),
    ("expired", "it has expired"),
    ("selfsigned", "it is self-signed"),
    ("tls_server", "it is not meant for TLS clients"),
])
def test_refused_without_a_client_certificate_the_ca_issued_and_that_is_valid(mtls, test_pki, name, reason):
    cert = None if name is None else (str(getattr(test_pki, name).cert), str(getattr(test_pki, name).key))
    with pytest.raises(requests.exceptions.SSLError):
        get(f"{mtls.https}/health/live", test_pki, cert=cert)
    wait_for(lambda: f"TLS handshake with 127.0.0.1 failed: {'' if name is None else 'client certificate '}"
             in mtls.log() and reason in mtls.log(), 5, f"the server's log line for {name}")


def handshake(url: str, test_pki, *, maximum: ssl.TLSVersion, minimum=ssl.TLSVersion.TLSv1) -> str:
    """The TLS version a Python ssl client limited to [minimum, maximum] agrees with the server."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(str(test_pki.ca.cert))
    context.load_cert_chain(*mdms(test_pki))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # offering TLS 1.0 and 1.1 is the point here
        context.minimum_version, context.maximum_version = minimum, maximum
    context.set_ciphers("ALL:@SECLEVEL=0")  # let the client really offer the old versions
    host, port = url.removeprefix("https://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.version()


def test_tls_1_1_and_below_fail_the_handshake_1_2_and_1_3_pass(mtls, test_pki):
    for old in (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1):
        with pytest.raises(ssl.SSLError):
            handshake(mtls.https, test_pki, maximum=old)
    assert handshake(mtls.https, test_pki, maximum=ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert handshake(mtls.https, test_pki, maximum=ssl.TLSVersion.TLSv1_3,
                     minimum=ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    wait_for(lambda: "the client offered TLS older than 1.2" in mtls.log(), 5, "the refused version logged")


def test_a_plain_http_client_on_the_tls_port_is_cut_and_logged(mtls):
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(mtls.https.replace("https:", "http:") + "/health/live", timeout=10)
    wait_for(lambda: "a plain-HTTP client on the TLS port" in mtls.log(), 5, "the plain-HTTP client logged")


# ---------------------------------------------------------------- what the pages say


def test_discovery_page_endpoints_json_and_wsdls_say_https_on_the_tls_port(mtls, test_pki):
    listing = get(f"{mtls.https}/endpoints.json", test_pki, cert=mdms(test_pki)).json()
    assert listing and all(e["url"].startswith(f"{mtls.https}/soap/") and e["wsdl"].startswith(mtls.https)
                           for e in listing)
    page = get(f"{mtls.https}/", test_pki, cert=mdms(test_pki)).text
    assert f"{mtls.https}/soap/ExecuteMeterReadings" in page and "http://" not in page.replace("http://www.", "")
    for wsdl in (f"{mtls.https}/wsdl/ExecuteMeterReadings.wsdl", f"{mtls.https}/soap/ExecuteMeterReadings?wsdl"):
        root = etree.fromstring(get(wsdl, test_pki, cert=mdms(test_pki)).content)
        assert root.xpath("//soap:address/@location", namespaces=WSDL_NS) == [
            f"{mtls.https}/soap/ExecuteMeterReadings"]
    # the same server's plain HTTP port names itself http://
    plain = requests.get(f"{mtls.http}/endpoints.json", timeout=10).json()
    assert all(e["url"].startswith(f"{mtls.http}/soap/") for e in plain)


# ---------------------------------------------------------------- the client certificate's identity


def sdk(url: str, test_pki, source: str, cert=None):
    from soapbus.client import Client

    return Client(f"{url}/soap/ExecuteMeterReadings", f"{url}/soap/GetMeterReadings", source=source,
                  verify=str(test_pki.ca.cert), client_cert=cert or mdms(test_pki), raise_on_failed=False)


def stored(server: Served, noun: str, key: str) -> bool:
    store = Store(server.database_url)
    try:
        with store.unit_of_work() as uow:
            return uow.object_get(noun, key) is not None
    finally:
        store.close()


def test_a_bound_client_certificate_is_the_sdks_identity_and_journaled(mtls, test_pki):
    mrid = f"tls-{uuid.uuid4().hex[:8]}"
    result = sdk(mtls.https, test_pki, "MDMS").create("MeterReadings", meter_readings(mrid), message_id=mrid)
    assert result.result == "OK"
    store = Store(mtls.database_url)
    try:
        entries = store.journal_by_message_id(mrid)
        assert entries and all(e.peer == "127.0.0.1 (TLS client CN=MDMS,O=soapbus test PKI)" for e in entries)
    finally:
        store.close()
    assert stored(mtls, "MeterReadings", mrid)


def test_a_client_certificate_not_bound_to_the_source_is_refused_journaled_nothing_done(mtls, test_pki):
    from soapbus.client import SoapFaultError

    mrid = f"tls-{uuid.uuid4().hex[:8]}"
    with pytest.raises(SoapFaultError) as refused:
        sdk(mtls.https, test_pki, "OMS").create("MeterReadings", meter_readings(mrid), message_id=mrid)
    assert refused.value.code == "wsse:FailedAuthentication"
    assert refused.value.reason == ("the message claims Source 'OMS' but arrived over TLS with client certificate "
                                    "CN=MDMS,O=soapbus test PKI, whose CN differs")
    assert not stored(mtls, "MeterReadings", mrid)  # nothing processed
    store = Store(mtls.database_url)
    try:
        rejected = [e for e in store.journal_list(limit=20) if e.outcome == "rejected"
                    and e.reply_code == "wsse:FailedAuthentication"]
        assert rejected and rejected[0].peer == "127.0.0.1 (TLS client CN=MDMS,O=soapbus test PKI)"
        assert mrid.encode() in store.journal_get(rejected[0].id).raw
    finally:
        store.close()


def test_mutual_tls_does_not_replace_the_signature_on_i1_and_i9(mtls, test_pki):
    from soapbus.client import SoapFaultError
    from soapbus.message import namespaces

    ns = namespaces.profile_ns("Controls")
    doc = etree.Element(f"{{{ns}}}Controls", nsmap={None: ns})
    control = etree.SubElement(doc, f"{{{ns}}}Control")
    etree.SubElement(control, f"{{{ns}}}mRID").text = uuid.uuid4().hex
    from soapbus.client import Client

    client = Client(f"{mtls.https}/soap/ExecuteControls", source="MDMS", verify=str(test_pki.ca.cert),
                    client_cert=mdms(test_pki))
    with pytest.raises(SoapFaultError) as refused:
        client.create("Controls", doc)
    assert refused.value.code == "wsse:InvalidSecurity"
    assert "I9 requires a WS-Security signed request" in refused.value.reason
    assert "mutual TLS does not replace the signature" in refused.value.reason


# ---------------------------------------------------------------- the CLI and the harness over TLS


def soapbus(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "soapbus", *args], capture_output=True, text=True, timeout=120)


def test_soapbus_call_over_mutual_tls(mtls, test_pki):
    target = f"{mtls.https}/soap/GetMeterReadings"
    ask = ["call", target, "--verb", "get", "--noun", "MeterReadings", "--id", "nothing-here", "--source", "MDMS",
           "--output", "json"]
    done = soapbus(*ask, "--tls-ca", str(test_pki.ca.cert), "--tls-cert", str(test_pki.tls_mdms.cert),
                   "--tls-key", str(test_pki.tls_mdms.key))
    assert done.returncode == 1 and '"code": "2.4"' in done.stdout  # answered: FAILED, no such object
    refused = soapbus(*ask, "--tls-ca", str(test_pki.ca.cert))
    assert refused.returncode == 3
    assert "the server refused the TLS handshake" in refused.stderr and "--tls-cert/--tls-key" in refused.stderr
    insecure = soapbus(*ask, "--insecure", "--tls-cert", str(test_pki.tls_mdms.cert),
                       "--tls-key", str(test_pki.tls_mdms.key))
    assert insecure.returncode == 1 and "WARNING: --insecure: TLS certificate verification is OFF" in insecure.stderr
    wrong = soapbus(*ask, "--tls-cert", str(test_pki.tls_mdms.cert), "--tls-key", str(test_pki.tls_oms.key))
    assert wrong.returncode == 2 and "does not belong to the certificate" in wrong.stderr


def test_the_harness_over_mutual_tls(mtls, test_pki, tmp_path):
    done = soapbus("conformance", "run", "--target", f"{mtls.https}/soap/ExecuteMeterReadings",
                   "--target", f"{mtls.https}/soap/GetMeterReadings", "--suite", "envelope", "--source", "MDMS",
                   "--tls-ca", str(test_pki.ca.cert), "--tls-cert", str(test_pki.tls_mdms.cert),
                   "--tls-key", str(test_pki.tls_mdms.key), "--report", str(tmp_path / "report"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Every judged check passed" in done.stdout
    junit = etree.parse(str(tmp_path / "report" / "junit.xml")).getroot()
    assert int(junit.get("tests") or junit[0].get("tests")) >= 5
    without = soapbus("conformance", "run", "--target", f"{mtls.https}/soap/GetMeterReadings", "--suite", "envelope",
                      "--tls-ca", str(test_pki.ca.cert), "--report", str(tmp_path / "refused"))
    assert without.returncode == 2 and "requires a client certificate" in without.stderr


def test_client_tls_settings_are_checked_when_made(test_pki, tmp_path):
    from soapbus.client import ClientTls, TlsSetupError

    with pytest.raises(TlsSetupError, match="does not belong to the certificate"):
        ClientTls(cert_file=str(test_pki.tls_mdms.cert), key_file=str(test_pki.tls_oms.key))
    with pytest.raises(TlsSetupError, match="cannot read the TLS CA bundle"):
        ClientTls(ca_file=str(tmp_path / "missing.pem"))
    (tmp_path / "empty.pem").write_text("not a certificate")
    with pytest.raises(TlsSetupError, match="holds no PEM certificate"):
        ClientTls(ca_file=str(tmp_path / "empty.pem"))
    assert ClientTls.of(verify=str(test_pki.ca.cert), client_cert=mdms(test_pki)).cert == mdms(test_pki)


def test_serve_refuses_tls_settings_it_cannot_use(test_pki, tmp_path):
    mismatched = soapbus("serve", "--port", "0", "--tls-port", "0", "--data", str(tmp_path / "a"),
                         "--tls-cert", str(test_pki.tls_server.cert), "--tls-key", str(test_pki.tls_mdms.key))
    assert mismatched.returncode == 1
    assert f"the TLS key {test_pki.tls_mdms.key} does not belong to the certificate" in mismatched.stderr
    no_ca = soapbus("serve", "--tls-cert", str(test_pki.tls_server.cert), "--tls-key", str(test_pki.tls_server.key),
                    "--tls-require-client-cert", "--data", str(tmp_path / "b"))
    assert no_ca.returncode == 2 and "needs the CAs that issue them (--tls-client-ca FILE)" in no_ca.stderr
    nothing = soapbus("serve", "--no-http", "--data", str(tmp_path / "c"))
    assert nothing.returncode == 2 and "--no-http needs HTTPS" in nothing.stderr


# ---------------------------------------------------------------- outbound: an https receiver demanding a client cert


class HttpsReceiver:
    """A 61968 receiver behind HTTPS that requires a client certificate its CA issued."""

    def __init__(self, test_pki):
        self.arrivals: list[tuple[str, m.ResponseMessage | m.EventMessage]] = []  # (client CN, message)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # the answer's head and body are two writes on a kept-alive connection

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                peer = dict(x[0] for x in self.connection.getpeercert()["subject"])["commonName"]
                receiver.arrivals.append((peer, m.parse(soap.unwrap(body).message)))
                data = soap.to_bytes(soap.envelope(m.to_element(m.reply_to(receiver.arrivals[-1][1].header,
                                                                               m.ok()))))
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(test_pki.tls_server.cert), str(test_pki.tls_server.key))
        context.load_verify_locations(str(test_pki.ca.cert))
        context.verify_mode = ssl.CERT_REQUIRED
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.origin = f"https://localhost:{self.httpd.server_port}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class TlsFront:
    """TLS (mutual, the test CA) in front of the machine's RabbitMQ: what an amqps:// broker looks like."""

    def __init__(self, test_pki):
        self.peers: list[str] = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(test_pki.tls_server.cert), str(test_pki.tls_server.key))
        context.load_verify_locations(str(test_pki.ca.cert))
        context.verify_mode = ssl.CERT_REQUIRED
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closing:
            try:
                raw, _ = self.listener.accept()
                client = self.context.wrap_socket(raw, server_side=True)
            except OSError:
                continue
            self.peers.append(dict(x[0] for x in client.getpeercert()["subject"])["commonName"])
            upstream = socket.create_connection((AMQP_HOST, AMQP_PORT))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.close()
                except OSError:
                    pass

    def close(self):
        self.closing = True
        self.listener.close()


def rabbitmq_consumer():
    pika = pytest.importorskip("pika")
    try:
        connection = pika.BlockingConnection(pika.URLParameters(f"amqp://guest:guest@{AMQP_HOST}:{AMQP_PORT}/%2F"))
    except Exception as exc:  # noqa: BLE001 - any failure to reach it means the same here
        skip_or_fail(f"RabbitMQ not reachable at {AMQP_HOST}:{AMQP_PORT} ({type(exc).__name__}); start "
                     "rabbitmq-server")
    channel = connection.channel()
    queue = channel.queue_declare(queue="", exclusive=True).method.queue
    channel.exchange_declare(exchange="soapbus.events", exchange_type="topic", durable=True)
    channel.queue_bind(queue=queue, exchange="soapbus.events", routing_key="MeterReadings.created")
    return connection, channel, queue


@pytest.fixture(scope="module")
def outbound(tmp_path_factory, test_pki):
    """An HTTPS-only server with per-origin client certificates for two https receivers and amqps."""
    with_cert, without_cert, front = HttpsReceiver(test_pki), HttpsReceiver(test_pki), TlsFront(test_pki)
    oms = f"cert={test_pki.tls_oms.cert},key={test_pki.tls_oms.key}"
    server = serve(tmp_path_factory.mktemp("outbound"), [
        "--no-http", "--tls-cert", str(test_pki.tls_server.cert), "--tls-key", str(test_pki.tls_server.key),
        "--delivery-tls-ca", str(test_pki.ca.cert), "--delivery-timeout", "3",
        "--destination-tls", f"{with_cert.origin}={oms}",
        "--broker", f"amqps://guest:guest@localhost:{front.port}/%2F",
        "--destination-tls", f"amqps://localhost:{front.port}=ca={test_pki.ca.cert},{oms}"])
    yield server, with_cert, without_cert, front
    server.stop()
    for closing in (with_cert, without_cert, front):
        closing.close()


def async_get(server: Served, test_pki, reply_address: str) -> str:
    from soapbus.client import Client

    client = Client(f"{server.https}/soap/GetMeterReadings", source="MDMS", verify=str(test_pki.ca.cert))
    msg = m.RequestMessage(header("get", "MeterReadings", async_reply_flag=True, reply_address=reply_address),
                           m.Request(ids=[m.ID("anything")]))
    ack = client.send(msg)
    assert ack.result == "OK" and [e.code for e in ack.errors] == ["0.3"]
    return msg.header.message_id


def test_an_https_only_server_answers_on_tls_and_not_on_http(outbound, test_pki):
    server = outbound[0]
    assert server.http is None and "listening on http://" not in server.log()
    resp = get(f"{server.https}/endpoints.json", test_pki)  # no client certificate asked for here
    assert resp.status_code == 200 and resp.json()[0]["url"].startswith(server.https)


def test_an_async_reply_reaches_an_https_listener_demanding_a_client_certificate(outbound, test_pki):
    server, with_cert, without_cert, _ = outbound
    sent = async_get(server, test_pki, f"{with_cert.origin}/replies")
    peer, reply = wait_for(lambda: next((a for a in with_cert.arrivals if a[1].header.correlation_id == sent), None),
                           15, "the asynchronous reply at the https listener")
    assert peer == "OMS"  # the client certificate configured for that origin
    assert reply.kind == "ResponseMessage" and [e.code for e in reply.reply.errors] == ["2.4"]
    # the control: an origin with no client certificate configured cannot get past its receiver's handshake
    refused = async_get(server, test_pki, f"{without_cert.origin}/replies")
    store = Store(server.database_url)
    try:
        item = wait_for(lambda: next((i for i in store.outbox_list("pending", 200)
                                      if i.correlation_id == refused and i.attempts >= 1), None),
                        15, "a failed attempt at the receiver without a client certificate configured")
    finally:
        store.close()
    assert "TLS handshake failed: tlsv13 alert certificate required (the destination demands a client " \
           "certificate" in item.last_error
    assert not any(a[1].header.correlation_id == refused for a in without_cert.arrivals)


def test_events_reach_rabbitmq_over_amqps_with_the_configured_client_certificate(outbound, test_pki):
    server, _, _, front = outbound
    connection, channel, queue = rabbitmq_consumer()
    try:
        mrid = f"amqps-{uuid.uuid4().hex[:8]}"
        from soapbus.client import Client

        client = Client(f"{server.https}/soap/ExecuteMeterReadings", source="MDMS", verify=str(test_pki.ca.cert))
        assert client.create("MeterReadings", meter_readings(mrid), message_id=mrid).result == "OK"

        def arrived():
            method, properties, body = channel.basic_get(queue, auto_ack=True)
            return (properties, body) if method is not None and properties.correlation_id == mrid else None

        properties, body = wait_for(arrived, 20, "the created event on soapbus.events over amqps")
        assert m.parse(soap.unwrap(body).message).header.verb == "created"
        assert front.peers and set(front.peers) == {"OMS"}
        assert "message broker connected: amqps://localhost" in server.log()
    finally:
        connection.close()


# ---------------------------------------------------------------- the rules, without a network


def test_a_tls_client_is_bound_by_the_signers_rules_or_only_recorded(test_pki):
    from cryptography import x509

    from soapbus.profiles import services
    from soapbus.security import SecurityFault
    from soapbus.server.guard import Guard, SecurityConfig, Verdict
    from soapbus.server.tls import PeerCertificate

    service = next(s for s in services() if s.name == "ExecuteMeterReadings")
    client = PeerCertificate.of(x509.load_pem_x509_certificate(test_pki.tls_mdms.cert.read_bytes()))
    assert client.subject == "CN=MDMS,O=soapbus test PKI" and "MDMS" in client.subject_names

    def authorize(config: SecurityConfig, source: str | None):
        msg = m.RequestMessage(header("create", "MeterReadings", source=source), None,
                               m.Payload(documents=[meter_readings("x")]))
        Guard(config).authorize(service, Verdict(False, m.to_element(msg)), msg, client)

    authorize(SecurityConfig(), "MDMS")  # the default rule: CN is the Source
    for source, says in (("OMS", "claims Source 'OMS' but arrived over TLS with client certificate"),
                         (None, "names no Source, so its TLS client certificate cannot be bound")):
        with pytest.raises(SecurityFault, match=says):
            authorize(SecurityConfig(), source)
    table = {"CN=MDMS,O=soapbus test PKI": frozenset({"OMS", "HES2"})}  # as --bind writes it
    authorize(SecurityConfig(binding=table), "HES2")
    with pytest.raises(SecurityFault, match=r"may only claim \['HES2', 'OMS'\]"):
        authorize(SecurityConfig(binding=table), "MDMS")
    authorize(SecurityConfig(bind_tls_clients=False), "OMS")  # --tls-client-identity record: journaled only


def test_delivery_tls_settings_per_origin_over_the_defaults(test_pki):
    from soapbus.bus.tls import DestinationTls, DestinationTlsPolicy, OutboundTls, OutboundTlsError, \
        parse_destination_tls

    origin, own = parse_destination_tls(f"HTTPS://OMS.example/=cert={test_pki.tls_oms.cert},"
                                        f"key={test_pki.tls_oms.key}")
    assert origin == "https://oms.example:443" and own.ca_file is None
    config = OutboundTls(DestinationTls(ca_file=test_pki.ca.cert), ((origin, own),))
    assert config.for_origin("oms.example", 443) == DestinationTls(test_pki.ca.cert, test_pki.tls_oms.cert,
                                                                   test_pki.tls_oms.key)
    assert config.for_origin("oms.example", 8443) == config.default  # another port, another origin
    assert parse_destination_tls("amqps://rabbit=ca=/x.pem")[0] == "amqps://rabbit:5671"
    for wrong, says in (("https://oms/soap/Events=ca=/x.pem", "per origin, not per path"),
                        ("http://oms=ca=/x.pem", r"not an https \(or amqps\) origin"),
                        ("https://oms=pem=/x.pem", "is not ca=FILE, cert=FILE or key=FILE"),
                        ("https://oms=key=/x.key", "without its certificate")):
        with pytest.raises(OutboundTlsError, match=says):
            parse_destination_tls(wrong)
    with pytest.raises(OutboundTlsError, match="does not belong to the certificate"):
        DestinationTlsPolicy(OutboundTls(DestinationTls(cert_file=test_pki.tls_oms.cert,
                                                        key_file=test_pki.tls_mdms.key)))
