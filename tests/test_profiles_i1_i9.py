"""The I1 and I9 nouns: SwitchingPlans, Controls, MeasurementValues.

Their profiles take realistic documents and refuse the usual mistakes with 1.8 and a path;
their services, operations and soapActions are the ones specified (Execute<Noun> for plans
and controls, no Execute service for telemetry); stock zeep reads their WSDLs; objects are
keyed like every other noun's; the interface pages hold the generated tables; and the table
says these interfaces are signed.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import zeep
from lxml import etree

from soapbus.message import EventMessage, Header, Payload, RequestMessage, parse, soap, to_element
from soapbus.profiles import (DEFAULT_TRANSACTIONS, GENERIC, INTERFACES, NOUNS, Noun, interface_requires_signing,
                              services, validate_documents, validate_message, verb_allowed, wsdl_dir, xsd_dir)
from soapbus.profiles import objects

from .profile_support import expected_rows, replaced, schema, shapes, table, xml
from soapbus.profiles.interface_docs import noun_section
from soapbus.profiles.message_xsd import carrier_elements
from soapbus.profiles.wsdl import DEFAULT_ADDRESS_BASE

SP = "http://iec.ch/TC57/2011/SwitchingPlans#"
CT = "http://iec.ch/TC57/2011/Controls#"
MV = "http://iec.ch/TC57/2011/MeasurementValues#"
NEW_NOUNS = ("SwitchingPlans", "Controls", "MeasurementValues")
I7_NOUNS = ("MeterReadings", "EndDeviceControls", "EndDeviceEvents")
DOCS = xsd_dir().parent / "docs" / "interfaces"
T0 = datetime(2024, 3, 5, 9, 30, tzinfo=timezone.utc)


# ---------------------------------------------------------------- realistic documents

PLANNED_MAINTENANCE = f"""
<SwitchingPlans xmlns="{SP}">
  <SwitchingPlan>
    <mRID>3f6c1a2e-8d4b-4c7e-9f10-5a6b7c8d9e01</mRID>
    <description>Isolate CB-12 at Riverside for relay testing, restore afterwards</description>
    <name>SP-2024-0117</name>
    <purpose>planned maintenance of CB-12</purpose>
    <rank>1</rank>
    <Names><name>SO-2024-0117</name><NameType><name>SwitchingOrder</name></NameType></Names>
    <Outage><Names><name>OUT-2024-0345</name><NameType><name>OutageNumber</name></NameType></Names></Outage>
    <plannedPeriod><end>2024-03-05T15:00:00Z</end><start>2024-03-05T09:00:00Z</start></plannedPeriod>
    <status><dateTime>2024-03-04T16:20:00Z</dateTime><reason>approved by control room</reason>
      <value>approved</value></status>
    <SwitchingStepGroups>
      <description>transfer load to feeder 7</description>
      <sequenceNumber>1</sequenceNumber>
      <SwitchActions>
        <kind>close</kind><plannedDateTime>2024-03-05T09:00:00Z</plannedDateTime><sequenceNumber>1</sequenceNumber>
        <PowerSystemResource><mRID>b0e1c2d3-0000-4000-8000-00000000f007</mRID>
          <Names><name>NOP-7/12</name></Names></PowerSystemResource>
      </SwitchActions>
      <SwitchActions>
        <kind>disableReclosing</kind><sequenceNumber>2</sequenceNumber>
        <PowerSystemResource><mRID>b0e1c2d3-0000-4000-8000-0000000000c1</mRID></PowerSystemResource>
      </SwitchActions>
    </SwitchingStepGroups>
    <SwitchingStepGroups>
      <description>isolate CB-12</description>
      <isFreeSequence>true</isFreeSequence>
      <sequenceNumber>2</sequenceNumber>
      <SwitchActions>
        <kind>open</kind><sequenceNumber>1</sequenceNumber>
        <PowerSystemResource><mRID>b0e1c2d3-0000-4000-8000-0000000000c1</mRID>
          <Names><name>CB-12</name><NameType><name>OperatingLabel</name></NameType></Names></PowerSystemResource>
      </SwitchActions>
      <SwitchActions>
        <kind>open</kind><sequenceNumber>2</sequenceNumber>
        <PowerSystemResource><mRID>b0e1c2d3-0000-4000-8000-0000000000d4</mRID></PowerSystemResource>
      </SwitchActions>
    </SwitchingStepGroups>
  </SwitchingPlan>
