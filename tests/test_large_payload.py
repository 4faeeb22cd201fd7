"""Large legitimate payloads: a Compressed MeterReadings document validated, stored and answered
as a stream (profiles/stream.py, server/readings.py), over real HTTP against a live server.

`--stream-from 1024` makes the server stream every Compressed payload inflating to 1 KiB or
more, so that small documents exercise the streamed path and its answers can be compared
with the tree path's (a plain, uncompressed get of the same values). The memory test uses the
default threshold and measures the live server's peak RSS (VmHWM), with a server that does not
stream as the control that shows the measurement can fail.
"""
from __future__ import annotations

import base64
import gzip
import uuid
from pathlib import Path

import pytest
import requests
from lxml import etree

from soapbus import message as m
from soapbus.message import soap

from .conftest import skip_or_fail
from .helpers import generic_envelope, header, server_on, start_server

MR = "http://iec.ch/TC57/2011/MeterReadings#"
GET_MR = "http://iec.ch/TC57/2011/GetMeterReadings#"
KWH = "0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"
MIB = 1024 * 1024


def meter_day(meter: str, scale: float = 1.0, *, mrid: str | None = None, bogus: bool = False) -> str:
    """One MeterReading: a day of 15-minute kWh values of one meter (with an mRID: kept whole)."""
    values = "".join(f"<IntervalReadings><timeStamp>2026-04-01T{i // 4:02d}:{i % 4 * 15:02d}:00Z</timeStamp>"
                     f"<value>{i * scale:.2f}</value></IntervalReadings>" for i in range(96))
    own = f"<mRID>{mrid}</mRID>" if mrid else ""
    return (f"<MeterReading>{own}<IntervalBlocks>{values}<ReadingType ref=\"{KWH}\"/></IntervalBlocks>"
            f"{'<Bogus/>' if bogus else ''}<Meter><mRID>{meter}</mRID></Meter></MeterReading>")


def document(items: list[str]) -> bytes:
    return f'<MeterReadings xmlns="{MR}">{"".join(items)}</MeterReadings>'.encode()


def compressed(doc: bytes) -> str:
    return base64.b64encode(gzip.compress(doc)).decode("ascii")


