"""Discovery (soapbus.client.discovery): WSDLs in shapes soapbus did not write, read by the SDK and the harness alike.

Unit tests read WSDL documents written here (tests/discovery_wsdls.py) and the public 61968 templates,
and assert exactly what was discovered; live tests call tiny vendors over real loopback HTTP.
"""
from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner
from lxml import etree

from soapbus import message as m
from soapbus.cli import cli
from soapbus.client import Client, DiscoveryError, NotOffered, SoapFaultError, discover
from soapbus.client.discovery import name_operation
from soapbus.client.documents import schema_dirs
from soapbus.conformance.errors import TargetError
from soapbus.conformance.targets import Targets
from soapbus.message import namespaces, shapes, soap

from .discovery_wsdls import (DER_MESSAGE_NS, DER_PAYLOAD_NS, DER_TNS, DER_VERBS, INTEROP_ADDRESS, INTEROP_MSG,
                              INTEROP_NS, MR_NS, MSG, SOAP12, VENDOR_MESSAGES_NS, VENDOR_MESSAGES_XSD, Vendor,
                              der_answer, der_wsdl, importing_wsdl, interop_answer, interop_wsdl, rpc_wsdl,
                              soap12_wsdl)
from .helpers import meter_readings


def _request(verb: str, noun: str) -> m.RequestMessage:
    return m.RequestMessage(m.Header(verb, noun, timestamp=m.now(), message_id=str(uuid.uuid4()), source="T"))


def _write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _summary(discovery) -> set[tuple]:
    return {(op.verb, op.noun, op.kind, op.style, op.name, op.input_element, op.output_element, op.soap_action,
             op.soap_version, op.layout) for op in discovery.operations}


# ---------------------------------------------------------------- naming conventions


@pytest.mark.parametrize("operation, element, nouns, expected", [
    ("CreateDERGroups", "CreateDERGroups", (), ("create", "DERGroups", "request", False)),
    ("createDERGroups", "createDERGroups", (), ("create", "DERGroups", "request", False)),
    ("QueryDERGroups", "QueryDERGroups", (), ("get", "DERGroups", "request", False)),
    ("UpdateMeterReadings", "UpdateMeterReadings", (), ("change", "MeterReadings", "request", False)),
    ("CancelMeterReadings", "CancelMeterReadings", (), ("cancel", "MeterReadings", "request", False)),
    ("GetMeterReadings", "MeterReadingsRequestMessage", (), ("get", "MeterReadings", "request", False)),
    ("GetWorkRequests", "GetWorkRequestsRequestMessage", (), ("get", "WorkRequests", "request", False)),
    ("ExecuteWorkRequestsOperationSet", "ExecuteWorkRequestsOperationSet", (),
     ("execute", "WorkRequests", "request", False)),
    ("CreatedEndDeviceEvents", "CreatedEndDeviceEvents", (), ("created", "EndDeviceEvents", "event", False)),
    ("CreateDemandResponseEvents", "CreateDemandResponseEvents", (),  # not "created" + "emandResponseEvents"
     ("create", "DemandResponseEvents", "request", False)),
    ("createdergroups", "createdergroups", ("DERGroups",), ("create", "DERGroups", "request", False)),
    ("Create", "Create", ("DERGroups",), ("create", "DERGroups", "request", False)),  # the noun only in the schema
    ("CreateMeterReadings", "RequestMessage", (), ("create", "MeterReadings", "request", False)),
    ("ReceiveMeterReadings", "MeterReadingsEventMessage", (), (None, "MeterReadings", "event", False)),
    ("ReceiveMeterReadings", "EventMessage", (), (None, "MeterReadings", "event", False)),
    ("Request", "RequestMessage", (), (None, None, "request", True)),
    ("Request", "Request", (), (None, None, "request", True)),
    ("PublishEvent", "EventMessage", (), (None, None, "event", True)),
    ("Response", "ResponseMessage", (), (None, None, "response", True)),
])
def test_operations_are_named_by_operation_and_input_element(operation, element, nouns, expected):
    found = name_operation(operation, element, nouns)
    assert (found.verb, found.noun, found.kind, found.generic) == expected


