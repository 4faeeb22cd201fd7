"""The generated WSDLs and per-noun message schemas: no drift, stock zeep reads them, the standard's shapes."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urljoin

import pytest
import zeep
from lxml import etree

from soapbus.message import namespaces, parse, soap
from soapbus.profiles import DEFAULT_TRANSACTIONS, GENERIC, NOUNS, services, validate_message, wsdl_dir, xsd_dir
from soapbus.profiles.message_xsd import build_message_xsd, write_message_schemas
from soapbus.profiles.wsdl import DEFAULT_ADDRESS_BASE, build_wsdl, write_all

WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
XS = "http://www.w3.org/2001/XMLSchema"
ALL_SERVICES = services()
SERVICE_IDS = [s.name for s in ALL_SERVICES]
T0 = datetime(2011, 6, 14, 12, tzinfo=timezone.utc)


def checked_in(service) -> Path:
    return wsdl_dir() / f"{service.name}.wsdl"


@pytest.fixture(scope="module")
def zeep_clients() -> dict[str, zeep.Client]:
    return {s.name: zeep.Client(str(checked_in(s))) for s in ALL_SERVICES}


# ---------------------------------------------------------------- drift


@pytest.mark.parametrize("service", ALL_SERVICES, ids=SERVICE_IDS)
def test_checked_in_wsdl_is_what_the_generator_writes(service):
    expected = build_wsdl(service, DEFAULT_ADDRESS_BASE + service.name)
    assert checked_in(service).read_bytes() == expected, "run `python -m soapbus.profiles` and commit wsdl/"


def test_wsdl_directory_holds_one_file_per_service_and_nothing_else():
    assert sorted(p.name for p in wsdl_dir().iterdir()) == sorted(f"{s.name}.wsdl" for s in ALL_SERVICES)


@pytest.mark.parametrize("noun", list(NOUNS.values()), ids=list(NOUNS))
def test_checked_in_message_schema_is_what_the_generator_writes(noun):
    assert (xsd_dir() / noun.message_xsd).read_bytes() == build_message_xsd(noun), \
        "run `python -m soapbus.profiles` and commit xsd/"


def test_writers_produce_every_file_with_the_given_address(tmp_path):
    written = write_all(tmp_path / "wsdl", address_base="https://bus.example/soap/")
    assert sorted(p.name for p in written) == sorted(p.name for p in wsdl_dir().iterdir())
    address = etree.parse(str(tmp_path / "wsdl" / "GetMeterReadings.wsdl")).find(f".//{{{SOAP}}}address")
    assert address.get("location") == "https://bus.example/soap/GetMeterReadings"
    schemas = write_message_schemas(tmp_path / "xsd")
    assert [p.read_bytes() for p in schemas] == [(xsd_dir() / p.name).read_bytes() for p in schemas]


# ---------------------------------------------------------------- schemas and their locations


@pytest.mark.parametrize("path", sorted(xsd_dir().glob("*.xsd")), ids=lambda p: p.name)
def test_every_schema_compiles(path):
    etree.XMLSchema(etree.parse(str(path)))


@pytest.mark.parametrize("service", ALL_SERVICES, ids=SERVICE_IDS)
def test_types_import_the_message_schema_relative_to_the_wsdl(service):
    [schema_import] = etree.parse(str(checked_in(service))).iter(f"{{{XS}}}import")
    assert schema_import.get("namespace") == service.element_ns
    location = schema_import.get("schemaLocation")
    assert location == f"../xsd/{service.message_xsd}"
    assert (wsdl_dir() / location).resolve() == (xsd_dir() / service.message_xsd).resolve()
    served = urljoin(f"http://bus.example:8061/wsdl/{service.name}.wsdl", location)
    assert served == f"http://bus.example:8061/xsd/{service.message_xsd}"


# ---------------------------------------------------------------- what stock zeep sees


@pytest.mark.parametrize("service", ALL_SERVICES, ids=SERVICE_IDS)
def test_zeep_sees_each_operation_with_its_soap_action_and_elements(service, zeep_clients):
    wsdl_service = zeep_clients[service.name].wsdl.services[service.name]
    [port] = wsdl_service.ports.values()
    assert port.binding_options["address"] == DEFAULT_ADDRESS_BASE + service.name
    assert port.binding.port_type.name == etree.QName(service.wsdl_ns, service.port_type)
    operations = port.binding._operations
    assert list(operations) == [op.name for op in service.operations]
    for op in service.operations:
        seen = operations[op.name]
        assert seen.soapaction == op.soap_action
        assert seen.input.body.qname == etree.QName(service.element_ns, op.input_element)
        assert seen.output.body.qname == etree.QName(service.element_ns, service.response_element)
        assert seen.style == "document"


def test_the_generic_service_is_the_abstract_one(zeep_clients):
    client = zeep_clients[GENERIC.name]
    assert client.wsdl.types.get_element(f"{{{namespaces.MSG}}}EventMessage") is not None
    definitions = etree.parse(str(checked_in(GENERIC))).getroot()
    assert definitions.get("targetNamespace") == "http://iec.ch/TC57/2011/abstract"
    inputs = {op.name: client.wsdl.services["Operations"].ports["Operations_Port"].binding._operations[op.name]
              .input.body.qname.localname for op in GENERIC.operations}
    assert inputs == {"Request": "RequestMessage", "Response": "ResponseMessage", "PublishEvent": "EventMessage"}


def test_a_message_zeep_builds_from_a_typed_wsdl_validates_and_parses(zeep_clients):
    client = zeep_clients["ExecuteMeterReadings"]
    document = client.get_element("{http://iec.ch/TC57/2011/MeterReadings#}MeterReadings")(MeterReading=[{
        "mRID": "MTR-0001",
        "Readings": [{"timeStamp": T0, "value": "14023.7", "ReadingType": {"ref": "0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0"}}],
    }])
    envelope = client.create_message(client.service, "CreateMeterReadings",
                                     Header={"Verb": "create", "Noun": "MeterReadings", "MessageID": "m-1"},
                                     Payload={"MeterReadings": [document]})
    carrier = soap.unwrap_element(envelope).message
    assert etree.QName(carrier).localname == "CreateMeterReadings"
    assert validate_message(carrier) == []
    message = parse(carrier)
    assert (message.header.verb, message.header.message_id) == ("create", "m-1")
    assert len(message.payload.documents) == 1


def test_a_message_zeep_builds_from_the_generic_wsdl_validates(zeep_clients):
    client = zeep_clients["Operations"]
    envelope = client.create_message(client.service, "Request",
                                     Header={"Verb": "get", "Noun": "EndDeviceEvents", "Timestamp": T0},
                                     Request={"StartTime": T0, "ID": [{"_value_1": "MTR-0001", "kind": "name"}]})
    carrier = soap.unwrap_element(envelope).message
    assert validate_message(carrier) == []


# ---------------------------------------------------------------- the standard's templates

TEMPLATES = {"Get": "Get_WSDL_Template.wsdl", "Execute": "Request_Execute_WSDL_Template.wsdl",
             "Receive": "Send_Receive_Reply_WSDL_Template.wsdl"}


def operation_shapes(definitions: etree._Element) -> dict[str, tuple[str, str]]:
    """operation name -> (soapAction without the year's base, local name of the input part's element)."""
    messages = {m.get("name"): m.find(f"{{{WSDL}}}part").get("element").split(":")[1]
                for m in definitions.iter(f"{{{WSDL}}}message")}
    port_type = definitions.find(f"{{{WSDL}}}portType")
    inputs = {op.get("name"): messages[op.find(f"{{{WSDL}}}input").get("message").split(":")[1]]
              for op in port_type.iter(f"{{{WSDL}}}operation")}
    binding = definitions.find(f"{{{WSDL}}}binding")
    actions = {op.get("name"): op.find(f"{{{SOAP}}}operation").get("soapAction").split("/TC57/", 1)[1].split("/", 1)[1]
               for op in binding.findall(f"{{{WSDL}}}operation")}
    return {name: (actions[name], inputs[name]) for name in inputs}


# Nouns with the template's full verb set match it exactly; the others (SwitchingPlans, Controls,
# MeasurementValues offer fewer or other verbs) are held to the template's shapes in
# tests/test_profiles_i1_i9.py.
TEMPLATE_SHAPED = [(role, n.name) for n in NOUNS.values() if n.transactions == DEFAULT_TRANSACTIONS
                   for role in TEMPLATES if role in n.roles]


@pytest.mark.parametrize("role, noun", TEMPLATE_SHAPED)
def test_operations_match_the_standards_wsdl_template(role, noun, public_dir):
    text = (public_dir / "wsdl-templates" / TEMPLATES[role]).read_text(encoding="utf-8-sig")
    for placeholder, value in (("{Information_Object_Name}", noun), ("{Request | Execute}", "Execute"),
                               ("{Send | Receive | Reply}", "Receive")):
        text = text.replace(placeholder, value)
    template = etree.fromstring(text.encode())
    service = next(s for s in ALL_SERVICES if s.noun == noun and s.role == role)
    ours = operation_shapes(etree.fromstring(build_wsdl(service, "http://x/")))
    theirs = operation_shapes(template)
    assert ours.keys() == theirs.keys()
    for name in ours:
        assert ours[name][0] == theirs[name][0], name  # soapAction path
        if role != "Get":  # the Get template names its input Get<Noun>RequestMessage; 61968-100 names it Get<Noun>
            assert ours[name][1] == theirs[name][1], name


@pytest.mark.parametrize("template", ["Send_Receive_Reply_Request_Execute_MessageTemplate.xsd"])
def test_message_schema_declares_the_templates_elements(template, public_dir):
    text = (public_dir / "wsdl-templates" / template).read_text(encoding="utf-8-sig")
    for noun in sorted({noun for _, noun in TEMPLATE_SHAPED}):
        theirs = etree.fromstring(text.replace("{Information_Object_Name}", noun).encode())
        ours = etree.fromstring(build_message_xsd(NOUNS[noun]))
        names = lambda schema: {e.get("name") for e in schema.findall(f"{{{XS}}}element")}  # noqa: E731
        assert names(theirs) <= names(ours)