</SwitchingPlans>"""

# The executed event: the same plan, named only, with the actions done stamped.
EXECUTED_BY_NAME = f"""
<SwitchingPlans xmlns="{SP}">
  <SwitchingPlan>
    <Names><name>SO-2024-0117</name><NameType><name>SwitchingOrder</name></NameType></Names>
    <status><dateTime>2024-03-05T09:41:00Z</dateTime><value>completed</value></status>
    <SwitchingStepGroups>
      <sequenceNumber>2</sequenceNumber>
      <SwitchActions>
        <executedDateTime>2024-03-05T09:40:12Z</executedDateTime>
        <kind>open</kind><sequenceNumber>1</sequenceNumber>
        <PowerSystemResource><mRID>b0e1c2d3-0000-4000-8000-0000000000c1</mRID></PowerSystemResource>
      </SwitchActions>
    </SwitchingStepGroups>
  </SwitchingPlan>
</SwitchingPlans>"""

BREAKER_OPEN = f"""
<Controls xmlns="{CT}">
  <Control>
    <mRID>7a1e5c3b-2d4f-4e6a-8b9c-0d1e2f3a4b5c</mRID>
    <controlType>BreakerOpen</controlType>
    <issuerID>DMS-operator-jlee</issuerID>
    <issuerTrackingID>SP-2024-0117/2/1</issuerTrackingID>
    <kind>command</kind>
    <value>0</value>
    <Names><name>CB-12 open</name></Names>
    <PowerSystemResource><mRID>b0e1c2d3-0000-4000-8000-0000000000c1</mRID>
      <Names><name>CB-12</name></Names></PowerSystemResource>
    <RemoteControl><mRID>rc-riverside-cb12-pos</mRID>
      <Names><name>RIV.CB12.POS.CTRL</name><NameType><name>ScadaPoint</name></NameType></Names></RemoteControl>
  </Control>
</Controls>"""

SCHEDULED_SETPOINT = f"""
<Controls xmlns="{CT}">
  <Control>
    <controlType>ActivePowerSetpoint</controlType>
    <kind>setpoint</kind>
    <timeStamp>2024-03-05T12:00:00+01:00</timeStamp>
    <unitMultiplier>M</unitMultiplier>
    <unitSymbol>W</unitSymbol>
    <value>12.5</value>
    <Names><name>BESS-3 setpoint noon</name><NameType><name>ControlRequest</name></NameType></Names>
    <PowerSystemResource><mRID>bess-3</mRID></PowerSystemResource>
    <RemoteControl><mRID>rc-bess3-p-set</mRID></RemoteControl>
  </Control>
</Controls>"""

# What SCADA reports back once the breaker has moved.
EXECUTED_CONTROL = f"""
<Controls xmlns="{CT}">
  <Control>
    <mRID>7a1e5c3b-2d4f-4e6a-8b9c-0d1e2f3a4b5c</mRID>
    <controlType>BreakerOpen</controlType>
    <operationInProgress>false</operationInProgress>
    <timeStamp>2024-03-05T09:40:12.350Z</timeStamp>
    <PowerSystemResource><mRID>b0e1c2d3-0000-4000-8000-0000000000c1</mRID></PowerSystemResource>
  </Control>
