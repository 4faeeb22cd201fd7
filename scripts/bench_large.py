"""Large legitimate payloads: a MeterReadings document of --mib MiB (inflated) through create and get.

    scripts/bench --large [--mib 50] [--rounds 1]

A day of 15-minute interval readings for as many meters as fill --mib MiB, sent Compressed (the
61968 Payload/Compressed: base64 of gzip) to a `soapbus serve` child process whose caps are raised
for it (--max-inflated, --max-elements, --max-items), then asked back with one get (compressed
answer). For each, the server's peak RSS growth (VmHWM, reset before the request through
/proc/<pid>/clear_refs) is compared with the payload's inflated size, measured in the same run,
with the time of an lxml parse of the same bytes in this process as the baseline for time.
"""
from __future__ import annotations

import argparse
import base64
import gzip
import http.client
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MIB = 1024 * 1024
MR = "http://iec.ch/TC57/2011/MeterReadings#"
GET_MR = "http://iec.ch/TC57/2011/GetMeterReadings#"
KWH = "0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"
REGISTER = "0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0"
INTERVALS_PER_DAY = 96


def meter_reading(meter: int) -> bytes:
    """One meter's day: a register read and 96 interval values, as an AMI head end sends them."""
    values = "".join(f"<IntervalReadings><timeStamp>2026-03-01T{i // 4:02d}:{i % 4 * 15:02d}:00Z</timeStamp>"
                     f"<value>{meter % 1000 + i * 0.25:.2f}</value></IntervalReadings>"
                     for i in range(INTERVALS_PER_DAY))
    return (f"<MeterReading><IntervalBlocks>{values}<ReadingType ref=\"{KWH}\"/></IntervalBlocks>"
            f"<Meter><mRID>meter-{meter:07d}</mRID></Meter>"
            f"<Readings><timeStamp>2026-03-02T00:00:00Z</timeStamp><value>{meter * 3.5:.1f}</value>"
            f"<ReadingType ref=\"{REGISTER}\"/></Readings></MeterReading>").encode()


def document(mib: float, first: int = 0) -> tuple[bytes, int, int]:
    """(the MeterReadings document of about `mib` MiB, meters, values); meters numbered from `first`."""
    parts = [f'<MeterReadings xmlns="{MR}">'.encode()]
    size, meters = 0, 0
    while size < mib * MIB:
        part = meter_reading(first + meters)
        parts.append(part)
        size += len(part)
        meters += 1
    parts.append(b"</MeterReadings>")
    return b"".join(parts), meters, meters * (INTERVALS_PER_DAY + 1)


def envelope(verb: str, body_xml: str) -> bytes:
    header = (f"<m:Header><m:Verb>{verb}</m:Verb><m:Noun>MeterReadings</m:Noun>"
              f"<m:Timestamp>2026-03-02T01:00:00Z</m:Timestamp><m:Source>BENCH</m:Source>"
              f"<m:MessageID>{uuid.uuid4()}</m:MessageID></m:Header>")
    return (f'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
            f'<m:RequestMessage xmlns:m="http://iec.ch/TC57/2011/schema/message">{header}{body_xml}'
            f"</m:RequestMessage></soapenv:Body></soapenv:Envelope>").encode()


def create_body(doc: bytes) -> bytes:
    compressed = base64.b64encode(gzip.compress(doc, 6)).decode("ascii")
    return envelope("create", f"<m:Payload><m:Compressed>{compressed}</m:Compressed></m:Payload>")


def get_body() -> bytes:
    query = (f'<GetMeterReadings xmlns="{GET_MR}"><ReadingType><Names><name>{KWH}</name></Names></ReadingType>'
             f'<ReadingType><Names><name>{REGISTER}</name></Names></ReadingType></GetMeterReadings>')
    return envelope("get", f"<m:Request>{query}<m:Option><m:name>compress</m:name><m:value>true</m:value>"
                           f"</m:Option></m:Request>")


