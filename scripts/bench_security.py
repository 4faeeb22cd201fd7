"""Signed I9 round trip against the crypto floor, measured in the same run.

    scripts/bench --security [--seconds 5] [--rounds 5]

The floor is what any correct implementation must spend per signed round trip: exclusive
C14N of the signed parts (Body, Timestamp, SignedInfo) and SHA-256 digests, one RSA-2048
verify (the request) and one RSA-2048 sign (the answer), with keys already loaded. Against
it, three soapbus figures:

* security layer: soapbus's Verifier.verify on the signed request plus sign_envelope on the
  answer, in process (what the guard adds to a request);
* full round trip, server CPU: a signed CreateControls on I9 through the live server (verify,
  source binding, replay memory, pipeline, journal, sign the answer), CPU seconds of the
  server process per request, driven over keep-alive HTTP from another process;
* the same path unsigned on I7 (CreateMeterReadings), for where the rest of the time goes.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

from scripts.bench_core import _cpu_seconds, _start  # noqa: E402
from soapbus import message as m  # noqa: E402
from soapbus.message import namespaces, soap  # noqa: E402
from soapbus.security import SigningKey, TrustStore, Verifier, pki, sign_envelope  # noqa: E402
from soapbus.security import ns as wss  # noqa: E402

CTL = namespaces.profile_ns("Controls")


def controls_request(mrid: str, source: str = "MDMS") -> etree._Element:
    doc = etree.Element(f"{{{CTL}}}Controls", nsmap={None: CTL})
    for i in range(12):  # about 5 KB, like the core bench
        ctl = etree.SubElement(doc, f"{{{CTL}}}Control")
        etree.SubElement(ctl, f"{{{CTL}}}mRID").text = f"{mrid}-{i}"
        etree.SubElement(ctl, f"{{{CTL}}}controlType").text = "breakerOpen"
        etree.SubElement(ctl, f"{{{CTL}}}issuerID").text = "control-room-operator-4711"
        etree.SubElement(ctl, f"{{{CTL}}}timeStamp").text = "2026-11-26T10:00:00Z"
        psr = etree.SubElement(ctl, f"{{{CTL}}}PowerSystemResource")
        etree.SubElement(psr, f"{{{CTL}}}mRID").text = f"BREAKER-{i}"
    msg = m.RequestMessage(m.Header("create", "Controls", timestamp=m.now(), source=source,
                                    message_id=m.new_message_id()), None, m.Payload(documents=[doc]))
    ns = namespaces.noun_message_ns("Controls")
    return soap.envelope(m.to_element(msg, wrapper=f"{{{ns}}}CreateControls", part_ns=ns))


def _median_seconds(fn, seconds: float) -> float:
    """Median time of one call, from batches run for about `seconds`."""
    samples = []
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        t0 = time.perf_counter()
        for _ in range(10):
            fn()
        samples.append((time.perf_counter() - t0) / 10)
    return statistics.median(samples)


def crypto_floor(key_pem: Path, cert_pem: Path, signed: bytes, seconds: float) -> float:
    """C14N + SHA-256 of the signed parts, one RSA verify and one RSA sign: the least any stack must do."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    root = etree.fromstring(signed)
    parts = [root.find(soap.BODY), root.find(f".//{{{wss.WSU}}}Timestamp"), root.find(f".//{{{wss.DS}}}SignedInfo")]
    private = serialization.load_pem_private_key(key_pem.read_bytes(), password=None)
    public = x509.load_pem_x509_certificate(cert_pem.read_bytes()).public_key()
    signature = private.sign(b"x", padding.PKCS1v15(), hashes.SHA256())

    def once():
        for _ in range(2):  # the request's parts are checked, the answer's are made
            for part in parts:
                hashlib.sha256(etree.tostring(part, method="c14n", exclusive=True)).digest()
        public.verify(signature, b"x", padding.PKCS1v15(), hashes.SHA256())
        private.sign(b"x", padding.PKCS1v15(), hashes.SHA256())

    return _median_seconds(once, seconds)


def security_layer(key: SigningKey, server_key: SigningKey, trust: TrustStore, seconds: float) -> float:
    verifier = Verifier(trust)

    def once():
        signed = soap.to_bytes(sign_envelope(controls_request(m.new_message_id()), key))
        t0 = time.perf_counter()
        verifier.verify(signed)
        answer = soap.envelope(m.to_element(m.reply_to(m.Header("create", "Controls", message_id="x"), m.ok())))
        soap.to_bytes(sign_envelope(answer, server_key))
        return time.perf_counter() - t0

    samples = []
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        samples.append(once())
    return statistics.median(samples)


def drive_signed(url: str, service: str, key_paths, seconds: float, connections: int, signed: bool) -> dict:
    """Clients in this (separate) process sign each request, so the server measures only its own work."""
    key = SigningKey.load(*key_paths) if signed else None
    host, port = url.removeprefix("http://").split(":")
    counts, failures = [0] * connections, [0] * connections
    bodies = []
    for _ in range(400):  # signed ahead of time: signing cost stays out of the timed loop
        env = controls_request(m.new_message_id()) if signed else _meter_request()
        bodies.append(soap.to_bytes(sign_envelope(env, key)) if signed else soap.to_bytes(env))
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        while time.monotonic() < stop:
            with lock:
                if not bodies:
                    break
                body = bodies.pop()
            conn.request("POST", f"/soap/{service}", body, {"Content-Type": "text/xml; charset=utf-8"})
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 200 or b">OK<" not in data:
                failures[index] += 1
            counts[index] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"requests": sum(counts), "failures": sum(failures), "elapsed": time.monotonic() - t0}