</Controls>"""

TELEMETRY_SCAN = f"""
<MeasurementValues xmlns="{MV}">
  <MeasurementValue>
    <mRID>mv-riv-t1-p-20240305T093000</mRID>
    <sensorAccuracy>0.5</sensorAccuracy>
    <timeStamp>2024-03-05T09:30:00.120Z</timeStamp>
    <AnalogValue><value>-4.375E1</value><Analog><mRID>meas-riv-t1-p</mRID>
      <Names><name>RIV.T1.P</name><NameType><name>ScadaPoint</name></NameType></Names></Analog></AnalogValue>
    <MeasurementValueQuality><source>PROCESS</source><validity>GOOD</validity></MeasurementValueQuality>
    <MeasurementValueSource><Names><name>SCADA</name></Names></MeasurementValueSource>
  </MeasurementValue>
  <MeasurementValue>
    <mRID>mv-riv-cb12-pos-20240305T094012</mRID>
    <timeStamp>2024-03-05T09:40:12.350Z</timeStamp>
    <DiscreteValue><value>0</value><Discrete><mRID>meas-riv-cb12-pos</mRID></Discrete></DiscreteValue>
    <MeasurementValueQuality><validity>GOOD</validity></MeasurementValueQuality>
  </MeasurementValue>
  <MeasurementValue>
    <timeStamp>2024-03-05T09:40:12Z</timeStamp>
    <AccumulatorValue><value>1842</value><Accumulator><mRID>meas-riv-cb12-ops</mRID></Accumulator></AccumulatorValue>
    <Names><name>RIV.CB12.OPS@2024-03-05T09:40:12Z</name><NameType><name>ScadaSample</name></NameType></Names>
  </MeasurementValue>
</MeasurementValues>"""

SUBSTITUTED_VALUE = f"""
<MeasurementValues xmlns="{MV}">
  <MeasurementValue>
    <mRID>mv-riv-t1-q-20240305T093000</mRID>
    <timeStamp>2024-03-05T09:30:00Z</timeStamp>
    <AnalogValue><value>3.1</value><Analog><mRID>meas-riv-t1-q</mRID></Analog></AnalogValue>
    <MeasurementValueQuality>
      <estimatorReplaced>true</estimatorReplaced><oldData>false</oldData><operatorBlocked>true</operatorBlocked>
      <source>SUBSTITUTED</source><suspect>false</suspect><test>false</test><validity>QUESTIONABLE</validity>
    </MeasurementValueQuality>
    <MeasurementValueSource><mRID>source-manual</mRID></MeasurementValueSource>
  </MeasurementValue>
