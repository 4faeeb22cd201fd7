"""Every kind of bad input gets its specific answer, is journaled as rejected and changes nothing else."""
from __future__ import annotations

import pytest
from lxml import etree

from soapbus import message as m
from soapbus.message import namespaces, soap
from soapbus.store import Store

from .helpers import MR_NS, fault_of, header, meter_readings, response_message, start_server, typed_envelope

MAX_BODY = 64 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = start_server(tmp_path_factory.mktemp("bad-input"), extra_args=["--max-body", str(MAX_BODY)])
    yield proc
    proc.stop()


@pytest.fixture
def store(server):
    s = Store(server.database_url)
    yield s
    s.close()


def _object_count(store, noun="MeterReadings"):
    with store.unit_of_work() as uow:
        return len(uow.object_list(noun))


def _last_inbound(store):
    return store.journal_list(limit=1, direction="in")[0]


def _create_envelope(**header_fields) -> bytes:
    req = m.RequestMessage(header("create", "MeterReadings", **header_fields), None,
                           m.Payload(documents=[meter_readings(m.new_message_id())]))
    return typed_envelope("CreateMeterReadings", "MeterReadings", req)


def _fault_code_in_detail(fault) -> str:
    reply = m.parse(fault.detail, "FaultMessage").reply
    assert reply.result == "FAILED"
    return reply.errors[0].code


def test_malformed_xml(server, store):
    before = _object_count(store)
    resp = server.post("ExecuteMeterReadings", b"<soapenv:Envelope xmlns:soapenv='x'><unclosed>")
    assert resp.status_code == 500
    fault = fault_of(resp)
    assert fault.code == "soapenv:Client" and "not well-formed" in fault.reason
    assert _fault_code_in_detail(fault) == "1.8"
    entry = _last_inbound(store)
    assert entry.outcome == "rejected" and entry.reply_code == "1.8"
    assert _object_count(store) == before


def test_no_header(server, store):
    ns = namespaces.noun_message_ns("MeterReadings")
    body = etree.Element(f"{{{ns}}}CreateMeterReadings")
    payload = etree.SubElement(body, f"{{{ns}}}Payload")
    payload.append(meter_readings("x"))
    resp = server.post("ExecuteMeterReadings", soap.to_bytes(soap.envelope(body)))
    assert resp.status_code == 500
    assert _fault_code_in_detail(fault_of(resp)) == "1.5"
    assert _last_inbound(store).outcome == "rejected"


def test_unknown_verb(server, store):
    before = _object_count(store)
    body = _create_envelope().replace(b"<m:Verb>create</m:Verb>", b"<m:Verb>launch</m:Verb>")
    reply = response_message(server.post("ExecuteMeterReadings", body))
    assert reply.reply.result == "FAILED" and reply.reply.errors[0].code == "2.9"
    entry = _last_inbound(store)
    assert entry.outcome == "rejected" and entry.reply_code == "2.9"
    assert _object_count(store) == before


def test_unknown_noun(server, store):
    req = m.RequestMessage(header("create", "Transformers"), None, m.Payload(documents=[meter_readings("x")]))
    reply = response_message(server.post("Operations", soap.to_bytes(soap.envelope(m.to_element(req)))))
    assert reply.reply.result == "FAILED" and reply.reply.errors[0].code == "2.5"
    assert "Transformers" in reply.reply.errors[0].reason
    assert _last_inbound(store).reply_code == "2.5"


def test_noun_of_another_endpoint(server, store):
    body = _create_envelope().replace(b"<m:Noun>MeterReadings</m:Noun>", b"<m:Noun>EndDeviceEvents</m:Noun>")
    reply = response_message(server.post("ExecuteMeterReadings", body))
    assert reply.reply.errors[0].code == "2.5"