def _meter_request() -> etree._Element:
    ns_mr = namespaces.profile_ns("MeterReadings")
    doc = etree.Element(f"{{{ns_mr}}}MeterReadings", nsmap={None: ns_mr})
    for i in range(12):
        mr = etree.SubElement(doc, f"{{{ns_mr}}}MeterReading")
        etree.SubElement(mr, f"{{{ns_mr}}}mRID").text = m.new_message_id()
        reading = etree.SubElement(mr, f"{{{ns_mr}}}Readings")
        etree.SubElement(reading, f"{{{ns_mr}}}timeStamp").text = "2026-11-26T10:00:00Z"
        etree.SubElement(reading, f"{{{ns_mr}}}value").text = "1.5"
        etree.SubElement(reading, f"{{{ns_mr}}}ReadingType").set("ref", "0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0")
    msg = m.RequestMessage(m.Header("create", "MeterReadings", timestamp=m.now(), source="MDMS",
                                    message_id=m.new_message_id()), None, m.Payload(documents=[doc]))
    ns = namespaces.noun_message_ns("MeterReadings")
    return soap.envelope(m.to_element(msg, wrapper=f"{{{ns}}}CreateMeterReadings", part_ns=ns))


def _server_cpu_per_request(proc, url, service, key_paths, seconds, connections, signed) -> float:
    code = ("import json,sys; sys.path.insert(0, %r); from scripts.bench_security import drive_signed; "
            "print(json.dumps(drive_signed(%r, %r, %r, %r, %r, %r)))"
            % (str(ROOT), url, service, key_paths, seconds, connections, signed))
    cpu0 = _cpu_seconds(proc.pid)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    run = json.loads(out.stdout.strip().splitlines()[-1])
    cpu = _cpu_seconds(proc.pid) - cpu0
    if run["failures"]:
        raise RuntimeError(f"{run['failures']} of {run['requests']} requests to {service} failed")
    return cpu / max(run["requests"], 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="soapbus-bench-sec-") as tmp:
        made = pki.init(Path(tmp) / "pki")
        key = SigningKey.load(made.mdms.key, made.mdms.cert)
        server_key = SigningKey.load(made.server.key, made.server.cert)
        trust = TrustStore.from_ca_bundle(made.ca.cert)
        sample = soap.to_bytes(sign_envelope(controls_request("sample"), key))
        proc, url = _start([sys.executable, "-m", "soapbus", "serve", "--port", "0", "--data", str(Path(tmp) / "d"),
                            "--server-key", str(made.server.key), "--server-cert", str(made.server.cert),
                            "--trust-ca", str(made.ca.cert)])
        key_paths = (str(made.mdms.key), str(made.mdms.cert))
        rows = {"floor": [], "layer": [], "signed_i9": [], "unsigned_i7": []}
        try:
            _server_cpu_per_request(proc, url, "ExecuteControls", key_paths, 1.0, args.connections, True)  # warm
            for round_no in range(args.rounds):
                rows["floor"].append(crypto_floor(made.mdms.key, made.mdms.cert, sample, args.seconds / 2))
                rows["layer"].append(security_layer(key, server_key, trust, args.seconds / 2))
                rows["signed_i9"].append(_server_cpu_per_request(proc, url, "ExecuteControls", key_paths,
                                                                 args.seconds, args.connections, True))
                rows["unsigned_i7"].append(_server_cpu_per_request(proc, url, "ExecuteMeterReadings", key_paths,
                                                                   args.seconds, args.connections, False))
                print(f"round {round_no + 1}: " + "  ".join(f"{k} {v[-1] * 1000:.2f} ms" for k, v in rows.items()),
                      flush=True)
        finally:
            proc.terminate()
    med = {k: statistics.median(v) * 1000 for k, v in rows.items()}
    print()
    print(f"crypto floor (C14N+SHA-256 of signed parts, RSA verify + RSA sign): {med['floor']:.2f} ms")
    print(f"soapbus security layer (verify request + sign answer):         {med['layer']:.2f} ms  "
          f"= {med['layer'] / med['floor']:.2f}x floor (target <= 2x)")
    print(f"signed I9 round trip, server CPU per request:                     {med['signed_i9']:.2f} ms  "
          f"= {med['signed_i9'] / med['floor']:.2f}x floor")
    print(f"same path unsigned on I7, server CPU per request:                {med['unsigned_i7']:.2f} ms")
    print(f"security share of the signed round trip: {med['signed_i9'] - med['unsigned_i7']:.2f} ms "
          f"= {(med['signed_i9'] - med['unsigned_i7']) / med['floor']:.2f}x floor")


if __name__ == "__main__":
    main()