</MeasurementValues>"""

REALISTIC = {
    "planned maintenance plan": ("SwitchingPlans", PLANNED_MAINTENANCE),
    "executed plan named only": ("SwitchingPlans", EXECUTED_BY_NAME),
    "breaker open command": ("Controls", BREAKER_OPEN),
    "scheduled setpoint": ("Controls", SCHEDULED_SETPOINT),
    "executed control": ("Controls", EXECUTED_CONTROL),
    "analog, discrete, accumulator scan": ("MeasurementValues", TELEMETRY_SCAN),
    "substituted value": ("MeasurementValues", SUBSTITUTED_VALUE),
}


@pytest.mark.parametrize("case", list(REALISTIC))
def test_realistic_documents_validate(case):
    noun, text = REALISTIC[case]
    document = xml(text)
    compiled = schema(noun)
    assert compiled.validate(document), compiled.error_log
    assert validate_documents(noun, [document]) == []


# ---------------------------------------------------------------- typical mistakes: 1.8 with a path


PLAN_ACTION = "/SwitchingPlans/SwitchingPlan[1]/SwitchingStepGroups[1]/SwitchActions[1]"
SCAN_ITEM = "/MeasurementValues/MeasurementValue[1]"

# case -> (noun, document, the path the error names, the element its QName names)
MISTAKES = {
    "switch action kind that is no SwitchActionKind": (
        "SwitchingPlans", replaced(PLANNED_MAINTENANCE, "<kind>close</kind>", "<kind>toggle</kind>"),
        f"{PLAN_ACTION}/kind", "kind"),
    "switch by name only, no mRID": (
        "SwitchingPlans", replaced(EXECUTED_BY_NAME, "<PowerSystemResource><mRID>b0e1c2d3-0000-4000-8000-0000000000c1"
                                                     "</mRID></PowerSystemResource>",
                                   "<PowerSystemResource><Names><name>CB-12</name></Names></PowerSystemResource>"),
        "/SwitchingPlans/SwitchingPlan[1]/SwitchingStepGroups/SwitchActions/PowerSystemResource/Names", "Names"),
    "switch action without the switch": (
        "SwitchingPlans", replaced(EXECUTED_BY_NAME, "<PowerSystemResource><mRID>b0e1c2d3-0000-4000-8000-0000000000c1"
                                                     "</mRID></PowerSystemResource>", ""),
        "/SwitchingPlans/SwitchingPlan[1]/SwitchingStepGroups/SwitchActions", "SwitchActions"),
    "step group without its sequenceNumber": (
        "SwitchingPlans", replaced(EXECUTED_BY_NAME, "<sequenceNumber>2</sequenceNumber>", ""),
        "/SwitchingPlans/SwitchingPlan[1]/SwitchingStepGroups/SwitchActions", "SwitchActions"),
    "rank in words": (
        "SwitchingPlans", replaced(PLANNED_MAINTENANCE, "<rank>1</rank>", "<rank>first</rank>"),
        "/SwitchingPlans/SwitchingPlan[1]/rank", "rank"),
    "planned start that is no dateTime": (
        "SwitchingPlans", replaced(PLANNED_MAINTENANCE, "<start>2024-03-05T09:00:00Z</start>",
                                   "<start>05/03/2024 09:00</start>"),
        "/SwitchingPlans/SwitchingPlan[1]/plannedPeriod/start", "start"),
    "mRID after the name": (
        "SwitchingPlans", replaced(EXECUTED_BY_NAME, "<status>", "<mRID>late</mRID><status>"),
        "/SwitchingPlans/SwitchingPlan[1]/mRID", "mRID"),
    "control without its controlType": (
        "Controls", replaced(SCHEDULED_SETPOINT, "<controlType>ActivePowerSetpoint</controlType>", ""),
        "/Controls/Control[1]/kind", "kind"),
    "blank controlType": (
        "Controls", replaced(SCHEDULED_SETPOINT, "<controlType>ActivePowerSetpoint</controlType>",
                             "<controlType> </controlType>"),
        "/Controls/Control[1]/controlType", "controlType"),
    "control kind that is neither command nor setpoint": (
        "Controls", replaced(SCHEDULED_SETPOINT, "<kind>setpoint</kind>", "<kind>pulse</kind>"),
        "/Controls/Control[1]/kind", "kind"),
    "multiplier written into the unit": (
        "Controls", replaced(SCHEDULED_SETPOINT, "<unitSymbol>W</unitSymbol>", "<unitSymbol>MW</unitSymbol>"),
        "/Controls/Control[1]/unitSymbol", "unitSymbol"),
    "setpoint value that is no number": (
        "Controls", replaced(SCHEDULED_SETPOINT, "<value>12.5</value>", "<value>12,5</value>"),
        "/Controls/Control[1]/value", "value"),
    "control on a SCADA point only, no device": (
        "Controls", replaced(SCHEDULED_SETPOINT, "<PowerSystemResource><mRID>bess-3</mRID></PowerSystemResource>", ""),
        "/Controls/Control[1]/RemoteControl", "RemoteControl"),
    "target elements out of order": (
        "Controls", replaced(BREAKER_OPEN, "<PowerSystemResource>", "<RemoteControl><mRID>rc-1</mRID></RemoteControl>"
                                                                     "<PowerSystemResource>"),
        "/Controls/Control[1]/RemoteControl[1]", "RemoteControl"),
    "value without a timeStamp": (
        "MeasurementValues", replaced(SUBSTITUTED_VALUE, "<timeStamp>2024-03-05T09:30:00Z</timeStamp>", ""),
        f"{SCAN_ITEM}/AnalogValue", "AnalogValue"),
    "value of no kind": (
        "MeasurementValues", replaced(SUBSTITUTED_VALUE, "<AnalogValue><value>3.1</value><Analog><mRID>meas-riv-t1-q"
                                                         "</mRID></Analog></AnalogValue>", ""),
        f"{SCAN_ITEM}/MeasurementValueQuality", "MeasurementValueQuality"),
    "analog and discrete in one value": (
        "MeasurementValues", replaced(SUBSTITUTED_VALUE, "</AnalogValue>", "</AnalogValue><DiscreteValue><value>1"
                                                                           "</value><Discrete><mRID>d</mRID>"
                                                                           "</Discrete></DiscreteValue>"),
        f"{SCAN_ITEM}/DiscreteValue", "DiscreteValue"),
    "fractional discrete state": (
        "MeasurementValues", replaced(TELEMETRY_SCAN, "<DiscreteValue><value>0</value>",
                                      "<DiscreteValue><value>0.5</value>"),
        "/MeasurementValues/MeasurementValue[2]/DiscreteValue/value", "value"),
    "negative counter": (
        "MeasurementValues", replaced(TELEMETRY_SCAN, "<value>1842</value>", "<value>-3</value>"),
        "/MeasurementValues/MeasurementValue[3]/AccumulatorValue/value", "value"),
    "validity outside IEC 61850": (
        "MeasurementValues", replaced(SUBSTITUTED_VALUE, "<validity>QUESTIONABLE</validity>", "<validity>BAD</validity>"),
        f"{SCAN_ITEM}/MeasurementValueQuality/validity", "validity"),
    "accuracy over 100 per cent": (
        "MeasurementValues", replaced(TELEMETRY_SCAN, "<sensorAccuracy>0.5</sensorAccuracy>",
                                      "<sensorAccuracy>150</sensorAccuracy>"),
        f"{SCAN_ITEM}/sensorAccuracy", "sensorAccuracy"),
    "measurement by name only": (
        "MeasurementValues", replaced(SUBSTITUTED_VALUE, "<Analog><mRID>meas-riv-t1-q</mRID></Analog>",
                                      "<Analog><Names><name>RIV.T1.Q</name></Names></Analog>"),
        f"{SCAN_ITEM}/AnalogValue/Analog/Names", "Names"),
    "element of another namespace in an item": (
        "MeasurementValues", replaced(SUBSTITUTED_VALUE, "</MeasurementValue>",
                                      '<x:comment xmlns:x="urn:example">late</x:comment></MeasurementValue>'),
        f"{SCAN_ITEM}/comment", "comment"),
}


@pytest.mark.parametrize("case", sorted(MISTAKES))
def test_typical_mistakes_are_refused_with_1_8_and_the_path(case):
    noun, text, path, element = MISTAKES[case]
    errors = validate_documents(noun, [xml(text)])
    assert errors, "the mistake was accepted"
    first = errors[0]
    assert (first.code, first.level) == ("1.8", "FATAL")
    assert first.details.startswith(f"at {path}: "), first.details
    assert first.xpath == f"p:{element}"
    assert first.reason.startswith(f"The {noun} payload does not validate against {NOUNS[noun].profile_xsd} at {path}")


def test_a_document_of_another_noun_is_refused():
    [error] = validate_documents("Controls", [xml(TELEMETRY_SCAN)])
    assert error.code == "1.8" and "must be a Controls document" in error.reason


# ---------------------------------------------------------------- the noun table: services, operations, soapActions


def test_switching_plans_services():
    assert table("SwitchingPlans") == expected_rows(
        "SwitchingPlans", ("create", "change", "cancel", "close", "execute"),
        ("created", "changed", "canceled", "closed", "executed"))
    execute = next(s for s in NOUNS["SwitchingPlans"].services() if s.role == "Execute")
    op = next(op for op in execute.operations if op.verb == "execute")
    assert (op.name, op.soap_action) == ("ExecuteSwitchingPlans",
                                         "http://iec.ch/TC57/2011/SwitchingPlans/ExecuteSwitchingPlans")


def test_controls_services():
    assert table("Controls") == expected_rows("Controls", ("create", "cancel", "execute"),
                                              ("created", "canceled", "executed"))


def test_measurement_values_have_get_and_receive_only():
    assert [s.role for s in NOUNS["MeasurementValues"].services()] == ["Get", "Receive"]
    assert table("MeasurementValues") == expected_rows("MeasurementValues", (), ("created", "changed"))


@pytest.mark.parametrize("noun", I7_NOUNS)
def test_the_i7_nouns_keep_the_standards_five_transactions(noun):
    assert NOUNS[noun].transactions == DEFAULT_TRANSACTIONS
    assert table(noun) == expected_rows(noun, DEFAULT_TRANSACTIONS,
                                        ("created", "changed", "canceled", "closed", "deleted"))
    assert not NOUNS[noun].signed_by_default


@pytest.mark.parametrize(("noun", "interface"), [("SwitchingPlans", "I1"), ("Controls", "I9"),
                                                 ("MeasurementValues", "I9")])
def test_new_nouns_sit_on_their_interface_and_are_signed_by_default(noun, interface):
    entry = NOUNS[noun]
    assert entry.interface == interface and entry.signed_by_default
    assert all(service.signed_by_default for service in entry.services())


def test_signing_is_required_on_i1_and_i9_only():
    assert [i for i in INTERFACES if interface_requires_signing(i)] == ["I1", "I9"]
    assert not interface_requires_signing("I99")
    assert not GENERIC.signed_by_default  # the generic service carries any noun: the noun decides


def test_every_noun_on_a_signed_interface_is_signed_by_default():
    assert {n.name for n in NOUNS.values() if n.signed_by_default} == \
        {n.name for n in NOUNS.values() if interface_requires_signing(n.interface)}


def test_verbs_the_new_nouns_refuse():
    assert not verb_allowed(NOUNS["SwitchingPlans"], "delete")
    assert not verb_allowed(NOUNS["Controls"], "change")
    assert not verb_allowed(NOUNS["MeasurementValues"], "create")
    assert verb_allowed(NOUNS["MeasurementValues"], "changed")
    assert verb_allowed(NOUNS["SwitchingPlans"], "executed")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"transactions": ("create", "get")}, "not 61968 transaction verbs"),
    ({"transactions": ("create", "updated")}, "not 61968 transaction verbs"),
    ({"roles": ("Get", "Publish")}, "unknown role"),
])
def test_a_misspelt_table_entry_is_refused_at_once(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Noun("Gadgets", "I1", "Gadgets.xsd", "Gadget", **kwargs)


def test_message_schemas_declare_exactly_the_served_carriers():
    assert [name for name, _ in carrier_elements(NOUNS["MeasurementValues"])] == [
        "GetMeasurementValues", "CreatedMeasurementValues", "ChangedMeasurementValues",
        "MeasurementValuesRequestMessage", "MeasurementValuesResponseMessage", "MeasurementValuesEventMessage",
        "MeasurementValuesFaultMessage"]
    carriers = dict(carrier_elements(NOUNS["SwitchingPlans"]))
    assert carriers["ExecuteSwitchingPlans"] == "RequestMessage"
    assert carriers["ExecutedSwitchingPlans"] == "EventMessage"
    assert "DeleteSwitchingPlans" not in carriers


# ---------------------------------------------------------------- the standard's WSDL templates, where they apply

TEMPLATES = {"Execute": "Request_Execute_WSDL_Template.wsdl", "Receive": "Send_Receive_Reply_WSDL_Template.wsdl"}


@pytest.mark.parametrize("service", [s for s in services() if s.noun in NEW_NOUNS and s.role != "Get"],
                         ids=lambda s: s.name)
def test_operations_are_shaped_like_the_standards_template(service, public_dir):
    """The template's operations the noun offers are as the template has them; Execute/Executed follow suit."""
    text = (public_dir / "wsdl-templates" / TEMPLATES[service.role]).read_text(encoding="utf-8-sig")
    for placeholder, value in (("{Information_Object_Name}", service.noun), ("{Request | Execute}", "Execute"),
                               ("{Send | Receive | Reply}", "Receive")):
        text = text.replace(placeholder, value)
    theirs = shapes(etree.fromstring(text.encode()))
    ours = shapes(etree.parse(str(wsdl_dir() / f"{service.name}.wsdl")).getroot())
    for name, shape in ours.items():
        assert shape == theirs.get(name, (f"{service.noun}/{name}", name)), name
    assert set(ours) - set(theirs) <= {f"Execute{service.noun}", f"Executed{service.noun}"}