def test_an_operation_naming_no_verb_and_noun_is_not_61968():
    assert name_operation("Ping", "Ping", ()) is None
    assert name_operation("GetVersion", "GetVersion", ()) is not None  # a positive control: Get<X> is a get


# ---------------------------------------------------------------- foreign WSDLs, read exactly


def test_a_spyne_style_vendor_wsdl_is_read_with_its_namespaces_and_upper_case_verbs(tmp_path):
    found = discover([_write(tmp_path, "der.wsdl", der_wsdl("http://der.example.org:8008/der"))])
    t = f"{{{DER_TNS}}}"
    assert _summary(found) == {
        ("create", "DERGroups", "request", "typed", "CreateDERGroups", f"{t}CreateDERGroups",
         f"{t}CreateDERGroupsResponse", "CreateDERGroups", "1.1", "bare"),
        ("change", "DERGroups", "request", "typed", "ChangeDERGroups", f"{t}ChangeDERGroups",
         f"{t}ChangeDERGroupsResponse", "ChangeDERGroups", "1.1", "bare"),
        ("get", "DERGroups", "request", "typed", "QueryDERGroups", f"{t}QueryDERGroups",
         f"{t}QueryDERGroupsResponse", "QueryDERGroups", "1.1", "bare"),
        ("delete", "DERGroups", "request", "typed", "deleteDERGroups", f"{t}deleteDERGroups",
         f"{t}deleteDERGroupsResponse", "deleteDERGroups", "1.1", "bare"),
    }
    assert found.nouns == ("DERGroups",)
    assert found.message_namespaces == (DER_MESSAGE_NS,) and found.part_namespaces == (DER_TNS,)
    create = found.find("create", "DERGroups")
    assert create.shape.verbs == DER_VERBS and create.shape.nouns == ()
    assert create.shape.namespaces == (("Header", DER_TNS), ("Header/Verb", DER_MESSAGE_NS),
                                       ("Payload/Format", DER_PAYLOAD_NS))
    assert {op.address for op in found.operations} == {"http://der.example.org:8008/der"}
    assert found.targets[0].ignored == ()


def test_the_harness_routes_a_vendor_message_in_the_vendors_shape(tmp_path):
    targets = Targets([_write(tmp_path, "der.wsdl", der_wsdl("http://der.example.org:8008/der"))])
    assert targets.offers("create", "DERGroups") and targets.offers("get", "dergroups")
    assert not targets.offers("cancel", "DERGroups")  # the vendor offers its own operations, not cancel
    assert targets.typed_nouns() == {"DERGroups"} and targets.generic == {}
    msg = _request("create", "DERGroups")
    msg.payload = m.Payload(documents=[etree.fromstring(f"<DERGroups xmlns='{DER_PAYLOAD_NS}'/>")], format="XML")
    body = targets.route("create", "DERGroups").carrier(msg)
    assert body.tag == f"{{{DER_TNS}}}CreateDERGroups"
    assert [c.tag for c in body] == [f"{{{DER_TNS}}}Header", f"{{{DER_TNS}}}Payload"]
    assert body.findtext(f"{{{DER_TNS}}}Header/{{{DER_MESSAGE_NS}}}Verb") == "CREATE"  # the vendor's spelling
    assert body.findtext(f"{{{DER_TNS}}}Header/{{{DER_MESSAGE_NS}}}Noun") == "DERGroups"
    assert body.findtext(f"{{{DER_TNS}}}Payload/{{{DER_PAYLOAD_NS}}}Format") == "XML"
    assert body.find(f"{{{DER_TNS}}}Payload/{{{DER_PAYLOAD_NS}}}DERGroups") is not None
    assert b"iec.ch" not in etree.tostring(body)


