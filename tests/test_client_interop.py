"""The client against an endpoint whose WSDL we did not write: the public 61968 template (2015 namespaces)."""
from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from lxml import etree

from soapbus import message as m
from soapbus.client import Client
from soapbus.message import soap

from .helpers import meter_readings

NOUN = "MeterReadings"
VENDOR_NS = f"http://iec.ch/TC57/2015/{NOUN}Message"  # the template's year, not ours


class TemplateVendor:
    """An endpoint built from the public templates: answers Create<Noun> in its own namespace."""

    def __init__(self):
        self.received: list[etree._Element] = []
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                unwrapped = soap.unwrap(body)
                vendor.received.append(unwrapped.operation)
                request = m.parse(unwrapped.message, "RequestMessage")
                answer = m.reply_to(request.header, m.ok(m.ID("vendor-accepted")), source="VENDOR")
                element = m.to_element(answer, wrapper=f"{{{VENDOR_NS}}}{NOUN}ResponseMessage", part_ns=VENDOR_NS)
                data = soap.to_bytes(soap.envelope(element))
                self.send_response(200)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/vendor/ExecuteMeterReadings"


@pytest.fixture
def template_wsdl(public_dir, tmp_path):
    """The public Request/Execute template and its message schema, filled in for MeterReadings."""
    templates = public_dir / "wsdl-templates"
    (tmp_path / "xsd").mkdir()
    wsdl = (templates / "Request_Execute_WSDL_Template.wsdl").read_text(encoding="utf-8-sig")
    wsdl = wsdl.replace("{Information_Object_Name}", NOUN).replace("{Request | Execute}", "Execute")
    message_xsd = (templates / "Send_Receive_Reply_Request_Execute_MessageTemplate.xsd").read_text(encoding="utf-8-sig")
    (tmp_path / "xsd" / f"{NOUN}Message.xsd").write_text(message_xsd.replace("{Information_Object_Name}", NOUN))
    (tmp_path / "xsd" / "Message.xsd").write_text(
        (public_dir / "envelope" / "Message_2011_ed1_FDIS.xsd").read_text(encoding="utf-8-sig"))
    profile = (public_dir / "profiles-61968-9" / f"{NOUN}.xsd").read_text(encoding="utf-8-sig")
    (tmp_path / "xsd" / f"{NOUN}.xsd").write_text(profile.replace("/2011/MeterReadings#", "/2015/MeterReadings#"))
    vendor = TemplateVendor()
    wsdl = re.sub(r'location="[^"]*"', f'location="{vendor.url}"', wsdl)
    path = tmp_path / f"Execute{NOUN}.wsdl"
    path.write_text(wsdl)
    yield path, vendor
    vendor.httpd.shutdown()


def test_client_calls_an_endpoint_described_by_the_public_template(template_wsdl):
    path, vendor = template_wsdl
    client = Client(str(path), source="MDMS")
    target = client.target_for("create", NOUN)
    assert target.input_element == f"{{{VENDOR_NS}}}Create{NOUN}"
    assert target.soap_action == f"http://iec.ch/TC57/2015/{NOUN}/Create{NOUN}"
    result = client.create(NOUN, meter_readings(m.new_message_id()))
    assert result.result == "OK" and [i.value for i in result.reply.ids] == ["vendor-accepted"]
    sent = vendor.received[0]
    assert sent.tag == f"{{{VENDOR_NS}}}Create{NOUN}"  # the vendor's carrier, in the vendor's namespace
    assert sent.find(f"{{{VENDOR_NS}}}Header") is not None  # parts declared locally, as its schema says