# ---------------------------------------------------------------- what stock zeep sees

NEW_SERVICES = [s for s in services() if s.noun in NEW_NOUNS]


@pytest.fixture(scope="module")
def zeep_clients() -> dict[str, zeep.Client]:
    return {s.name: zeep.Client(str(wsdl_dir() / f"{s.name}.wsdl")) for s in NEW_SERVICES}


def test_the_new_services_have_their_wsdls():
    assert sorted(s.name for s in NEW_SERVICES) == sorted([
        "GetSwitchingPlans", "ExecuteSwitchingPlans", "ReceiveSwitchingPlans", "GetControls", "ExecuteControls",
        "ReceiveControls", "GetMeasurementValues", "ReceiveMeasurementValues"])
    assert not (wsdl_dir() / "ExecuteMeasurementValues.wsdl").exists()


@pytest.mark.parametrize("service", NEW_SERVICES, ids=[s.name for s in NEW_SERVICES])
def test_zeep_reads_each_new_wsdl_with_its_operations(service, zeep_clients):
    [port] = zeep_clients[service.name].wsdl.services[service.name].ports.values()
    assert port.binding_options["address"] == DEFAULT_ADDRESS_BASE + service.name
    operations = port.binding._operations
    assert list(operations) == [op.name for op in service.operations]
    for op in service.operations:
        assert operations[op.name].soapaction == op.soap_action
        assert operations[op.name].input.body.qname == etree.QName(service.message_ns, op.name)
        assert operations[op.name].output.body.qname == etree.QName(service.message_ns, f"{service.noun}ResponseMessage")