def test_the_2011_interop_shape_and_an_endpoint_instead_of_its_address(tmp_path):
    wsdl = _write(tmp_path, "GetMeterReadings.wsdl", interop_wsdl())
    as_written = discover([wsdl])
    assert _summary(as_written) == {
        ("get", "MeterReadings", "request", "typed", "GetMeterReadings", f"{{{INTEROP_NS}}}MeterReadingsRequestMessage",
         f"{{{INTEROP_NS}}}MeterReadingsResponseMessage", "http://www.iec.ch/TC57/2011/GetMeterReadings", "1.1", "bare")}
    op = as_written.operations[0]
    assert op.address == INTEROP_ADDRESS
    assert op.shape.namespaces == (("Header", INTEROP_NS), ("Header/Verb", INTEROP_MSG))
    assert op.shape.verbs == ("get", "reply", "create", "created")
    moved = discover([wsdl], endpoints="http://127.0.0.1:8099/mdms")
    assert [o.address for o in moved.operations] == ["http://127.0.0.1:8099/mdms"]
    assert Targets([wsdl], endpoints=["http://127.0.0.1:8099/mdms"]).route("get", "MeterReadings").address == \
        "http://127.0.0.1:8099/mdms"
    with pytest.raises(DiscoveryError, match="2 endpoints for 1 targets"):
        discover([wsdl], endpoints=["http://a/", "http://b/"])


def test_a_soap12_binding_is_read_and_sent_as_soap12(tmp_path):
    found = discover([_write(tmp_path, "mr12.wsdl", soap12_wsdl("http://127.0.0.1:8099/mr12"))])
    op = found.find("create", "MeterReadings")
    assert (op.soap_version, op.soap_action, op.address) == ("1.2", "urn:vendor:mr12:CreateMeterReadings",
                                                             "http://127.0.0.1:8099/mr12")
    assert op.shape.namespaces == (("Header", MR_NS), ("Header/Verb", MSG))
    route = Targets([str(tmp_path / "mr12.wsdl")]).route("create", "MeterReadings")
    assert route.soap_version == "1.2"
    env = soap.envelope(route.carrier(_request("create", "MeterReadings")), version=route.soap_version)
    assert env.tag == f"{{{SOAP12}}}Envelope" and env[0].tag == f"{{{SOAP12}}}Body"
    assert soap.http_headers(op.soap_action, "1.2") == {
        "Content-Type": 'application/soap+xml; charset=utf-8; action="urn:vendor:mr12:CreateMeterReadings"'}


def test_an_rpc_binding_carries_the_message_in_its_part_accessor(tmp_path):
    found = discover([_write(tmp_path, "rpc.wsdl", rpc_wsdl("http://127.0.0.1:8099/rpc"))])
    op = found.find("create", "MeterReadings")
    assert (op.input_element, op.layout, op.shape.inner) == ("{urn:vendor:rpc}CreateMeterReadings", "wrapped", "message")
    body = shapes.build(_request("create", "MeterReadings"), op.shape)
    assert [body.tag, body[0].tag, body[0][0].tag] == ["{urn:vendor:rpc}CreateMeterReadings", "message",
                                                       f"{{{MSG}}}Header"]


def test_an_unresolvable_import_is_one_line_naming_it_and_a_schema_folder_supplies_it(tmp_path):
    wsdl = _write(tmp_path, "imports.wsdl", importing_wsdl("http://127.0.0.1:9/schemas/VendorMessage.xsd"))
    with pytest.raises(DiscoveryError) as refused:
        discover([wsdl])
    text = str(refused.value)
    assert "\n" not in text and "Traceback" not in text
    for part in (VENDOR_MESSAGES_NS, "http://127.0.0.1:9/schemas/VendorMessage.xsd", wsdl, "--schema DIR",
                 "connection failed"):
        assert part in text, text
    folder = tmp_path / "schemas"
    folder.mkdir()
    (folder / "vendor-messages.xsd").write_text(VENDOR_MESSAGES_XSD)  # found by its targetNamespace, not its name
    found = discover([wsdl], schema_dirs=[str(folder)])
    op = found.find("create", "MeterReadings")
    assert op.input_element == f"{{{VENDOR_MESSAGES_NS}}}CreateMeterReadings"
    assert op.shape.verbs == ("Create", "Reply") and op.shape.message_namespace == VENDOR_MESSAGES_NS
    assert any("vendor-messages.xsd" in d for d in found.targets[0].documents)  # the report says where it came from
    body = shapes.build(_request("create", "MeterReadings"), op.shape)
    assert body.findtext(f"{{{VENDOR_MESSAGES_NS}}}Header/{{{VENDOR_MESSAGES_NS}}}Verb") == "Create"