def _kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def peak_growth(pid: int, send) -> tuple[object, float, float]:
    """(send's result, peak RSS growth in MiB during it, seconds)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := the current RSS
    before = _kib(pid, "VmRSS")
    started = time.perf_counter()
    result = send()
    elapsed = time.perf_counter() - started
    return result, (_kib(pid, "VmHWM") - before) / 1024, elapsed


def post(url: str, body: bytes) -> bytes:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=1800)
    conn.request("POST", parts.path, body, {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return data


def reply_of(data: bytes) -> tuple[str, str, bytes | None]:
    """(Result, first error code and reason, the inflated answer document or None)."""
    from soapbus import message as m
    from soapbus.message import soap

    root = m.parse_bytes(data, "answer", m.xml.ParseLimits(max_elements=50_000_000))
    fault = soap.read_fault(root)
    if fault is not None:
        reply = m.parse(fault.detail, "FaultMessage").reply
        return "FAULT", f"{reply.errors[0].code} {reply.errors[0].reason}", None
    msg = m.parse(soap.unwrap_element(root).message)
    first = msg.reply.errors[0] if msg.reply.errors else None
    doc = None
    if msg.payload is not None and msg.payload.compressed:
        doc = gzip.decompress(base64.b64decode(msg.payload.compressed))
    return msg.reply.result, f"{first.code} {first.reason}" if first else "", doc


def start_server(data_dir: Path, mib: float) -> tuple[subprocess.Popen, str]:
    cap = int(mib * 1.25 * MIB) + MIB
    args = [sys.executable, "-m", "soapbus", "serve", "--port", "0", "--data", str(data_dir),
            "--max-inflated", str(cap), "--max-elements", str(int(mib * 80_000)), "--max-items", "10000000",
            "--max-body", str(cap), "--request-deadline", "1800"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            return proc, found.group(1).rstrip("/")
    raise RuntimeError(f"{args} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=float, default=50.0, help="inflated payload size (MiB)")
    parser.add_argument("--rounds", type=int, default=1, help="create+get rounds (each on a fresh database)")
    args = parser.parse_args()
    from lxml import etree

    doc, meters, values = document(args.mib)
    payload_mib = len(doc) / MIB
    started = time.perf_counter()
    etree.fromstring(doc, etree.XMLParser(huge_tree=True))
    parse_s = time.perf_counter() - started
    body = create_body(doc)
    print(f"payload: {payload_mib:.1f} MiB inflated, {meters} MeterReadings, {values} values; "
          f"{len(body) / MIB:.1f} MiB on the wire (Compressed); an lxml parse of it here: {parse_s:.2f} s", flush=True)
    rows = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            proc, url = start_server(Path(tmp) / "d", args.mib)
            try:
                endpoint = f"{url}/soap/Operations"
                reply_of(post(endpoint, create_body(document(0.01, first=9_000_000)[0])))  # warm up, other meters
                (created, c_mib, c_s) = peak_growth(proc.pid, lambda: post(endpoint, body))
                c_result, c_code, _ = reply_of(created)
                (got, g_mib, g_s) = peak_growth(proc.pid, lambda: post(endpoint, get_body()))
                g_result, g_code, answered = reply_of(got)
                answered_values = answered.count(b"<value>") + answered.count(b":value>") if answered else 0
                rows.append((c_mib, c_s, g_mib, g_s))
                print(f"create: {c_result} {c_code[:100]}; peak RSS +{c_mib:.0f} MiB = {c_mib / payload_mib:.2f}x "
                      f"the payload; {c_s:.1f} s = {c_s / parse_s:.0f}x the parse", flush=True)
                print(f"get:    {g_result} {g_code[:100]}; {answered_values} values answered "
                      f"({len(answered or b'') / MIB:.1f} MiB inflated); peak RSS +{g_mib:.0f} MiB = "
                      f"{g_mib / payload_mib:.2f}x the payload; {g_s:.1f} s = {g_s / parse_s:.0f}x the parse", flush=True)
            finally:
                proc.terminate()
                proc.wait(30)
    c_mib, c_s, g_mib, g_s = (statistics.median(col) for col in zip(*rows))
    print(f"\nmedians of {len(rows)} round(s), payload {payload_mib:.1f} MiB:", flush=True)
    print(f"| request | peak RSS growth | of the payload | time |", flush=True)
    print(f"|---|---|---|---|", flush=True)
    print(f"| create | +{c_mib:.0f} MiB | {c_mib / payload_mib:.2f}x | {c_s:.1f} s |", flush=True)
    print(f"| get    | +{g_mib:.0f} MiB | {g_mib / payload_mib:.2f}x | {g_s:.1f} s |", flush=True)


if __name__ == "__main__":
    main()