def post(server, msg) -> m.Message:
    resp = requests.post(f"{server.url}/soap/Operations", data=generic_envelope(msg), timeout=300,
                         headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
    root = m.parse_bytes(resp.content, "answer", m.xml.ParseLimits(max_elements=10_000_000))
    fault = soap.read_fault(root)
    if fault is not None:
        return m.parse(fault.detail, "FaultMessage")
    return m.parse(soap.unwrap_element(root).message)


def create(server, doc: bytes):
    return post(server, m.RequestMessage(header("create", "MeterReadings"), None,
                                         m.Payload(compressed=compressed(doc), format="XML")))


def get_by_meters(server, meters: list[str], *, compress: bool):
    query = etree.Element(f"{{{GET_MR}}}GetMeterReadings", nsmap={None: GET_MR})
    for meter in meters:
        etree.SubElement(etree.SubElement(query, f"{{{GET_MR}}}EndDevice"), f"{{{GET_MR}}}mRID").text = meter
    options = [("compress", "true")] if compress else []
    return post(server, m.RequestMessage(header("get", "MeterReadings"), m.Request(queries=[query], options=options)))


def answered_document(msg) -> etree._Element:
    payload = msg.payload
    if payload.compressed is not None:
        return etree.fromstring(gzip.decompress(base64.b64decode(payload.compressed)))
    assert len(payload.documents) == 1
    return payload.documents[0]


def values_of(doc: etree._Element) -> set[tuple[str, str, str, str]]:
    """(meter, reading type, time, value) of every interval value in a MeterReadings document."""
    ns = {"m": MR}
    found = set()
    for reading in doc.findall("m:MeterReading", ns):
        meter = reading.findtext("m:Meter/m:mRID", namespaces=ns)
        for block in reading.findall("m:IntervalBlocks", ns):
            rt = block.find("m:ReadingType", ns).get("ref")
            for value in block.findall("m:IntervalReadings", ns):
                found.add((meter, rt, value.findtext("m:timeStamp", namespaces=ns),
                           value.findtext("m:value", namespaces=ns)))
    return found


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    with server_on(request.param, tmp_path_factory.mktemp(f"stream-{request.param}"), "stream",
                   extra_args=["--stream-from", "1024"]) as proc:
        yield proc


def new_meters(count: int) -> list[str]:
    tag = uuid.uuid4().hex[:8]
    return [f"meter-{tag}-{i:03d}" for i in range(count)]


def test_a_streamed_create_stores_what_the_tree_path_answers_back(server):
    meters = new_meters(12)
    doc = document([meter_day(meter, scale=n + 1) for n, meter in enumerate(meters)])
    assert len(doc) > 1024  # over the threshold: read as a stream
    reply = create(server, doc).reply
    assert reply.result == "OK", reply.errors
    assert "1152 values stored: 1152 new" in reply.errors[0].reason
    sent = values_of(etree.fromstring(doc))
    as_tree = get_by_meters(server, meters, compress=False)  # plain get: the tree path
    as_stream = get_by_meters(server, meters, compress=True)  # compressed get: answered as a stream
    assert as_tree.reply.result == "OK" and as_stream.reply.result == "OK"
    assert as_stream.payload.compressed is not None and not as_stream.payload.documents
    assert values_of(answered_document(as_tree)) == sent
    assert values_of(answered_document(as_stream)) == sent
    # regrouped as they came: one MeterReading per meter, in both
    streamed = answered_document(as_stream)
    assert len(streamed.findall(f"{{{MR}}}MeterReading")) == 12
    assert len(answered_document(as_tree).findall(f"{{{MR}}}MeterReading")) == 12


def test_whole_objects_and_values_of_one_stream_are_both_kept(server):
    meters = new_meters(3)
    mrid = str(uuid.uuid4())
    doc = document([meter_day(meters[0]), meter_day(meters[1], mrid=mrid), meter_day(meters[2], scale=2)])
    reply = create(server, doc).reply
    assert reply.result == "OK", reply.errors
    assert [i.value for i in reply.ids][0] == mrid  # the object kept whole first, then what values are of
    answer = get_by_meters(server, meters, compress=True)
    assert values_of(answered_document(answer)) == values_of(etree.fromstring(doc))


def test_an_invalid_item_deep_in_a_stream_is_named_by_position_and_nothing_is_stored(server):
    meters = new_meters(40)
    items = [meter_day(meter) for meter in meters]
    items[36] = meter_day(meters[36], bogus=True)
    answer = create(server, document(items))
    assert answer.reply.result == "FAILED"
    error = answer.reply.errors[0]
    assert error.code == "1.8"
    assert "/MeterReadings/MeterReading[37]/Bogus" in error.reason and "not expected" in error.reason
    # all or nothing: none of the 39 valid items was kept ...
    assert values_of(answered_document(get_by_meters(server, meters[:3], compress=True))) == set()
    # ... which the same payload without the bad element shows would have been found
    items[36] = meter_day(meters[36])
    assert create(server, document(items)).reply.result == "OK"
    assert values_of(answered_document(get_by_meters(server, meters[:3], compress=True))) == \
        values_of(etree.fromstring(document(items[:3])))


def test_a_document_level_problem_is_reported_with_libxml2s_message(server):
    # every item valid alone; the document is not: a root attribute the profile does not declare
    doc = document([meter_day(meter) for meter in new_meters(20)]).replace(
        b'<MeterReadings xmlns', b'<MeterReadings bogus="1" xmlns', 1)
    answer = create(server, doc)
    assert answer.reply.result == "FAILED"
    assert answer.reply.errors[0].code == "1.8" and "bogus" in answer.reply.errors[0].reason


def test_the_caps_hold_for_a_streamed_payload(tmp_path):
    proc = start_server(tmp_path / "caps", extra_args=["--stream-from", "1024", "--max-inflated", "200000",
                                                       "--max-elements", "8000"])
    try:
        just_under = document([meter_day(meter) for meter in new_meters(16)])  # ~160 KB, 4,689 elements
        assert create(proc, just_under).reply.result == "OK"
        too_big = document([meter_day(meter) for meter in new_meters(30)])  # ~300 KB inflated
        error = create(proc, too_big).reply.errors[0]
        assert error.code == "3.1" and "inflates to more than 200000 bytes" in error.reason
        many = document(["<MeterReading/>" * 9_000])  # 135 KB, 9,001 elements
        error = create(proc, many).reply.errors[0]
        assert error.code == "3.1" and "more than 8000 elements" in error.reason
    finally:
        proc.stop()


# ---------------------------------------------------------------- memory


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def peak_growth_mib(proc, send) -> tuple[object, float]:
    """(what send returned, the server's peak RSS growth while it ran, in MiB)."""
    Path(f"/proc/{proc.process.pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
    before = status_kib(proc.process.pid, "VmRSS")
    result = send()
    return result, (status_kib(proc.process.pid, "VmHWM") - before) / 1024


def big_document(megabytes: int) -> tuple[bytes, list[str]]:
    """Objects kept whole (each with an mRID, a day of a meter's values): quick to store."""
    items, meters, size = [], [], 0
    tag = uuid.uuid4().hex[:8]
    while size < megabytes * MIB:
        meters.append(f"big-{tag}-{len(meters):05d}")
        items.append(meter_day(meters[-1], mrid=f"{tag}-{len(meters)}"))
        size += len(items[-1])
    return document(items), meters


def measured(tmp_path, stream_from: str, doc: bytes) -> tuple[float, float, set]:
    proc = start_server(tmp_path, extra_args=["--stream-from", stream_from, "--max-inflated", str(64 * MIB),
                                              "--max-elements", "3000000", "--max-items", "100000"])
    try:
        create(proc, document([meter_day("warm-up")]))
        get_by_meters(proc, ["warm-up"], compress=True)
        reply, created_mib = peak_growth_mib(proc, lambda: create(proc, doc))
        assert reply.reply.result == "OK", reply.reply.errors
        query = m.Request(options=[("compress", "true")],
                          queries=[etree.fromstring(f'<GetMeterReadings xmlns="{GET_MR}"><ReadingType><Names><name>'
                                                    f'{KWH}</name></Names></ReadingType></GetMeterReadings>')])
        answer, got_mib = peak_growth_mib(proc, lambda: post(proc, m.RequestMessage(header("get", "MeterReadings"),
                                                                                  query)))
        assert answer.reply.result == "OK", answer.reply.errors
        return created_mib, got_mib, values_of(answered_document(answer))
    finally:
        proc.stop()


def test_a_16_mib_payload_costs_the_server_at_most_3x_its_size_through_create_and_get(tmp_path):
    if not Path("/proc/self/clear_refs").exists():
        skip_or_fail("needs Linux's /proc/<pid>/clear_refs to measure the server's peak RSS")
    doc, meters = big_document(16)
    payload_mib = len(doc) / MIB
    sent = values_of(etree.fromstring(doc))
    created, got, answered = measured(tmp_path / "streamed", str(4 * MIB), doc)
    print(f"{payload_mib:.1f} MiB payload, streamed: create +{created:.0f} MiB, get +{got:.0f} MiB")
    assert answered >= sent  # the warm-up's values come too
    assert created <= 3 * payload_mib and got <= 3 * payload_mib
    # control: the same requests read as trees cost several times the payload, so the bound above can fail
    created_tree, got_tree, answered = measured(tmp_path / "trees", str(10**9), doc)
    print(f"as trees: create +{created_tree:.0f} MiB, get +{got_tree:.0f} MiB")
    assert answered >= sent
    assert created_tree > 3 * payload_mib