def test_a_namespace_only_import_is_resolved_from_a_schema_folder(tmp_path):
    wsdl = _write(tmp_path, "imports.wsdl", importing_wsdl(None))
    with pytest.raises(DiscoveryError, match=f"namespace {VENDOR_MESSAGES_NS} at \\(no schemaLocation\\)"):
        discover([wsdl])
    folder = tmp_path / "schemas"
    folder.mkdir()
    (folder / "VendorMessage.xsd").write_text(VENDOR_MESSAGES_XSD)
    assert discover([wsdl], schema_dirs=[str(folder)]).nouns == ("MeterReadings",)
    assert schema_dirs((str(folder),)).find(None, "http://elsewhere/x/VendorMessage.xsd") == \
        (folder / "VendorMessage.xsd").resolve()  # and by file name, where no namespace is known


def test_the_harness_refuses_a_target_it_cannot_read_in_one_line(tmp_path):
    wsdl = _write(tmp_path, "imports.wsdl", importing_wsdl("missing/VendorMessage.xsd"))
    with pytest.raises(TargetError) as refused:
        Targets([wsdl])
    assert "\n" not in str(refused.value) and f"target {wsdl}:" in str(refused.value)
    assert "missing/VendorMessage.xsd" in str(refused.value) and "no such file" in str(refused.value)
    folder = tmp_path / "xsd"
    folder.mkdir()
    (folder / "VendorMessage.xsd").write_text(VENDOR_MESSAGES_XSD)
    assert Targets([wsdl], schema_dirs=[str(folder)]).offers("create", "MeterReadings")
    with pytest.raises(TargetError, match="cannot fetch the WSDL http://127.0.0.1:9/soap/Nothing\\?wsdl"):
        Targets(["http://127.0.0.1:9/soap/Nothing"])


