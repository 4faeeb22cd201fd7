"""Readings as IEC 61968-9 defines them, over real HTTP against a live server (SQLite and PostgreSQL).

A MeterReading of the public 61968-9 profile has no mRID: a reading is the value of a reading
type, at a time, of a meter or usage point. The built-in store keeps each such value once (the
same reading sent again replaces it), finds them again with a GetMeterReadings query (EndDevice,
UsagePoint, ReadingType, TimeSchedule) or Request/ID and StartTime/EndTime, and answers them as
MeterReadings documents, one MeterReading per meter and context, valid under the public profile.
SCADA telemetry (MeasurementValues, signed on I9) is kept the same way by measurement and time.
"""
from __future__ import annotations

import uuid

import pytest
from lxml import etree

from soapbus import message as m
from soapbus.client import Client
from soapbus.profiles import validate_documents
from soapbus.security import SigningKey, TrustStore, pki
from soapbus.store import Store

from .helpers import MR_NS, header, response_message, server_on, start_server, typed_envelope

GET_MR = "http://iec.ch/TC57/2011/GetMeterReadings#"
MV_NS = "http://iec.ch/TC57/2011/MeasurementValues#"
KWH = "0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0"
VOLTS = "0.0.0.6.0.1.54.0.0.0.0.0.0.0.0.0.29.0"
INTERVAL_KWH = "0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"
T = ["2026-03-01T00:15:00Z", "2026-03-01T00:30:00Z", "2026-03-01T00:45:00Z", "2026-03-01T01:00:00Z"]


def meter_readings(meter: str | None, usage_point: str | None, readings=(), intervals=(), *,
                   values_interval: tuple[str, str] | None = None) -> etree._Element:
    """A MeterReadings document as the public profile writes it: no mRID, one MeterReading.

    readings: (reading type, time, value); intervals: (reading type, [(time, value), ...]).
    """
    blocks = "".join(
        "<IntervalBlocks>" + "".join(f"<IntervalReadings><timeStamp>{t}</timeStamp><value>{v}</value></IntervalReadings>"
                                     for t, v in values) + f'<ReadingType ref="{rt}"/></IntervalBlocks>'
        for rt, values in intervals)
    meter_xml = f"<Meter><mRID>{meter}</mRID></Meter>" if meter else ""
    regs = "".join(f'<Readings><timeStamp>{t}</timeStamp><value>{v}</value><ReadingType ref="{rt}"/></Readings>'
                   for rt, t, v in readings)
    up_xml = f"<UsagePoint><mRID>{usage_point}</mRID></UsagePoint>" if usage_point else ""
    interval_xml = (f"<valuesInterval><end>{values_interval[1]}</end><start>{values_interval[0]}</start></valuesInterval>"
                    if values_interval else "")
    return etree.fromstring(f'<MeterReadings xmlns="{MR_NS}"><MeterReading>{blocks}{meter_xml}{regs}{up_xml}'
                            f"{interval_xml}</MeterReading></MeterReadings>".encode())


def get_query(*, meters=(), usage_points=(), reading_types=(), window=None, groups=()) -> etree._Element:
    """A 61968-9 GetMeterReadings query element (Request/GetMeterReadings)."""
    q = etree.Element(f"{{{GET_MR}}}GetMeterReadings", nsmap={None: GET_MR})

    def named(tag: str, mrid: str) -> None:
        etree.SubElement(etree.SubElement(q, f"{{{GET_MR}}}{tag}"), f"{{{GET_MR}}}mRID").text = mrid

    for meter in meters:
        named("EndDevice", meter)
    for group in groups:
        named("EndDeviceGroup", group)
    for rt in reading_types:  # by name, as deployed MDMs ask: Names/name with NameType ReadingType
        names = etree.SubElement(etree.SubElement(q, f"{{{GET_MR}}}ReadingType"), f"{{{GET_MR}}}Names")
        etree.SubElement(names, f"{{{GET_MR}}}name").text = rt
    if window:
        interval = etree.SubElement(etree.SubElement(q, f"{{{GET_MR}}}TimeSchedule"), f"{{{GET_MR}}}scheduleInterval")
        etree.SubElement(interval, f"{{{GET_MR}}}end").text = window[1]
        etree.SubElement(interval, f"{{{GET_MR}}}start").text = window[0]
    for up in usage_points:
        named("UsagePoint", up)
    return q


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    with server_on(request.param, tmp_path_factory.mktemp(f"readings-{request.param}"), "readings") as proc:
        yield proc


@pytest.fixture(scope="module")
def public_mr(public_dir) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(public_dir / "profiles-61968-9" / "MeterReadings.xsd")))


