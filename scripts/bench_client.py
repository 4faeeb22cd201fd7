"""Client SDK benchmark: what a soapbus.client call costs the caller, against its floors, same run.

    .venv/bin/python scripts/bench_client.py [--seconds 2] [--rounds 3]     (scripts/bench runs it too)

In process, with a transport that answers every POST at once with a canned ResponseMessage (no
server, no network), so each figure is the caller's own CPU per call (process CPU time, so that
another program on the machine does not count). The four are measured in turn, ten calls each,
over and over within each round, so that all four see the same conditions (a busy neighbour,
the CPU's clock); each round's figure is the median of its batches:

* raw sign + C14N: what any signer must do per request with its key already loaded: exclusive
  C14N and SHA-256 of the soap:Body (the 5 KB CreateMeterReadings of the core bench) and of the
  wsu:Timestamp, C14N of ds:SignedInfo, one RSA-2048 PKCS#1 v1.5 SHA-256 signature;
* the SDK's unsigned and signed `Client.create` of that payload; the signed call's overhead is
  their difference (target: at most 1.3x raw sign + C14N);
* plain zeep: the same CreateMeterReadings through zeep's own typed call
  (`client.service.CreateMeterReadings(Header={...}, Payload={...})`, the payload as dicts), its
  answer parsed into zeep objects: what a caller writes without soapbus.
"""
from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import zeep  # noqa: E402
from lxml import etree  # noqa: E402
from zeep.transports import Transport  # noqa: E402

from soapbus import message as m  # noqa: E402
from soapbus.message import namespaces, soap  # noqa: E402
from soapbus.security import SigningKey, pki, sign_envelope  # noqa: E402
from soapbus.security import ns as wss  # noqa: E402

WSDL = ROOT / "wsdl" / "ExecuteMeterReadings.wsdl"
ENDPOINT = "http://bench.invalid/soap/ExecuteMeterReadings"
MR = namespaces.profile_ns("MeterReadings")
READINGS = 28  # as the core bench's create


class CannedTransport(Transport):
    """zeep's Transport answering every POST with the same bytes, at once: the call's own cost only."""

    def __init__(self, answer: bytes):
        super().__init__()
        self.answer = answer

    def post(self, address, message, headers):
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "text/xml; charset=utf-8"
        response._content = self.answer
        response.url = address
        return response


def _readings_document(mrid: str) -> etree._Element:
    doc = etree.Element(f"{{{MR}}}MeterReadings", nsmap={None: MR})
    reading_el = etree.SubElement(doc, f"{{{MR}}}MeterReading")
    etree.SubElement(reading_el, f"{{{MR}}}mRID").text = mrid
    for i in range(READINGS):
        reading = etree.SubElement(reading_el, f"{{{MR}}}Readings")
        etree.SubElement(reading, f"{{{MR}}}timeStamp").text = f"2026-11-26T{i % 24:02d}:00:00Z"
        etree.SubElement(reading, f"{{{MR}}}value").text = f"{1000 + i}.25"
        etree.SubElement(reading, f"{{{MR}}}ReadingType").set("ref", "0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0")
    return doc


def _readings_dict(mrid: str) -> dict:
    """The same document as plain zeep takes it."""
    return {"MeterReading": [{"mRID": mrid, "Readings": [
        {"timeStamp": f"2026-11-26T{i % 24:02d}:00:00Z", "value": f"{1000 + i}.25",
         "ReadingType": {"ref": "0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0"}} for i in range(READINGS)]}]}


def _canned_answer() -> bytes:
    ns = namespaces.noun_message_ns("MeterReadings")
    reply = m.reply_to(m.Header("create", "MeterReadings", message_id=str(uuid.uuid4())), m.ok(), None)
    return soap.to_bytes(soap.envelope(m.to_element(reply, wrapper=f"{{{ns}}}MeterReadingsResponseMessage",
                                                    part_ns=ns)))


def _per_call(fn) -> float:
    """CPU seconds of one call, from a batch of ten."""
    started = time.process_time()
    for _ in range(10):
        fn()
    return (time.process_time() - started) / 10