def test_the_public_templates_are_read_exactly(public_dir, tmp_path):
    templates, wr = public_dir / "wsdl-templates", public_dir / "profiles-61968-6-2015"
    ns = "http://iec.ch/TC57/2015/"

    def filled(name: str, role: str, message_xsd: str, message_name: str) -> str:
        def fill(text: str) -> str:
            return (text.replace("{Information_Object_Name}", "WorkRequests").replace("{Request | Execute}", role)
                    .replace("{Send | Receive | Reply}", role))
        folder = tmp_path / name.split("_")[0]
        (folder / "xsd").mkdir(parents=True)
        (folder / "xsd" / message_name).write_text(fill((templates / message_xsd).read_text(encoding="utf-8-sig")))
        (folder / "xsd" / "Message.xsd").write_text(
            (public_dir / "envelope" / "Message_2011_ed1_FDIS.xsd").read_text(encoding="utf-8-sig"))
        for profile in ("WorkRequests.xsd", "GetWorkRequests.xsd"):
            (folder / "xsd" / profile).write_text((wr / profile).read_text(encoding="utf-8-sig"))
        return _write(folder, f"{role}WorkRequests.wsdl", fill((templates / name).read_text(encoding="utf-8-sig")))

    wsdls = [filled("Request_Execute_WSDL_Template.wsdl", "Execute",
                    "Send_Receive_Reply_Request_Execute_MessageTemplate.xsd", "WorkRequestsMessage.xsd"),
             filled("Get_WSDL_Template.wsdl", "Get", "Get_Reply_Message_Template.xsd", "GetWorkRequestsMessage.xsd"),
             filled("Send_Receive_Reply_WSDL_Template.wsdl", "Receive",
                    "Send_Receive_Reply_Request_Execute_MessageTemplate.xsd", "WorkRequestsMessage.xsd"),
             filled("ExecuteOperationSet_WSDL_Template.wsdl", "Execute", "ExecuteOperationSetMessageTemplate.xsd",
                    "WorkRequestsOperationSetMessage.xsd")]
    found = discover(wsdls, endpoints="http://127.0.0.1:8099/wr")
    wrm, get, opset = f"{ns}WorkRequestsMessage", f"{ns}GetWorkRequestsMessage", f"{ns}WorkRequestsOperationSetMessage"
    typed = {(verb, f"{verb.capitalize()}WorkRequests", f"{{{wrm}}}{verb.capitalize()}WorkRequests",
              f"{ns}WorkRequests/{verb.capitalize()}WorkRequests")
             for verb in ("create", "change", "cancel", "close", "delete", "created", "changed", "canceled", "closed",
                          "deleted")}
    typed |= {("get", "GetWorkRequests", f"{{{get}}}GetWorkRequestsRequestMessage",
               f"{ns}GetWorkRequests/GetWorkRequests"),
              ("execute", "ExecuteWorkRequestsOperationSet", f"{{{opset}}}ExecuteWorkRequestsOperationSet",
               f"{ns}WorkRequestsOperationSet/ExecuteWorkRequestsOperationSet")}
    assert {(op.verb, op.name, op.input_element, op.soap_action) for op in found.operations} == typed
    assert found.nouns == ("WorkRequests",) and found.message_namespaces == (MSG,)
    assert found.part_namespaces == (get, wrm, opset)
    assert {op.address for op in found.operations} == {"http://127.0.0.1:8099/wr"}
    assert all(op.style == "typed" and op.layout == "bare" and op.soap_version == "1.1" for op in found.operations)
    # the templates declare Payload's own fields locally, in the per-noun namespace, and Get's Request fields too
    assert found.find("create", "WorkRequests").shape.namespaces == (
        ("Header", wrm), ("Header/Verb", MSG), ("Payload/OperationSet", wrm), ("Payload/Compressed", wrm),
        ("Payload/Format", wrm))
    assert found.find("get", "WorkRequests").shape.namespaces == (
        ("Header", get), ("Header/Verb", MSG), ("Request/StartTime", get), ("Request/EndTime", get),
        ("Request/Option", get), ("Request/ID", get))
    assert found.find("created", "WorkRequests").shape.verbs[:3] == ("cancel", "canceled", "change")


def test_standard_reads_every_shape_back_to_the_standard_namespace():
    spyne = soap.unwrap(der_answer("CreateDERGroups", "c-1")).operation
    read = m.parse(shapes.standard(spyne), "ResponseMessage")
    assert (read.header.verb, read.header.correlation_id, read.reply.result) == ("REPLY", "c-1", "OK")
    assert [e.code for e in read.reply.errors] == ["0.0"]
    interop = m.parse(shapes.standard(soap.unwrap(interop_answer("c-2", "meter-1")).operation), "ResponseMessage")
    assert interop.payload.format == "XML"  # Payload/Format in the per-noun namespace is the Format, not a document
    assert [etree.QName(d).localname for d in interop.payload.documents] == ["MeterReadings"]
    plain = m.to_element(m.ResponseMessage(m.Header("reply", "X"), m.ok()))
    assert shapes.standard(plain) is plain  # already standard: read as it is, not copied


# ---------------------------------------------------------------- live calls over loopback HTTP


@pytest.fixture
def der_vendor():
    def answer(path, headers, body):
        operation = soap.unwrap(body).operation
        message_id = operation.findtext(f"{{{DER_TNS}}}Header/{{{DER_MESSAGE_NS}}}MessageID")
        return 200, "text/xml; charset=utf-8", der_answer(etree.QName(operation).localname, message_id)

    vendor = Vendor(answer)
    vendor.documents["/der?wsdl"] = der_wsdl(f"{vendor.url}/der").encode()
    yield vendor
    vendor.stop()