def test_mandatory_header_field_missing(server, store):
    before = _object_count(store)
    reply = response_message(server.post("ExecuteMeterReadings", _create_envelope(message_id=None)))
    assert reply.reply.result == "FAILED" and reply.reply.errors[0].code == "1.5"
    assert "MessageID" in reply.reply.errors[0].reason
    assert _last_inbound(store).outcome == "rejected"
    assert _object_count(store) == before


def test_payload_invalid_against_profile_names_the_xpath(server, store):
    before = _object_count(store)
    doc = meter_readings("bad-one")
    etree.SubElement(doc[0], f"{{{MR_NS}}}notAProfileField").text = "x"
    req = m.RequestMessage(header("create", "MeterReadings"), None, m.Payload(documents=[doc]))
    reply = response_message(server.post("ExecuteMeterReadings",
                                          typed_envelope("CreateMeterReadings", "MeterReadings", req)))
    error = reply.reply.errors[0]
    assert reply.reply.result == "FAILED" and error.code == "1.8"
    assert "/MeterReadings/MeterReading[1]" in (error.details or "")
    assert error.xpath and error.xpath.endswith("notAProfileField")
    assert _last_inbound(store).reply_code == "1.8"
    assert _object_count(store) == before


def test_payload_missing_for_create(server, store):
    req = m.RequestMessage(header("create", "MeterReadings"))
    reply = response_message(server.post("ExecuteMeterReadings",
                                          typed_envelope("CreateMeterReadings", "MeterReadings", req)))
    assert reply.reply.errors[0].code == "1.7"


def test_body_over_the_size_limit(server, store):
    before = _object_count(store)
    many = meter_readings(*[m.new_message_id() for _ in range(600)])
    req = m.RequestMessage(header("create", "MeterReadings"), None, m.Payload(documents=[many]))
    body = typed_envelope("CreateMeterReadings", "MeterReadings", req)
    assert len(body) > MAX_BODY
    resp = server.post("ExecuteMeterReadings", body)
    assert resp.status_code == 413
    fault = fault_of(resp)
    assert str(MAX_BODY) in fault.reason and _fault_code_in_detail(fault) == "3.1"
    entry = _last_inbound(store)
    assert entry.outcome == "rejected" and entry.reply_code == "3.1"
    assert _object_count(store) == before


def test_oversized_chunked_body(server, store):
    import requests

    chunk = b"<x>" + b"a" * 8192 + b"</x>"

    def chunks():
        for _ in range(2 * MAX_BODY // len(chunk)):
            yield chunk

    resp = requests.post(f"{server.url}/soap/ExecuteMeterReadings", data=chunks(),
                         headers={"Content-Type": "text/xml"}, timeout=30)
    assert resp.status_code == 413
    assert _last_inbound(store).reply_code == "3.1"


def test_wrong_content_type(server, store):
    resp = server.post("ExecuteMeterReadings", _create_envelope(), content_type="application/json")
    assert resp.status_code == 415
    fault = fault_of(resp)
    assert "application/json" in fault.reason and "text/xml" in fault.reason
    assert _last_inbound(store).outcome == "rejected"


def test_operation_not_offered_by_the_endpoint(server, store):
    req = m.RequestMessage(header("create", "MeterReadings"), None, m.Payload(documents=[meter_readings("x")]))
    resp = server.post("GetMeterReadings", typed_envelope("CreateMeterReadings", "MeterReadings", req))
    assert resp.status_code == 500
    fault = fault_of(resp)
    assert "GetMeterReadings" in fault.reason and _fault_code_in_detail(fault) == "2.9"


def test_doctype_is_refused(server, store):
    body = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>' + _create_envelope().split(b"?>", 1)[1]
    resp = server.post("ExecuteMeterReadings", body)
    assert resp.status_code == 500 and "DOCTYPE" in fault_of(resp).reason


def test_put_is_refused(server):
    import requests

    resp = requests.put(f"{server.url}/soap/ExecuteMeterReadings", data=b"x", timeout=10)
    assert resp.status_code == 405 and resp.headers["allow"] == "GET, HEAD, POST"

