"""Event/action: a meter's last gasp opens an OutageRecord, its restoration closes it (over real HTTP)."""
from __future__ import annotations

import pytest
from lxml import etree

from soapbus import message as m
from soapbus.bus.rules import LAST_GASP, RESTORED, Rule, RuleEngine
from soapbus.client import Client
from soapbus.message import namespaces
from soapbus.store import Store

from .helpers import start_server

EDE = namespaces.profile_ns("EndDeviceEvents")
OUT = namespaces.profile_ns("OutageRecords")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = start_server(tmp_path_factory.mktemp("rules"), extra_args=["--rules", "outage"])  # off unless asked for
    yield proc
    proc.stop()


def events(*specs) -> etree._Element:
    """specs: (event type, meter mRID, created) triples."""
    doc = etree.Element(f"{{{EDE}}}EndDeviceEvents", nsmap={None: EDE})
    for event_type, meter, created in specs:
        ev = etree.SubElement(doc, f"{{{EDE}}}EndDeviceEvent")
        etree.SubElement(ev, f"{{{EDE}}}mRID").text = m.new_message_id()
        etree.SubElement(ev, f"{{{EDE}}}createdDateTime").text = created
        etree.SubElement(etree.SubElement(ev, f"{{{EDE}}}Assets"), f"{{{EDE}}}mRID").text = meter
        etree.SubElement(ev, f"{{{EDE}}}EndDeviceEventType").set("ref", event_type)
    return doc


def records(server, meter):
    store = Store(server.database_url)
    try:
        with store.unit_of_work() as uow:
            rows = uow.object_find_by_name("OutageRecords", meter, "EndDevice")
            return [(row.status, etree.fromstring(row.xml)) for row in rows]
    finally:
        store.close()


def status_value(record):
    return record.findtext(f"{{{OUT}}}status/{{{OUT}}}value")


@pytest.fixture
def head_end(server):
    return Client(f"{server.url}/soap/ReceiveEndDeviceEvents", source="HES")


def test_last_gasp_opens_and_restoration_closes(server, head_end):
    meter = f"METER-{m.new_message_id()[:8]}"
    head_end.publish("created", "EndDeviceEvents", events((LAST_GASP, meter, "2026-11-26T10:00:00Z")))
    [(status, record)] = records(server, meter)
    assert status == "active" and status_value(record) == "open"
    assert record.findtext(f"{{{OUT}}}actualPeriod/{{{OUT}}}start") == "2026-11-26T10:00:00Z"
    head_end.publish("created", "EndDeviceEvents", events((RESTORED, meter, "2026-11-26T10:42:00Z")))
    [(status, record)] = records(server, meter)
    assert status == "closed" and status_value(record) == "closed"
    assert record.findtext(f"{{{OUT}}}actualPeriod/{{{OUT}}}end") == "2026-11-26T10:42:00Z"
    assert [r.get("ref") for r in record.iter(f"{{{OUT}}}EndDeviceEventType")] == [LAST_GASP, RESTORED]


def test_repeated_last_gasp_keeps_one_open_record_and_a_new_outage_gets_a_new_one(server, head_end):
    meter = f"METER-{m.new_message_id()[:8]}"
    head_end.publish("created", "EndDeviceEvents", events((LAST_GASP, meter, "2026-11-26T11:00:00Z")))
    head_end.publish("created", "EndDeviceEvents", events((LAST_GASP, meter, "2026-11-26T11:00:05Z")))
    assert [status_value(r) for _, r in records(server, meter)] == ["open"]
    head_end.publish("created", "EndDeviceEvents", events((RESTORED, meter, "2026-11-26T11:30:00Z")))
    head_end.publish("created", "EndDeviceEvents", events((LAST_GASP, meter, "2026-11-26T12:00:00Z")))
    assert sorted(status_value(r) for _, r in records(server, meter)) == ["closed", "open"]


def test_nested_and_partial_restoration(server, head_end):
    """Three meters go down in one message; two come back, then the third."""
    a, b, c = (f"M{i}-{m.new_message_id()[:6]}" for i in range(3))
    t0 = "2026-11-26T13:00:00Z"
    head_end.publish("created", "EndDeviceEvents", events((LAST_GASP, a, t0), (LAST_GASP, b, t0), (LAST_GASP, c, t0)))
    head_end.publish("created", "EndDeviceEvents", events((RESTORED, a, "2026-11-26T13:10:00Z"),
                                                          (RESTORED, b, "2026-11-26T13:10:00Z")))
    assert [status_value(r) for _, r in records(server, a) + records(server, b)] == ["closed", "closed"]
    assert [status_value(r) for _, r in records(server, c)] == ["open"]
    head_end.publish("created", "EndDeviceEvents", events((RESTORED, c, "2026-11-26T13:20:00Z")))
    assert [status_value(r) for _, r in records(server, c)] == ["closed"]


def test_restoration_without_an_outage_changes_nothing(server, head_end):
    meter = f"METER-{m.new_message_id()[:8]}"
    head_end.publish("created", "EndDeviceEvents", events((RESTORED, meter, "2026-11-26T14:00:00Z")))
    assert records(server, meter) == []


def test_outage_record_is_readable_through_the_i6_service(server, head_end):
    meter = f"METER-{m.new_message_id()[:8]}"
    head_end.publish("created", "EndDeviceEvents", events((LAST_GASP, meter, "2026-11-26T15:00:00Z")))
    [(_, record)] = records(server, meter)
    mrid = record.findtext(f"{{{OUT}}}mRID")
    got = Client(f"{server.url}/soap/GetOutageRecords").get("OutageRecords", mrid)
    assert got.data[0]["OutageRecord"][0]["EndDevices"][0]["mRID"] == meter


def test_a_rule_naming_an_unknown_action_is_refused():
    with pytest.raises(ValueError, match="unknown action"):
        RuleEngine([Rule("x", "created", "EndDeviceEvents", "true()", "no_such_action")])