def test_the_client_creates_and_queries_through_a_vendors_own_operations(der_vendor):
    client = Client(f"{der_vendor.url}/der", source="DERMS")
    payload = etree.fromstring(f"<DERGroups xmlns='{DER_PAYLOAD_NS}'><EndDeviceGroup/></DERGroups>")
    created = client.create("DERGroups", payload)
    assert created.result == "OK" and [e.code for e in created.errors] == ["0.0"]
    assert created.message.header.verb == "REPLY" and created.correlation_id  # the vendor's answer, parsed
    got = client.get("DERGroups", "group-1")
    assert got.result == "OK"
    (create_path, create_headers, create_body), (_, get_headers, get_body) = der_vendor.received
    assert create_path == "/der" and create_headers["SOAPAction"] == '"CreateDERGroups"'
    sent = soap.unwrap(create_body).operation
    assert sent.tag == f"{{{DER_TNS}}}CreateDERGroups"
    assert sent.findtext(f"{{{DER_TNS}}}Header/{{{DER_MESSAGE_NS}}}Verb") == "CREATE"
    assert sent.findtext(f"{{{DER_TNS}}}Header/{{{DER_MESSAGE_NS}}}MessageID") == created.correlation_id
    query = soap.unwrap(get_body).operation
    assert get_headers["SOAPAction"] == '"QueryDERGroups"' and query.tag == f"{{{DER_TNS}}}QueryDERGroups"
    assert query.findtext(f"{{{DER_TNS}}}Header/{{{DER_MESSAGE_NS}}}Verb") == "GET"
    assert query.findtext(f"{{{DER_TNS}}}Request/{{{DER_MESSAGE_NS}}}ID") == "group-1"
    with pytest.raises(NotOffered, match="cancel DERGroups"):
        client.cancel("DERGroups", "group-1")  # not offered by the vendor: refused before anything is sent
    assert len(der_vendor.received) == 2


def test_the_client_gets_meter_readings_from_the_2011_shape_at_another_endpoint(tmp_path):
    vendor = Vendor(lambda path, headers, body: (200, "text/xml; charset=utf-8", interop_answer(
        soap.unwrap(body).operation.findtext(f"{{{INTEROP_NS}}}Header/{{{INTEROP_MSG}}}MessageID"), "meter-7")))
    try:
        wsdl = _write(tmp_path, "GetMeterReadings.wsdl", interop_wsdl())
        assert Client(wsdl).target_for("get", "MeterReadings").address == INTEROP_ADDRESS
        client = Client(wsdl, endpoint=f"{vendor.url}/mdms", source="CIS")
        got = client.get("MeterReadings", "meter-7")
        assert got.result == "OK" and got.data[0]["MeterReading"][0]["Meter"]["mRID"] == "meter-7"
        path, _, body = vendor.received[0]
        sent = soap.unwrap(body).operation
        assert path == "/mdms" and sent.tag == f"{{{INTEROP_NS}}}MeterReadingsRequestMessage"
        assert sent.findtext(f"{{{INTEROP_NS}}}Header/{{{INTEROP_MSG}}}Verb") == "get"
        assert sent.findtext(f"{{{INTEROP_NS}}}Request/{{{INTEROP_MSG}}}ID") == "meter-7"
    finally:
        vendor.stop()