def test_zeep_builds_a_valid_execute_switching_plans(zeep_clients):
    client = zeep_clients["ExecuteSwitchingPlans"]
    document = client.get_element(f"{{{SP}}}SwitchingPlans")(SwitchingPlan=[{
        "mRID": "SP-1", "purpose": "fault isolation feeder 7",
        "SwitchingStepGroups": [{"sequenceNumber": 1, "SwitchActions": [
            {"kind": "open", "sequenceNumber": 1, "PowerSystemResource": {"mRID": "CB-7"}}]}],
    }])
    envelope = client.create_message(client.service, "ExecuteSwitchingPlans",
                                     Header={"Verb": "execute", "Noun": "SwitchingPlans", "MessageID": "m-1"},
                                     Payload={"SwitchingPlans": [document]})
    carrier = soap.unwrap_element(envelope).message
    assert etree.QName(carrier).localname == "ExecuteSwitchingPlans"
    assert validate_message(carrier) == []
    message = parse(carrier)
    assert message.header.verb == "execute"
    assert validate_documents("SwitchingPlans", message.payload.documents) == []


def test_zeep_builds_valid_controls(zeep_clients):
    client = zeep_clients["ExecuteControls"]
    document = client.get_element(f"{{{CT}}}Controls")(Control=[
        {"controlType": "BreakerOpen", "PowerSystemResource": {"mRID": "CB-12"}, "RemoteControl": {"mRID": "rc-1"}},
        {"controlType": "ActivePowerSetpoint", "kind": "setpoint", "value": 12.5, "unitMultiplier": "M",
         "unitSymbol": "W", "PowerSystemResource": {"mRID": "bess-3"}},
    ])
    envelope = client.create_message(client.service, "CreateControls",
                                     Header={"Verb": "create", "Noun": "Controls", "Timestamp": T0},
                                     Payload={"Controls": [document]})
    carrier = soap.unwrap_element(envelope).message
    assert validate_message(carrier) == []
    assert validate_documents("Controls", parse(carrier).payload.documents) == []