def _send(server, verb: str, msg):
    operation = f"{verb.capitalize()}MeterReadings"
    service = "GetMeterReadings" if verb == "get" else "ExecuteMeterReadings"
    return response_message(server.post(service, typed_envelope(operation, "MeterReadings", msg)))


def create(server, document, verb="create"):
    return _send(server, verb, m.RequestMessage(header(verb, "MeterReadings"), None, m.Payload(documents=[document])))


def get(server, query=None, ids=(), start=None, end=None):
    request = m.Request(start_time=start, end_time=end, ids=list(ids), queries=[query] if query is not None else [])
    return _send(server, "get", m.RequestMessage(header("get", "MeterReadings"), request))


def values(reply) -> list[tuple[str, str, str, str]]:
    """(meter, reading type, time, value) of every reading and interval reading answered."""
    out = []
    for doc in reply.payload.documents if reply.payload else []:
        for mr in doc.findall(f"{{{MR_NS}}}MeterReading"):
            meter = mr.findtext(f"{{{MR_NS}}}Meter/{{{MR_NS}}}mRID") or mr.findtext(
                f"{{{MR_NS}}}UsagePoint/{{{MR_NS}}}mRID")
            for reading in mr.findall(f"{{{MR_NS}}}Readings"):
                out.append((meter, reading.find(f"{{{MR_NS}}}ReadingType").get("ref"),
                            reading.findtext(f"{{{MR_NS}}}timeStamp"), reading.findtext(f"{{{MR_NS}}}value")))
            for block in mr.findall(f"{{{MR_NS}}}IntervalBlocks"):
                rt = block.find(f"{{{MR_NS}}}ReadingType").get("ref")
                out += [(meter, rt, r.findtext(f"{{{MR_NS}}}timeStamp"), r.findtext(f"{{{MR_NS}}}value"))
                        for r in block.findall(f"{{{MR_NS}}}IntervalReadings")]
    return sorted(out)


def stored_keys(server, prefix: str) -> list[str]:
    store = Store(server.database_url)
    try:
        with store.unit_of_work() as uow:
            return sorted(o.key for o in uow.object_list("MeterReadings") if prefix in o.key)
    finally:
        store.close()


def assert_public(reply, public_mr) -> None:
    for doc in reply.payload.documents:
        assert public_mr.validate(doc), (public_mr.error_log, etree.tostring(doc))


def new_meter() -> str:
    return f"MTR-{uuid.uuid4()}"


def test_a_reading_without_mrid_sent_twice_replaces_it(server, public_mr):
    meter = new_meter()
    first = meter_readings(meter, None, [(KWH, T[0], "100.0"), (KWH, T[1], "101.0")])
    assert public_mr.validate(first), public_mr.error_log  # what the public profile accepts, ours stores
    reply = create(server, first)
    assert reply.reply.result == "OK", reply.reply.errors
    assert reply.reply.errors[0].reason.startswith("2 values stored: 2 new, 0 replacing")
    assert [(i.value, i.id_type, i.kind) for i in reply.reply.ids] == [(meter, "Meter", "other")]

    again = meter_readings(meter, None, [(KWH, T[0], "100.0"), (KWH, "2026-02-28T19:30:00-05:00", "101.5")])
    reply = create(server, again)  # the same two readings; the second given in another zone, corrected
    assert reply.reply.result == "OK" and reply.reply.errors[0].reason.startswith("2 values stored: 0 new, 2 replacing")
    assert len(stored_keys(server, meter)) == 2  # replaced, not duplicated

    got = get(server, get_query(meters=[meter]))
    assert got.reply.result == "OK"
    assert values(got) == sorted([(meter, KWH, T[0], "100.0"), (meter, KWH, "2026-02-28T19:30:00-05:00", "101.5")])
    times = [el.text for el in got.payload.documents[0].iter(f"{{{MR_NS}}}timeStamp")]
    assert times == [T[0], "2026-02-28T19:30:00-05:00"]  # in the order of their time
    assert len(got.payload.documents[0].findall(f"{{{MR_NS}}}MeterReading")) == 1  # regrouped as they came
    assert_public(got, public_mr)


@pytest.fixture(scope="module")
def two_meters(server):
    """Meter A at usage point UP-A: kWh and volts at four times; meter B at UP-B: kWh at one time."""
    a, b = new_meter(), new_meter()
    up_a, up_b = f"UP-{uuid.uuid4()}", f"UP-{uuid.uuid4()}"
    readings_a = [(rt, t, f"{i}.{n}") for n, rt in enumerate((KWH, VOLTS)) for i, t in enumerate(T)]
    assert create(server, meter_readings(a, up_a, readings_a)).reply.result == "OK"
    assert create(server, meter_readings(b, up_b, [(KWH, T[0], "7.0")])).reply.result == "OK"
    return {"A": a, "B": b, "UP-A": up_a, "UP-B": up_b}


