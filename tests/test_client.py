"""The zeep-based client SDK against a real soapbus server over loopback HTTP."""
from __future__ import annotations

import http.server
import threading

import pytest
from lxml import etree

from soapbus import message as m
from soapbus.client import Client, FailedReply, NotOffered, SoapFaultError, TransportError, to_data
from soapbus.client import client as client_module
from soapbus.profiles import wsdl_dir

from .helpers import MR_NS, meter_readings, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = start_server(tmp_path_factory.mktemp("client"))
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def typed(server):
    return Client(*(f"{server.url}/soap/{role}MeterReadings" for role in ("Execute", "Get", "Receive")),
                  source="MDMS")


@pytest.fixture(scope="module")
def generic(server):
    return Client(f"{server.url}/wsdl/Operations.wsdl", source="CIS")


def test_create_get_change_delete_with_typed_wsdls(typed):
    mrid = m.new_message_id()
    created = typed.create("MeterReadings", meter_readings(mrid))
    assert created.result == "OK" and created.errors[0].code == "0.0"
    got = typed.get("MeterReadings", mrid)
    assert got.result == "OK"
    assert got.payload[0].tag == f"{{{MR_NS}}}MeterReadings"
    assert got.data[0]["MeterReading"][0]["mRID"] == mrid
    typed.change("MeterReadings", meter_readings(mrid, value="7.5"))
    assert typed.get("MeterReadings", mrid).data[0]["MeterReading"][0]["Readings"][0]["value"] == "7.5"
    typed.delete("MeterReadings", mrid)
    with pytest.raises(FailedReply) as failed:
        typed.get("MeterReadings", mrid)
    assert failed.value.codes == ["2.4"]


def test_generic_wsdl_serves_every_noun(generic):
    mrid = m.new_message_id()
    assert generic.create("MeterReadings", etree.tostring(meter_readings(mrid))).result == "OK"
    assert generic.get("MeterReadings", mrid).data[0]["MeterReading"][0]["mRID"] == mrid


def test_correlation_id_is_echoed(typed):
    result = typed.get("MeterReadings", correlation_id="conversation-42")
    assert result.correlation_id == "conversation-42"


def test_compressed_payload_round_trip(typed):
    mrid = m.new_message_id()
    assert typed.create("MeterReadings", meter_readings(mrid), compress=True).result == "OK"
    assert typed.get("MeterReadings", mrid).data[0]["MeterReading"][0]["mRID"] == mrid


def test_duplicate_create_raises_failed_reply_with_6_1(typed):
    mrid = m.new_message_id()
    typed.create("MeterReadings", meter_readings(mrid))
    with pytest.raises(FailedReply) as failed:
        typed.create("MeterReadings", meter_readings(mrid))
    assert failed.value.codes == ["6.1"]
    assert "already exists" in str(failed.value)


def test_failed_reply_can_be_returned_instead(server):
    lenient = Client(f"{server.url}/soap/GetMeterReadings", raise_on_failed=False)
    result = lenient.get("MeterReadings", "no-such-reading")
    assert result.result == "FAILED" and result.errors[0].code == "2.4"


def test_publish_event(typed):
    mrid = m.new_message_id()
    assert typed.publish("created", "MeterReadings", meter_readings(mrid)).result == "OK"
    assert typed.get("MeterReadings", mrid).result == "OK"


def test_operation_not_offered(server):
    only_get = Client(f"{server.url}/soap/GetMeterReadings")
    with pytest.raises(NotOffered):
        only_get.create("MeterReadings", meter_readings("x"))


def test_soap_fault_raises_with_the_61968_code(typed, monkeypatch):
    # a body element the endpoint does not offer: refused with a SOAP fault carrying a FaultMessage
    monkeypatch.setattr(client_module, "_carrier", lambda msg, target: etree.Element(
        "{http://iec.ch/TC57/2011/MeterReadingsMessage}NoSuchOperation"))
    with pytest.raises(SoapFaultError) as fault:
        typed.create("MeterReadings", meter_readings("x"))
    assert fault.value.code == "soapenv:Client" and fault.value.reply_code == "2.9"


def test_unreachable_endpoint_is_a_transport_error(tmp_path):
    # a checked-in WSDL pointing at a port nobody listens on
    text = (wsdl_dir() / "GetMeterReadings.wsdl").read_text()
    import re

    text = re.sub(r'location="[^"]+"', 'location="http://127.0.0.1:9/soap/GetMeterReadings"', text)
    copy = tmp_path / "wsdl" / "GetMeterReadings.wsdl"
    copy.parent.mkdir()
    copy.write_text(text)
    (tmp_path / "xsd").symlink_to(wsdl_dir().parent / "xsd")
    with pytest.raises(TransportError) as err:
        Client(str(copy)).get("MeterReadings", "x")
    assert "cannot reach http://127.0.0.1:9" in str(err.value)


def test_non_soap_answer_is_a_transport_error(tmp_path, server):
    class Html(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b"<html>maintenance</html>"
            self.send_response(503)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Html)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        c = Client(f"{server.url}/soap/GetMeterReadings")
        target = c.target_for("get", "MeterReadings")
        target.address = f"http://127.0.0.1:{httpd.server_port}/"
        with pytest.raises(TransportError) as err:
            c.get("MeterReadings", "x")
        assert err.value.status == 503 and "text/html" in str(err.value)
    finally:
        httpd.shutdown()


def test_parsed_wsdls_are_cached(server):
    before = len(client_module._clients)
    Client(f"{server.url}/soap/GetEndDeviceEvents")
    Client(f"{server.url}/soap/GetEndDeviceEvents")
    assert len(client_module._clients) == before + 1


def test_to_data_keeps_repeats_and_attributes():
    doc = meter_readings("a", "b")
    data = to_data(doc)
    assert [mr["mRID"] for mr in data["MeterReading"]] == ["a", "b"]
    assert data["MeterReading"][0]["Readings"]["ReadingType"]["@ref"].startswith("0.0.0")