@pytest.mark.parametrize(("noun", "element", "message"), [
    ("SwitchingPlans", "ExecutedSwitchingPlans", lambda: EventMessage(
        Header("executed", "SwitchingPlans", timestamp=T0), Payload([xml(EXECUTED_BY_NAME)]))),
    ("Controls", "CancelControls", lambda: RequestMessage(
        Header("cancel", "Controls", message_id="m-2"), payload=Payload([xml(SCHEDULED_SETPOINT)]))),
    ("MeasurementValues", "CreatedMeasurementValues", lambda: EventMessage(
        Header("created", "MeasurementValues", timestamp=T0), Payload([xml(TELEMETRY_SCAN)]))),
], ids=["executed-plan", "cancel-control", "created-values"])
def test_typed_carriers_of_the_new_nouns_validate(noun, element, message):
    ns = NOUNS[noun].message_ns
    carrier = to_element(message(), wrapper=f"{{{ns}}}{element}", part_ns=ns)
    assert validate_message(carrier) == []


def test_a_typed_carrier_checks_the_new_profile():
    broken = xml(MISTAKES["negative counter"][1])
    ns = NOUNS["MeasurementValues"].message_ns
    carrier = to_element(EventMessage(Header("created", "MeasurementValues"), Payload([broken])),
                         wrapper=f"{{{ns}}}CreatedMeasurementValues", part_ns=ns)
    problems = validate_message(carrier)
    assert problems and "value" in problems[0]