def test_get_by_meter(server, two_meters, public_mr):
    got = get(server, get_query(meters=[two_meters["A"]]))
    assert {(v[0], v[1]) for v in values(got)} == {(two_meters["A"], KWH), (two_meters["A"], VOLTS)}
    assert len(values(got)) == 8
    assert_public(got, public_mr)


def test_get_by_usage_point(server, two_meters, public_mr):
    got = get(server, get_query(usage_points=[two_meters["UP-B"]]))
    assert values(got) == [(two_meters["B"], KWH, T[0], "7.0")]
    mr = got.payload.documents[0].find(f"{{{MR_NS}}}MeterReading")
    assert mr.findtext(f"{{{MR_NS}}}UsagePoint/{{{MR_NS}}}mRID") == two_meters["UP-B"]
    assert_public(got, public_mr)


def test_get_by_reading_type_and_time_window(server, two_meters, public_mr):
    got = get(server, get_query(meters=[two_meters["A"], two_meters["B"]], reading_types=[VOLTS]))
    assert [(v[1], v[2]) for v in values(got)] == [(VOLTS, t) for t in sorted(T)]
    windowed = get(server, get_query(meters=[two_meters["A"], two_meters["B"]], reading_types=[KWH],
                                     window=(T[1], T[2])))  # both ends included
    assert values(windowed) == [(two_meters["A"], KWH, T[1], "1.0"), (two_meters["A"], KWH, T[2], "2.0")]
    assert_public(windowed, public_mr)


def test_get_by_request_id_and_start_end_time(server, two_meters):
    meter_id = m.ID(two_meters["A"], kind="other", id_type="Meter")  # as the create's Reply/ID named it
    got = get(server, ids=[meter_id], start=m.parse_time(T[2], "start"), end=m.parse_time(T[3], "end"))
    assert [(v[1], v[2]) for v in values(got)] == sorted([(KWH, T[2]), (KWH, T[3]), (VOLTS, T[2]), (VOLTS, T[3])])
    unknown = get(server, ids=[m.ID(new_meter())])
    assert unknown.reply.result == "FAILED" and unknown.reply.errors[0].code == "2.4"


def test_interval_readings_are_kept_each_and_answered_in_their_block(server, public_mr):
    meter = new_meter()
    doc = meter_readings(meter, None, intervals=[(INTERVAL_KWH, [(t, f"0.{i}") for i, t in enumerate(T)])],
                         values_interval=(T[0], T[3]))
    assert public_mr.validate(doc) and create(server, doc).reply.result == "OK"
    assert len(stored_keys(server, meter)) == 4
    got = get(server, get_query(meters=[meter], window=(T[1], T[2])))
    assert values(got) == [(meter, INTERVAL_KWH, T[1], "0.1"), (meter, INTERVAL_KWH, T[2], "0.2")]
    [mr] = got.payload.documents[0].findall(f"{{{MR_NS}}}MeterReading")
    assert len(mr.findall(f"{{{MR_NS}}}IntervalBlocks")) == 1  # one block, as sent
    assert mr.findtext(f"{{{MR_NS}}}valuesInterval/{{{MR_NS}}}start") == T[0]  # the context it came with
    assert_public(got, public_mr)


def test_readings_kept_by_mrid_and_without_are_found_by_the_same_meter(server):
    meter, mrid = new_meter(), str(uuid.uuid4())
    keyed = meter_readings(meter, None, [(KWH, T[0], "1")])
    item = keyed.find(f"{{{MR_NS}}}MeterReading")
    etree.SubElement(item, f"{{{MR_NS}}}mRID").text = mrid
    item.insert(0, item[-1])  # mRID first, as our profile orders it
    assert create(server, keyed).reply.result == "OK"
    assert create(server, meter_readings(meter, None, [(KWH, T[1], "2")])).reply.result == "OK"
    assert [v[2:] for v in values(get(server, get_query(meters=[meter])))] == [(T[0], "1"), (T[1], "2")]
    assert create(server, keyed).reply.errors[0].code == "6.1"  # an object with mRID: a duplicate, as ever


@pytest.mark.parametrize(("case", "document", "path"), [
    ("a reading without time", meter_readings("M-1", None, [(KWH, "", "1")]), "/MeterReadings/MeterReading[1]/Readings[1]"),
    ("a reading of no meter or usage point", meter_readings(None, None, [(KWH, T[0], "1")]), "/MeterReadings/MeterReading[1]"),
])
def test_a_reading_that_cannot_be_keyed_is_refused_5_8_naming_it(server, case, document, path):
    for reading in document.iter(f"{{{MR_NS}}}timeStamp"):
        if not reading.text:
            reading.getparent().remove(reading)
    reply = create(server, document)
    assert reply.reply.result == "FAILED", case
    assert reply.reply.errors[0].code == "5.8" and reply.reply.errors[0].details == f"at {path}", reply.reply.errors
    assert create(server, meter_readings(new_meter(), None, [(KWH, T[0], "1")])).reply.result == "OK"  # control