def raw_sign_floor(key: SigningKey):
    """Exclusive C14N + SHA-256 of Body and Timestamp, C14N of SignedInfo, one RSA signature: the call."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    ns = namespaces.noun_message_ns("MeterReadings")
    msg = m.RequestMessage(m.Header("create", "MeterReadings", timestamp=m.now(), source="BENCH",
                                    message_id=str(uuid.uuid4())), None,
                           m.Payload(documents=[_readings_document("floor")]))
    signed = sign_envelope(soap.envelope(m.to_element(msg, wrapper=f"{{{ns}}}CreateMeterReadings", part_ns=ns)), key)
    body, stamp = signed.find(soap.BODY), signed.find(f".//{{{wss.WSU}}}Timestamp")
    signed_info = signed.find(f".//{{{wss.DS}}}SignedInfo")
    private = key.private_key

    def once():
        for part in (body, stamp):
            hashlib.sha256(etree.tostring(part, method="c14n", exclusive=True)).digest()
        private.sign(etree.tostring(signed_info, method="c14n", exclusive=True), padding.PKCS1v15(), hashes.SHA256())

    return once


def measure(seconds: float = 2.0, rounds: int = 3) -> dict[str, list[float]]:
    from soapbus.client import Client

    with tempfile.TemporaryDirectory(prefix="soapbus-bench-client-") as tmp:
        made = pki.init(Path(tmp) / "pki")
        key = SigningKey.load(made.mdms.key, made.mdms.cert)
    transport = CannedTransport(_canned_answer())
    unsigned = Client(str(WSDL), source="BENCH", endpoint=ENDPOINT, transport=transport)
    signing = Client(str(WSDL), source="BENCH", endpoint=ENDPOINT, transport=transport, signing_key=key)
    plain = zeep.Client(str(WSDL), transport=transport)
    plain_service = plain.create_service(next(iter(plain.wsdl.bindings)), ENDPOINT)

    def sdk(client):
        return lambda: client.create("MeterReadings", _readings_document(str(uuid.uuid4())))

    def plain_zeep():
        plain_service.CreateMeterReadings(
            Header={"Verb": "create", "Noun": "MeterReadings", "Timestamp": m.now(), "Source": "BENCH",
                    "MessageID": str(uuid.uuid4())},
            Payload={"MeterReadings": _readings_dict(str(uuid.uuid4()))})

    calls = {"floor": raw_sign_floor(key), "sdk_unsigned": sdk(unsigned), "sdk_signed": sdk(signing),
             "plain_zeep": plain_zeep}
    for call in calls.values():  # first calls fill caches (templates, zeep's)
        call()
    rows: dict[str, list[float]] = {name: [] for name in calls}
    for round_no in range(rounds):
        batches: dict[str, list[float]] = {name: [] for name in calls}
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            for name, call in calls.items():
                batches[name].append(_per_call(call))
        for name, found in batches.items():
            rows[name].append(statistics.median(found))
        print(f"client round {round_no + 1}: " + "  ".join(f"{k} {v[-1] * 1000:.3f} ms" for k, v in rows.items()),
              flush=True)
    return rows


def report(rows: dict[str, list[float]]) -> None:
    med = {k: statistics.median(v) * 1000 for k, v in rows.items()}
    overhead = med["sdk_signed"] - med["sdk_unsigned"]
    print(f"raw sign + C14N (key loaded):                 {med['floor']:.3f} ms")
    print(f"SDK create, unsigned:                         {med['sdk_unsigned']:.3f} ms per call")
    print(f"SDK create, signed:                           {med['sdk_signed']:.3f} ms per call")
    print(f"signing's overhead in the SDK call:           {overhead:.3f} ms = {overhead / med['floor']:.2f}x "
          f"raw sign + C14N (target <= 1.3x)")
    print(f"plain zeep create (dict payload):             {med['plain_zeep']:.3f} ms per call; "
          f"SDK unsigned / plain zeep = {med['sdk_unsigned'] / med['plain_zeep']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    report(measure(args.seconds, args.rounds))


if __name__ == "__main__":
    main()