# ---------------------------------------------------------------- objects are keyed like every noun's


@pytest.mark.parametrize(("noun", "text", "keys"), [
    ("SwitchingPlans", PLANNED_MAINTENANCE, ["3f6c1a2e-8d4b-4c7e-9f10-5a6b7c8d9e01"]),
    ("SwitchingPlans", EXECUTED_BY_NAME, ["name:SwitchingOrder:SO-2024-0117"]),
    ("Controls", BREAKER_OPEN, ["7a1e5c3b-2d4f-4e6a-8b9c-0d1e2f3a4b5c"]),
    ("Controls", SCHEDULED_SETPOINT, ["name:ControlRequest:BESS-3 setpoint noon"]),
    ("MeasurementValues", TELEMETRY_SCAN, ["mv-riv-t1-p-20240305T093000", "mv-riv-cb12-pos-20240305T094012",
                                           "name:ScadaSample:RIV.CB12.OPS@2024-03-05T09:40:12Z"]),
], ids=["plan-by-mrid", "plan-by-name", "control-by-mrid", "control-by-name", "values"])
def test_objects_are_found_and_keyed(noun, text, keys):
    entry = NOUNS[noun]
    found = [objects.identify(entry, item) for item in objects.items(entry, xml(text))]
    assert [ref.key for ref in found] == keys


def test_names_of_referenced_equipment_do_not_key_the_object():
    """Only the item's own mRID and Names count: the mRID of the breaker it operates is not the control's."""
    entry = NOUNS["Controls"]
    [item] = objects.items(entry, xml(EXECUTED_CONTROL.replace("<mRID>7a1e5c3b-2d4f-4e6a-8b9c-0d1e2f3a4b5c</mRID>", "")))
    assert objects.identify(entry, item) is None


def test_the_named_plan_keeps_its_names():
    entry = NOUNS["SwitchingPlans"]
    [item] = objects.items(entry, xml(PLANNED_MAINTENANCE))
    ref = objects.identify(entry, item)
    assert ref.mrid == "3f6c1a2e-8d4b-4c7e-9f10-5a6b7c8d9e01"
    assert ref.names == (("SO-2024-0117", "SwitchingOrder"),)


def test_a_document_built_from_stored_objects_validates():
    entry = NOUNS["MeasurementValues"]
    stored = [objects.serialize(item) for item in objects.items(entry, xml(TELEMETRY_SCAN))]
    assert validate_documents("MeasurementValues", [objects.document(entry, stored)]) == []


# ---------------------------------------------------------------- the interface pages


@pytest.mark.parametrize("noun", NEW_NOUNS)
def test_the_interface_page_holds_the_generated_section(noun):
    page = (DOCS / f"{NOUNS[noun].interface}.md").read_text(encoding="utf-8")
    assert noun_section(NOUNS[noun]) in page, f"regenerate the {noun} section with soapbus.profiles.interface_docs"


@pytest.mark.parametrize("interface", ["I1", "I9"])
def test_the_interface_page_says_messages_are_signed_both_ways(interface):
    page = (DOCS / f"{interface}.md").read_text(encoding="utf-8")
    signing = page.split("## Message signing", 1)[1].split("\n## ", 1)[0]
    for needed in ("X.509 Token Profile", "RSA-SHA256", "ECDSA-SHA256", "exclusive C14N", "Responses", "Events",
                   "security.md"):
        assert needed in signing, needed