def test_a_query_by_group_is_refused_rather_than_answered_too_widely(server, two_meters):
    reply = get(server, get_query(groups=["FEEDER-12"]))
    assert reply.reply.result == "FAILED" and reply.reply.errors[0].code == "5.7"
    assert "EndDeviceGroup" in reply.reply.errors[0].reason and reply.payload is None


def test_readings_are_deleted_by_payload_and_by_meter(server):
    meter = new_meter()
    create(server, meter_readings(meter, None, [(KWH, t, "1") for t in T]))
    gone = _send(server, "delete", m.RequestMessage(header("delete", "MeterReadings"), None, m.Payload(
        documents=[meter_readings(meter, None, [(KWH, T[0], "1")])])))
    assert gone.reply.result == "OK" and len(stored_keys(server, meter)) == 3
    by_meter = _send(server, "delete", m.RequestMessage(header("delete", "MeterReadings"),
                                                        m.Request(ids=[m.ID(meter, kind="other", id_type="Meter")])))
    assert by_meter.reply.result == "OK" and stored_keys(server, meter) == []


def test_a_created_event_mirrors_readings_the_same_way(server):
    meter = new_meter()
    event = m.EventMessage(header("created", "MeterReadings"),
                           m.Payload(documents=[meter_readings(meter, None, [(KWH, T[0], "5")])]))
    for _ in range(2):
        event.header.message_id = str(uuid.uuid4())
        resp = server.post("ReceiveMeterReadings", typed_envelope("CreatedMeterReadings", "MeterReadings", event))
        assert response_message(resp).reply.result == "OK"
    assert len(stored_keys(server, meter)) == 1


def test_every_answer_validates_under_our_profile(server, two_meters):
    got = get(server, get_query(meters=[two_meters["A"]], window=(T[0], T[1])))
    assert validate_documents("MeterReadings", got.payload.documents) == []


# ---------------------------------------------------------------- MeasurementValues (I9, signed)


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory):
    test_pki = pki.init(tmp_path_factory.mktemp("pki"))
    proc = start_server(tmp_path_factory.mktemp("telemetry"), extra_args=[
        "--server-key", str(test_pki.server.key), "--server-cert", str(test_pki.server.cert),
        "--trust-ca", str(test_pki.ca.cert)])
    client = Client(f"{proc.url}/soap/ReceiveMeasurementValues", f"{proc.url}/soap/GetMeasurementValues",
                    source="MDMS", signing_key=SigningKey.load(test_pki.mdms.key, test_pki.mdms.cert),
                    trust=TrustStore.from_ca_bundle(test_pki.ca.cert))
    yield proc, client
    proc.stop()


def analog_value(analog: str, time: str, value: str) -> etree._Element:
    return etree.fromstring(f"""<MeasurementValues xmlns="{MV_NS}"><MeasurementValue>
        <timeStamp>{time}</timeStamp><AnalogValue><value>{value}</value><Analog><mRID>{analog}</mRID></Analog>
        </AnalogValue></MeasurementValue></MeasurementValues>""".encode())


def test_telemetry_without_mrid_is_kept_per_measurement_and_time(signed_server):
    proc, client = signed_server
    analog = f"ANALOG-{uuid.uuid4()}"
    assert client.publish("created", "MeasurementValues", analog_value(analog, T[0], "11.5"), source="MDMS").result == "OK"
    assert client.publish("changed", "MeasurementValues", analog_value(analog, T[0], "11.7"), source="MDMS").result == "OK"
    assert client.publish("created", "MeasurementValues", analog_value(analog, T[1], "12.0"), source="MDMS").result == "OK"
    query = etree.Element("{http://iec.ch/TC57/2011/GetMeasurementValues#}GetMeasurementValues")
    etree.SubElement(etree.SubElement(query, "{http://iec.ch/TC57/2011/GetMeasurementValues#}Analog"),
                     "{http://iec.ch/TC57/2011/GetMeasurementValues#}mRID").text = analog
    got = client.get("MeasurementValues", query=query, source="MDMS")
    found = [(v.findtext(f"{{{MV_NS}}}timeStamp"), v.findtext(f"{{{MV_NS}}}AnalogValue/{{{MV_NS}}}value"))
             for doc in got.payload for v in doc.findall(f"{{{MV_NS}}}MeasurementValue")]
    assert found == [(T[0], "11.7"), (T[1], "12.0")]  # the change replaced the first value