def test_the_client_speaks_soap12_to_a_soap12_binding(tmp_path):
    def answer(path, headers, body):
        env = m.parse_bytes(body)
        request = m.parse(shapes.standard(soap.unwrap_element(env, soap.ANY_VERSION).operation))
        reply = m.reply_to(request.header, m.ok(m.ID("accepted")), source="MR12")
        return 200, "application/soap+xml; charset=utf-8", soap.to_bytes(soap.envelope(m.to_element(reply),
                                                                                     version="1.2"))

    vendor = Vendor(answer)
    try:
        wsdl = _write(tmp_path, "mr12.wsdl", soap12_wsdl(f"{vendor.url}/mr12"))
        client = Client(wsdl, source="MDMS")
        result = client.create("MeterReadings", meter_readings("r-1"))
        assert result.result == "OK" and [i.value for i in result.reply.ids] == ["accepted"]
        _, headers, body = vendor.received[0]
        assert headers["Content-Type"] == 'application/soap+xml; charset=utf-8; action="urn:vendor:mr12:CreateMeterReadings"'
        assert "SOAPAction" not in headers
        assert m.parse_bytes(body).tag == f"{{{SOAP12}}}Envelope"
    finally:
        vendor.stop()


def test_soapbus_call_reads_imports_from_a_schema_folder_and_sends_to_the_endpoint(tmp_path):
    def answer(path, headers, body):
        sent = soap.unwrap(body).operation
        reply = (f'<soapenv:Envelope xmlns:soapenv="{namespaces.SOAP11_ENV}"><soapenv:Body>'
                 f'<vm:MeterReadingsResponseMessage xmlns:vm="{VENDOR_MESSAGES_NS}"><vm:Header><vm:Verb>Reply</vm:Verb>'
                 f'<vm:Noun>MeterReadings</vm:Noun></vm:Header><vm:Reply><vm:Result>OK</vm:Result><vm:Error>'
                 f'<vm:code>0.0</vm:code></vm:Error></vm:Reply></vm:MeterReadingsResponseMessage></soapenv:Body>'
                 f'</soapenv:Envelope>')
        assert sent.findtext(f"{{{VENDOR_MESSAGES_NS}}}Header/{{{VENDOR_MESSAGES_NS}}}Verb") == "Create"
        return 200, "text/xml; charset=utf-8", reply.encode()

    vendor = Vendor(answer)
    try:
        wsdl = _write(tmp_path, "imports.wsdl", importing_wsdl("schemas/VendorMessage.xsd"))
        payload = tmp_path / "readings.xml"
        payload.write_bytes(etree.tostring(meter_readings("r-1")))
        args = ["call", wsdl, "--verb", "create", "--noun", "MeterReadings", "--payload", str(payload),
                "--endpoint", f"{vendor.url}/vendor"]
        refused = CliRunner().invoke(cli, args)
        assert refused.exit_code == 2 and "Traceback" not in refused.output
        assert f"namespace {VENDOR_MESSAGES_NS}" in refused.output and "--schema DIR" in refused.output
        assert vendor.received == []
        folder = tmp_path / "local-xsd"
        folder.mkdir()
        (folder / "messages.xsd").write_text(VENDOR_MESSAGES_XSD)
        done = CliRunner().invoke(cli, [*args, "--schema", str(folder)])
        assert done.exit_code == 0, done.output
        assert "OK (0.0)" in done.output and len(vendor.received) == 1 and vendor.received[0][0] == "/vendor"
    finally:
        vendor.stop()


def test_a_soap12_fault_is_read_as_a_fault(tmp_path):
    def answer(path, headers, body):
        fault = (f'<e:Envelope xmlns:e="{SOAP12}"><e:Body><e:Fault><e:Code><e:Value>e:Sender</e:Value></e:Code>'
                 f'<e:Reason><e:Text xml:lang="en">no such reading</e:Text></e:Reason></e:Fault></e:Body></e:Envelope>')
        return 500, "application/soap+xml; charset=utf-8", fault.encode()

    vendor = Vendor(answer)
    try:
        client = Client(_write(tmp_path, "mr12.wsdl", soap12_wsdl(f"{vendor.url}/mr12")))
        with pytest.raises(SoapFaultError) as fault:
            client.create("MeterReadings", meter_readings("r-1"))
        assert (fault.value.code, fault.value.reason, fault.value.status) == ("e:Sender", "no such reading", 500)
    finally:
        vendor.stop()
