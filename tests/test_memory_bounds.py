"""What one hostile request may cost the server, measured by the live process's peak RSS (VmHWM).

A decompression bomb (1 GiB behind 1 MB of gzip) and eight 8 MB bodies of 2,000,000 empty
elements sent at once: each is refused with its 61968 code while the server's peak memory
grows by a bounded amount; and a large request that is parsed gives its memory back after.
"""
from __future__ import annotations

import base64
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from soapbus import message as m

from .helpers import generic_envelope, header, start_server

MIB = 1024 * 1024


def status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


@pytest.fixture
def server(tmp_path):
    proc = start_server(tmp_path / "mem")
    # warm up: the first requests load schemas and the Spyne applications
    for _ in range(3):
        post(proc, generic_envelope(m.RequestMessage(header("get", "MeterReadings"), m.Request(ids=[m.ID("none")]))))
    yield proc
    proc.stop()


def post(proc, body: bytes) -> requests.Response:
    return requests.post(f"{proc.url}/soap/Operations", data=body, timeout=120,
                         headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})


def gzip_of_spaces(total: int) -> bytes:
    """A gzip stream of `total` bytes of XML-legal filler, built in chunks (never held whole)."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b" " * (16 * MIB)
    parts = [deflater.compress(b"<MeterReadings xmlns='http://iec.ch/TC57/2011/MeterReadings#'>")]
    for _ in range(total // len(chunk)):
        parts.append(deflater.compress(chunk))
    parts.append(deflater.compress(b"</MeterReadings>"))
    parts.append(deflater.flush())
    return b"".join(parts)


def reply_of(resp: requests.Response) -> tuple[str, str]:
    """(code, reason) of the first Error, from a ResponseMessage or a FaultMessage in a SOAP Fault."""
    from soapbus.message import soap

    root = m.parse_bytes(resp.content)
    fault = soap.read_fault(root)
    if fault is not None:
        reply = m.parse(fault.detail, "FaultMessage").reply
    else:
        reply = m.parse(soap.unwrap_element(root).message).reply
    return reply.errors[0].code, reply.errors[0].reason or ""


def test_a_decompression_bomb_is_stopped_at_the_inflation_cap(server):
    bomb = gzip_of_spaces(1024 * MIB)
    assert len(bomb) < 2 * MIB
    msg = m.RequestMessage(header("create", "MeterReadings"), None,
                           m.Payload(compressed=base64.b64encode(bomb).decode("ascii")))
    before = status_kib(server.process.pid, "VmHWM")
    resp = post(server, generic_envelope(msg))
    grown_mib = (status_kib(server.process.pid, "VmHWM") - before) / 1024
    print(f"decompression bomb: 1 GiB behind {len(bomb) / MIB:.1f} MB of gzip; peak RSS grew {grown_mib:.0f} MiB")
    code, reason = reply_of(resp)
    assert code == "3.1" and "inflates to more than 33554432 bytes" in reason, reason
    assert grown_mib < 150, f"peak RSS grew {grown_mib:.0f} MiB for one bomb"
    # positive control: a small Compressed payload is inflated and processed
    small = m.Payload.compress(m.parse_bytes(
        b"<MeterReadings xmlns='http://iec.ch/TC57/2011/MeterReadings#'><MeterReading><mRID>MEM-1</mRID>"
        b"<Readings><timeStamp>2026-11-26T10:00:00Z</timeStamp><value>1</value>"
        b"<ReadingType ref='0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0'/></Readings></MeterReading></MeterReadings>"))
    ok = post(server, generic_envelope(m.RequestMessage(header("create", "MeterReadings"), None, small)))
    assert reply_of(ok)[0] == "0.0", ok.text[:500]


def many_empty_elements(count: int) -> bytes:
    mid = str(uuid.uuid4())
    head = (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/'
            f'soap/envelope/"><soapenv:Body><m:RequestMessage xmlns:m="http://iec.ch/TC57/2011/schema/message">'
            f"<m:Header><m:Verb>create</m:Verb><m:Noun>MeterReadings</m:Noun><m:Timestamp>2026-12-05T10:00:00Z"
            f"</m:Timestamp><m:Source>MDMS</m:Source><m:MessageID>{mid}</m:MessageID></m:Header><m:Payload>"
            f"<MeterReadings xmlns='http://iec.ch/TC57/2011/MeterReadings#'>").encode()
    tail = b"</MeterReadings></m:Payload></m:RequestMessage></soapenv:Body></soapenv:Envelope>"
    return head + b"<a/>" * count + tail


def test_eight_bodies_of_two_million_elements_at_once_are_refused_before_a_tree_exists(server):
    body = many_empty_elements(2_000_000)
    assert len(body) < 8 * MIB
    before = status_kib(server.process.pid, "VmHWM")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post(server, body), range(8)))
    grown_mib = (status_kib(server.process.pid, "VmHWM") - before) / 1024
    print(f"8 x {len(body) / MIB:.1f} MB of 2,000,000 elements at once: peak RSS grew {grown_mib:.0f} MiB")
    for resp in answers:
        code, reason = reply_of(resp)
        assert code == "3.1" and "more than 100000 elements" in reason, reason
    # The bodies themselves are buffered (8 x 7.6 MB, a copy each for the journal): about 130 MiB.
    # A tree of each would be about 8 x 190 MiB.
    assert grown_mib < 300, f"peak RSS grew {grown_mib:.0f} MiB"


def test_nesting_deeper_than_the_limit_is_refused(server):
    depth = 150
    doc = b"<x>" * depth + b"</x>" * depth
    body = (b'<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
            b"<soapenv:Body>" + doc + b"</soapenv:Body></soapenv:Envelope>")
    code, reason = reply_of(post(server, body))
    assert code == "1.8" and "deeper than 100 levels" in reason, reason


def test_a_large_parsed_request_gives_its_memory_back(server):
    """Below the element limit the tree is built (and refused by the profile); then freed and trimmed.

    A first round lets every pool thread compile its schemas (kept on purpose, per thread); what
    a second round leaves behind is what the requests themselves kept."""
    body = many_empty_elements(95_000)
    pid = server.process.pid

    def round_of_four():
        with ThreadPoolExecutor(4) as pool:
            for resp in pool.map(lambda _: post(server, body), range(4)):
                assert reply_of(resp)[0] == "1.8"  # parsed, then refused by the MeterReadings profile

    start = status_kib(pid, "VmRSS")
    round_of_four()
    rss_before = status_kib(pid, "VmRSS")
    kept = []  # after each further round; the least of three, so that unrelated growth in one round
    for _ in range(3):  # (a page cache, a log buffer) cannot decide it
        round_of_four()
        kept.append((status_kib(pid, "VmRSS") - rss_before) / 1024)
    peak_growth = (status_kib(pid, "VmHWM") - start) / 1024
    print(f"4 x 95,000 elements parsed at once: peak {peak_growth:.0f} MiB over the start, "
          f"{', '.join(f'{k:.0f}' for k in kept)} MiB kept after each further round")
    assert peak_growth > 15, "the control: such requests do build large trees"
    assert min(kept) < 12, f"{min(kept):.0f} MiB of RSS kept after the requests were answered"
