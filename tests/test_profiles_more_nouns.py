"""The I4, I6 and I7 nouns added after the first ones: WorkRequests, OutageRecords, MeterReadSchedules.

Their profiles take realistic documents (EPRI's scheduled read, the last-gasp/restoration outage
sequence, EPRI's 61968-6 work request script) and refuse the usual mistakes with 1.8 and a path;
their services, operations and soapActions are the ones specified (no delete for outage records);
stock zeep reads their WSDLs and builds messages that validate; objects are keyed like every
other noun's; the outage record of a device is found again by the documented convention; the
interface pages hold the generated tables.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
import zeep
from lxml import etree

from soapbus.message import EventMessage, Header, Payload, RequestMessage, parse, soap, to_element
from soapbus.profiles import (DEFAULT_TRANSACTIONS, NOUNS, interface_requires_signing, services, validate_documents,
                              validate_message, verb_allowed, wsdl_dir, xsd_dir)
from soapbus.profiles import objects

from .profile_support import expected_rows, replaced, schema, shapes, table, xml
from soapbus.profiles.interface_docs import noun_section
from soapbus.profiles.message_xsd import carrier_elements
from soapbus.profiles.wsdl import DEFAULT_ADDRESS_BASE

OR = "http://iec.ch/TC57/2011/OutageRecords#"
MRS = "http://iec.ch/TC57/2011/MeterReadSchedules#"
WR = "http://iec.ch/TC57/2011/WorkRequests#"
NEW_NOUNS = ("OutageRecords", "MeterReadSchedules", "WorkRequests")
DOCS = xsd_dir().parent / "docs" / "interfaces"
T0 = datetime(2024, 3, 5, 9, 30, tzinfo=timezone.utc)
LAST_GASP, RESTORED = "3.26.0.85", "3.26.0.216"
DEVICE = "7c2c8a8e-4b1f-4f43-9d0e-0a0c1e7d6a01"


# ---------------------------------------------------------------- realistic documents: OutageRecords

# What the last-gasp rule creates: a fresh mRID, the device's mRID as a Name of type EndDevice.
OPENED_BY_LAST_GASP = f"""
<OutageRecords xmlns="{OR}">
  <OutageRecord>
    <mRID>5d0c4a52-3f0e-4c55-a0a4-3c1b6e2f9d10</mRID>
    <cause>unknown</cause>
    <createdDateTime>2024-03-05T09:30:12Z</createdDateTime>
    <description>opened by a last gasp from SN-00012345</description>
    <actualPeriod><start>2024-03-05T09:30:12Z</start></actualPeriod>
    <EndDeviceEvents>
      <mRID>e1f2a3b4-0000-4000-8000-00000000lg01</mRID>
      <createdDateTime>2024-03-05T09:30:12Z</createdDateTime>
      <EndDeviceEventType ref="{LAST_GASP}"/>
    </EndDeviceEvents>
    <EndDevices><mRID>{DEVICE}</mRID>
      <Names><name>SN-00012345</name><NameType><name>SerialNumber</name></NameType></Names></EndDevices>
    <Names><name>{DEVICE}</name><NameType><name>EndDevice</name></NameType></Names>
    <status><dateTime>2024-03-05T09:30:12Z</dateTime><reason>last gasp</reason><value>open</value></status>
    <UsagePoints><mRID>up-5501</mRID><Names><name>UP-5501</name></Names></UsagePoints>
  </OutageRecord>
</OutageRecords>"""

# The same record, changed by the restoration rule.
CLOSED_BY_RESTORATION = f"""
<OutageRecords xmlns="{OR}">
  <OutageRecord>
    <mRID>5d0c4a52-3f0e-4c55-a0a4-3c1b6e2f9d10</mRID>
    <createdDateTime>2024-03-05T09:30:12Z</createdDateTime>
    <actualPeriod><end>2024-03-05T11:02:47+01:00</end><start>2024-03-05T09:30:12Z</start></actualPeriod>
    <EndDeviceEvents><mRID>e1f2a3b4-0000-4000-8000-00000000lg01</mRID>
      <EndDeviceEventType ref="{LAST_GASP}"/></EndDeviceEvents>
    <EndDeviceEvents><mRID>e1f2a3b4-0000-4000-8000-00000000rs01</mRID>
      <createdDateTime>2024-03-05T11:02:47+01:00</createdDateTime>
      <EndDeviceEventType ref="{RESTORED}"/></EndDeviceEvents>
    <EndDevices><mRID>{DEVICE}</mRID></EndDevices>
    <Names><name>{DEVICE}</name><NameType><name>EndDevice</name></NameType></Names>
    <status><dateTime>2024-03-05T10:02:47Z</dateTime><value>closed</value></status>
  </OutageRecord>
</OutageRecords>"""

# An OMS record from trouble calls: named by its outage number, two devices, an estimate.
TROUBLE_CALL = f"""
<OutageRecords xmlns="{OR}">
  <OutageRecord>
    <cause>tree on line, feeder 7</cause>
    <createdDateTime>2024-03-05T18:11:00-05:00</createdDateTime>
    <Customers><Names><name>ACCT-778812</name><NameType><name>AccountNumber</name></NameType></Names></Customers>
    <Customers><mRID>cust-0042</mRID></Customers>
    <EndDevices><mRID>mtr-0001</mRID></EndDevices>
    <EndDevices><mRID>mtr-0002</mRID></EndDevices>
    <estimatedPeriod><end>2024-03-05T22:00:00-05:00</end></estimatedPeriod>
    <Names><name>OUT-2024-0345</name><NameType><name>OutageNumber</name></NameType></Names>
    <Names><name>mtr-0001</name><NameType><name>EndDevice</name></NameType></Names>
    <Names><name>mtr-0002</name><NameType><name>EndDevice</name></NameType></Names>
    <status><value>open</value></status>
    <UsagePoints><mRID>up-7001</mRID></UsagePoints>
  </OutageRecord>
</OutageRecords>"""

# ---------------------------------------------------------------- realistic documents: MeterReadSchedules

DAILY_BILLING_READ = f"""
<MeterReadSchedules xmlns="{MRS}">
  <MeterReadSchedule>
    <mRID>0b9e7f3c-6a2d-4d1e-9c8b-7a6f5e4d3c21</mRID>
    <disabled>false</disabled>
    <offset>7200</offset>
    <recurrencePattern>daily at 02:00 local</recurrencePattern>
    <recurrencePeriod>86400</recurrencePeriod>
    <EndDeviceGroups><Names><name>feeder-12-residential</name><NameType><name>GroupName</name></NameType></Names>
    </EndDeviceGroups>
    <Names><name>MRS-DAILY-F12</name><NameType><name>ScheduleName</name></NameType></Names>
    <ReadingTypes ref="0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0"/>
    <ReadingTypes ref="0.0.0.1.19.1.12.0.0.0.0.0.0.0.0.3.72.0"/>
    <scheduleInterval><start>2024-03-06T00:00:00-05:00</start></scheduleInterval>
  </MeterReadSchedule>
</MeterReadSchedules>"""

INTERVAL_READ_OF_METERS = f"""
<MeterReadSchedules xmlns="{MRS}">
  <MeterReadSchedule>
    <recurrencePeriod>900</recurrencePeriod>
    <EndDevices><mRID>{DEVICE}</mRID></EndDevices>
    <EndDevices><Names><name>SN-00067890</name><NameType><name>SerialNumber</name></NameType></Names></EndDevices>
    <Names><name>load-research-2024Q1</name></Names>
    <ReadingTypes ref="0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"/>
    <scheduleInterval><end>2024-03-31T23:59:59Z</end><start>2024-03-01T00:00:00Z</start></scheduleInterval>
    <UsagePoints><mRID>up-5501</mRID></UsagePoints>
  </MeterReadSchedule>
</MeterReadSchedules>"""

SUSPENDED_BY_NAME = f"""
<MeterReadSchedules xmlns="{MRS}">
  <MeterReadSchedule>
    <disabled>true</disabled>
    <Names><name>MRS-DAILY-F12</name><NameType><name>ScheduleName</name></NameType></Names>
  </MeterReadSchedule>
</MeterReadSchedules>"""

# ---------------------------------------------------------------- realistic documents: WorkRequests

NEW_SERVICE_CONNECTION = f"""
<WorkRequests xmlns="{WR}">
  <WorkRequest>
    <mRID>9f1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d</mRID>
    <description>New 200 A residential service, overhead drop from pole P-4471</description>
    <kind>connect</kind>
    <requestDateTime>2024-03-04T14:05:00-05:00</requestDateTime>
    <statusKind>waitingOnApproval</statusKind>
    <Customers><mRID>cust-0042</mRID>
      <Names><name>ACCT-778812</name><NameType><name>AccountNumber</name></NameType></Names></Customers>
    <Names><name>WR-2024-001187</name><NameType><name>WorkRequestNumber</name></NameType></Names>
    <priority><justification>customer move-in date</justification><rank>2</rank><type>utility</type></priority>
    <UsagePoints><mRID>up-9001</mRID></UsagePoints>
    <WorkLocation><Names><name>17 Orchard Lane, Springfield</name><NameType><name>Address</name></NameType></Names>
    </WorkLocation>
  </WorkRequest>
</WorkRequests>"""

# EPRI's 61968-6 script creates two requests in one message (one of them fails as a duplicate).
TWO_REQUESTS = f"""
<WorkRequests xmlns="{WR}">
  <WorkRequest>
    <mRID>2a7c1e90-5b3d-4f2a-9e8c-1d0b2a3c4e5f</mRID>
    <description>Trim trees along feeder 7, spans 12 to 19</description>
    <kind>maintenance</kind>
    <statusKind>scheduled</statusKind>
    <priority><rank>4</rank></priority>
    <WorkLocation><mRID>loc-f7-span12</mRID></WorkLocation>
  </WorkRequest>
  <WorkRequest>
    <kind>inspection</kind>
    <requestDateTime>2024-03-05T08:00:00Z</requestDateTime>
    <Names><name>WR-2024-001190</name><NameType><name>WorkRequestNumber</name></NameType></Names>
  </WorkRequest>
</WorkRequests>"""

# An elementOperation (delete) names only the link it removes.
ELEMENT_OPERATION = f"""
<WorkRequests xmlns="{WR}">
  <WorkRequest>
    <mRID>9f1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d</mRID>
    <UsagePoints><mRID>up-9001</mRID></UsagePoints>
  </WorkRequest>
</WorkRequests>"""

REALISTIC = {
    "outage opened by a last gasp": ("OutageRecords", OPENED_BY_LAST_GASP),
    "outage closed by restoration": ("OutageRecords", CLOSED_BY_RESTORATION),
    "outage from trouble calls": ("OutageRecords", TROUBLE_CALL),
    "daily billing read": ("MeterReadSchedules", DAILY_BILLING_READ),
    "interval read of meters": ("MeterReadSchedules", INTERVAL_READ_OF_METERS),
    "schedule suspended by name": ("MeterReadSchedules", SUSPENDED_BY_NAME),
    "new service connection": ("WorkRequests", NEW_SERVICE_CONNECTION),
    "two requests": ("WorkRequests", TWO_REQUESTS),
    "element operation": ("WorkRequests", ELEMENT_OPERATION),
}


@pytest.mark.parametrize("case", list(REALISTIC))
def test_realistic_documents_validate(case):
    noun, text = REALISTIC[case]
    document = xml(text)
    compiled = schema(noun)
    assert compiled.validate(document), compiled.error_log
    assert validate_documents(noun, [document]) == []


# ---------------------------------------------------------------- typical mistakes: 1.8 with a path


RECORD = "/OutageRecords/OutageRecord[1]"
SCHEDULE = "/MeterReadSchedules/MeterReadSchedule[1]"
REQUEST = "/WorkRequests/WorkRequest[1]"

# case -> (noun, document, the path the error names, the element its QName names)
MISTAKES = {
    # OutageRecords
    "status value outside the list": (
        "OutageRecords", replaced(CLOSED_BY_RESTORATION, "<value>closed</value>", "<value>restored</value>"),
        f"{RECORD}/status/value", "value"),
    "status without its value": (
        "OutageRecords", replaced(OPENED_BY_LAST_GASP, "<value>open</value>", ""),
        f"{RECORD}/status", "status"),
    "status as bare text": (
        "OutageRecords", replaced(TROUBLE_CALL, "<status><value>open</value></status>", "<status>open</status>"),
        f"{RECORD}/status", "status"),
    "period written start before end": (
        "OutageRecords", replaced(CLOSED_BY_RESTORATION, "<end>2024-03-05T11:02:47+01:00</end>"
                                                         "<start>2024-03-05T09:30:12Z</start>",
                                  "<start>2024-03-05T09:30:12Z</start><end>2024-03-05T11:02:47+01:00</end>"),
        f"{RECORD}/actualPeriod/end", "end"),
    "device by serial number only": (
        "OutageRecords", replaced(TROUBLE_CALL, "<EndDevices><mRID>mtr-0002</mRID></EndDevices>",
                                  "<EndDevices><Names><name>SN-1</name></Names></EndDevices>"),
        f"{RECORD}/EndDevices[2]/Names", "Names"),
    "blank device mRID": (
        "OutageRecords", replaced(CLOSED_BY_RESTORATION, f"<EndDevices><mRID>{DEVICE}</mRID>",
                                  "<EndDevices><mRID> </mRID>"),
        f"{RECORD}/EndDevices/mRID", "mRID"),
    "event type as text, not a ref": (
        "OutageRecords", replaced(OPENED_BY_LAST_GASP, f'<EndDeviceEventType ref="{LAST_GASP}"/>',
                                  f"<EndDeviceEventType>{LAST_GASP}</EndDeviceEventType>"),
        f"{RECORD}/EndDeviceEvents/EndDeviceEventType", "EndDeviceEventType"),
    "event type code of three parts": (
        "OutageRecords", replaced(OPENED_BY_LAST_GASP, f'ref="{LAST_GASP}"', 'ref="3.26.85"'),
        f"{RECORD}/EndDeviceEvents/EndDeviceEventType", "EndDeviceEventType"),
    "event without its mRID": (
        "OutageRecords", replaced(CLOSED_BY_RESTORATION, "<mRID>e1f2a3b4-0000-4000-8000-00000000rs01</mRID>", ""),
        f"{RECORD}/EndDeviceEvents[2]/createdDateTime", "createdDateTime"),
    "createdDateTime without a time zone separator": (
        "OutageRecords", replaced(TROUBLE_CALL, "2024-03-05T18:11:00-05:00", "2024-03-05 18:11"),
        f"{RECORD}/createdDateTime", "createdDateTime"),
    "a Meter element, not EndDevices": (
        "OutageRecords", replaced(CLOSED_BY_RESTORATION, f"<EndDevices><mRID>{DEVICE}</mRID></EndDevices>",
                                  f"<Meter><mRID>{DEVICE}</mRID></Meter>"),
        f"{RECORD}/Meter", "Meter"),
    # MeterReadSchedules
    "recurrence as an ISO-8601 duration": (
        "MeterReadSchedules", replaced(INTERVAL_READ_OF_METERS, "<recurrencePeriod>900</recurrencePeriod>",
                                       "<recurrencePeriod>PT15M</recurrencePeriod>"),
        f"{SCHEDULE}/recurrencePeriod", "recurrencePeriod"),
    "recurrence of zero seconds": (
        "MeterReadSchedules", replaced(DAILY_BILLING_READ, "<recurrencePeriod>86400</recurrencePeriod>",
                                       "<recurrencePeriod>0</recurrencePeriod>"),
        f"{SCHEDULE}/recurrencePeriod", "recurrencePeriod"),
    "negative offset": (
        "MeterReadSchedules", replaced(DAILY_BILLING_READ, "<offset>7200</offset>", "<offset>-3600</offset>"),
        f"{SCHEDULE}/offset", "offset"),
    "reading type by its unit": (
        "MeterReadSchedules", replaced(DAILY_BILLING_READ, 'ref="0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0"', 'ref="kWh"'),
        f"{SCHEDULE}/ReadingTypes[1]", "ReadingTypes"),
    "reading type code short of fields": (
        "MeterReadSchedules", replaced(INTERVAL_READ_OF_METERS, 'ref="0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"',
                                       'ref="0.0.2.4.1.1.12.0.0.0.0.0.0.3.72.0"'),
        f"{SCHEDULE}/ReadingTypes", "ReadingTypes"),
    "reading type without its ref": (
        "MeterReadSchedules", replaced(INTERVAL_READ_OF_METERS, '<ReadingTypes ref="0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"/>',
                                       "<ReadingTypes/>"),
        f"{SCHEDULE}/ReadingTypes", "ReadingTypes"),
    "disabled in words": (
        "MeterReadSchedules", replaced(SUSPENDED_BY_NAME, "<disabled>true</disabled>", "<disabled>yes</disabled>"),
        f"{SCHEDULE}/disabled", "disabled"),
    "interval written start before end": (
        "MeterReadSchedules", replaced(INTERVAL_READ_OF_METERS, "<end>2024-03-31T23:59:59Z</end><start>2024-03-01T00:00:00Z</start>",
                                       "<start>2024-03-01T00:00:00Z</start><end>2024-03-31T23:59:59Z</end>"),
        f"{SCHEDULE}/scheduleInterval/end", "end"),
    "a single EndDeviceGroup, as the EPRI root has it": (
        "MeterReadSchedules", replaced(DAILY_BILLING_READ, "<EndDeviceGroups>", "<EndDeviceGroup>").replace(
            "</EndDeviceGroups>", "</EndDeviceGroup>"),
        f"{SCHEDULE}/EndDeviceGroup", "EndDeviceGroup"),
    "schedule elements out of order": (
        "MeterReadSchedules", replaced(DAILY_BILLING_READ, "<disabled>false</disabled>", "").replace(
            "</scheduleInterval>", "</scheduleInterval><disabled>false</disabled>"),
        f"{SCHEDULE}/disabled", "disabled"),
    # WorkRequests
    "work kind in the plural": (
        "WorkRequests", replaced(TWO_REQUESTS, "<kind>maintenance</kind>", "<kind>repairs</kind>"),
        f"{REQUEST}/kind", "kind"),
    "work kind capitalised": (
        "WorkRequests", replaced(NEW_SERVICE_CONNECTION, "<kind>connect</kind>", "<kind>Connect</kind>"),
        f"{REQUEST}/kind", "kind"),
    "canceled spelt as the verb, not as CIM": (
        "WorkRequests", replaced(TWO_REQUESTS, "<statusKind>scheduled</statusKind>", "<statusKind>canceled</statusKind>"),
        f"{REQUEST}/statusKind", "statusKind"),
    "status open, which work does not have": (
        "WorkRequests", replaced(NEW_SERVICE_CONNECTION, "<statusKind>waitingOnApproval</statusKind>",
                                 "<statusKind>open</statusKind>"),
        f"{REQUEST}/statusKind", "statusKind"),
    "priority as a bare value": (
        "WorkRequests", replaced(TWO_REQUESTS, "<priority><rank>4</rank></priority>", "<priority>4</priority>"),
        f"{REQUEST}/priority", "priority"),
    "priority rank in words": (
        "WorkRequests", replaced(NEW_SERVICE_CONNECTION, "<rank>2</rank>", "<rank>high</rank>"),
        f"{REQUEST}/priority/rank", "rank"),
    "request date without its time": (
        "WorkRequests", replaced(TWO_REQUESTS, "<requestDateTime>2024-03-05T08:00:00Z</requestDateTime>",
                                 "<requestDateTime>2024-03-05</requestDateTime>"),
        "/WorkRequests/WorkRequest[2]/requestDateTime", "requestDateTime"),
    "two work locations": (
        "WorkRequests", replaced(TWO_REQUESTS, "</WorkLocation>", "</WorkLocation><WorkLocation><mRID>loc-2</mRID>"
                                                                  "</WorkLocation>"),
        f"{REQUEST}/WorkLocation[2]", "WorkLocation"),
    "blank usage point mRID": (
        "WorkRequests", replaced(ELEMENT_OPERATION, "<UsagePoints><mRID>up-9001</mRID>", "<UsagePoints><mRID></mRID>"),
        f"{REQUEST}/UsagePoints/mRID", "mRID"),
    "Names before Customers (CIM order is alphabetical)": (
        "WorkRequests", replaced(NEW_SERVICE_CONNECTION, "<statusKind>waitingOnApproval</statusKind>",
                                 "<statusKind>waitingOnApproval</statusKind><Names><name>WR-7</name></Names>"),
        f"{REQUEST}/Customers", "Customers"),
    "element of another namespace in a request": (
        "WorkRequests", replaced(ELEMENT_OPERATION, "</WorkRequest>",
                                 '<x:crew xmlns:x="urn:example">north</x:crew></WorkRequest>'),
        f"{REQUEST}/crew", "crew"),
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
    [error] = validate_documents("WorkRequests", [xml(OPENED_BY_LAST_GASP)])
    assert error.code == "1.8" and "must be a WorkRequests document" in error.reason


def test_empty_references_are_accepted_where_names_may_stand_in():
    """ObjectRef is mRID?, Names*: XSD 1.0 cannot ask for one of them without an xs:choice, which
    stock zeep turns into an awkward Names__1; an empty reference is left to the receiver."""
    text = replaced(ELEMENT_OPERATION, "<UsagePoints><mRID>up-9001</mRID></UsagePoints>", "<UsagePoints/>")
    assert validate_documents("WorkRequests", [xml(text)]) == []


# ---------------------------------------------------------------- the noun table: services, operations, soapActions


@pytest.mark.parametrize(("noun", "interface", "item"), [("OutageRecords", "I6", "OutageRecord"),
                                                         ("MeterReadSchedules", "I7", "MeterReadSchedule"),
                                                         ("WorkRequests", "I4", "WorkRequest")])
def test_the_nouns_sit_on_their_interface_unsigned(noun, interface, item):
    entry = NOUNS[noun]
    assert (entry.interface, entry.item, entry.profile_xsd) == (interface, item, f"{noun}.xsd")
    assert entry.profile_ns == f"http://iec.ch/TC57/2011/{noun}#"
    assert entry.roles == ("Get", "Execute", "Receive")
    assert entry.unknown_code == "2.15"
    assert not entry.signed_by_default and not interface_requires_signing(interface)
    assert not any(service.signed_by_default for service in entry.services())


@pytest.mark.parametrize("noun", ["MeterReadSchedules", "WorkRequests"])
def test_schedules_and_work_requests_offer_the_standards_five_transactions(noun):
    assert NOUNS[noun].transactions == DEFAULT_TRANSACTIONS
    assert table(noun) == expected_rows(noun, DEFAULT_TRANSACTIONS,
                                        ("created", "changed", "canceled", "closed", "deleted"))


def test_outage_records_are_never_deleted():
    assert table("OutageRecords") == expected_rows("OutageRecords", ("create", "change", "cancel", "close"),
                                                   ("created", "changed", "canceled", "closed"))
    entry = NOUNS["OutageRecords"]
    assert not verb_allowed(entry, "delete") and not verb_allowed(entry, "deleted")
    assert verb_allowed(entry, "close") and verb_allowed(entry, "canceled")
    assert not (wsdl_dir() / "ExecuteOutageRecords.wsdl").read_text(encoding="utf-8").count("DeleteOutageRecords")
    carriers = dict(carrier_elements(entry))
    assert "DeleteOutageRecords" not in carriers and "DeletedOutageRecords" not in carriers
    assert carriers["CloseOutageRecords"] == "RequestMessage" and carriers["ClosedOutageRecords"] == "EventMessage"


# ---------------------------------------------------------------- the standard's WSDL templates

TEMPLATES = {"Execute": "Request_Execute_WSDL_Template.wsdl", "Receive": "Send_Receive_Reply_WSDL_Template.wsdl"}


@pytest.mark.parametrize("role", list(TEMPLATES))
def test_outage_record_operations_are_the_templates_less_delete(role, public_dir):
    """tests/test_wsdl.py holds the five-transaction nouns to the templates; this one offers fewer."""
    text = (public_dir / "wsdl-templates" / TEMPLATES[role]).read_text(encoding="utf-8-sig")
    for placeholder, value in (("{Information_Object_Name}", "OutageRecords"), ("{Request | Execute}", "Execute"),
                               ("{Send | Receive | Reply}", "Receive")):
        text = text.replace(placeholder, value)
    theirs = shapes(etree.fromstring(text.encode()))
    ours = shapes(etree.parse(str(wsdl_dir() / f"{role}OutageRecords.wsdl")).getroot())
    assert ours == {name: shape for name, shape in theirs.items() if not name.startswith("Delete")}


# ---------------------------------------------------------------- what stock zeep sees

NEW_SERVICES = [s for s in services() if s.noun in NEW_NOUNS]


@pytest.fixture(scope="module")
def zeep_clients() -> dict[str, zeep.Client]:
    return {s.name: zeep.Client(str(wsdl_dir() / f"{s.name}.wsdl")) for s in NEW_SERVICES}


def test_the_new_services_have_their_wsdls():
    assert sorted(s.name for s in NEW_SERVICES) == sorted(f"{role}{noun}" for noun in NEW_NOUNS
                                                          for role in ("Get", "Execute", "Receive"))
    assert all((wsdl_dir() / f"{s.name}.wsdl").is_file() for s in NEW_SERVICES)


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


def built_by_zeep(client: zeep.Client, operation: str, header: dict, payload: dict) -> etree._Element:
    envelope = client.create_message(client.service, operation, Header=header, Payload=payload)
    carrier = soap.unwrap_element(envelope).message
    assert etree.QName(carrier).localname == operation
    assert validate_message(carrier) == []
    return carrier


def test_zeep_builds_a_valid_create_work_requests(zeep_clients):
    client = zeep_clients["ExecuteWorkRequests"]
    document = client.get_element(f"{{{WR}}}WorkRequests")(WorkRequest=[{
        "mRID": "wr-1", "description": "replace cracked insulator", "kind": "repair", "requestDateTime": T0,
        "statusKind": "approved", "Customers": [{"Names": [{"name": "ACCT-1", "NameType": {"name": "AccountNumber"}}]}],
        "priority": {"rank": 1, "type": "safety"}, "UsagePoints": [{"mRID": "up-1"}, {"mRID": "up-2"}],
        "WorkLocation": {"Names": [{"name": "pole P-4471"}]},
    }])
    carrier = built_by_zeep(client, "CreateWorkRequests", {"Verb": "create", "Noun": "WorkRequests", "MessageID": "m-1"},
                            {"WorkRequests": [document]})
    message = parse(carrier)
    assert message.header.verb == "create"
    assert validate_documents("WorkRequests", message.payload.documents) == []


def test_zeep_builds_a_valid_create_meter_read_schedules(zeep_clients):
    client = zeep_clients["ExecuteMeterReadSchedules"]
    document = client.get_element(f"{{{MRS}}}MeterReadSchedules")(MeterReadSchedule=[{
        "mRID": "mrs-1", "offset": 7200, "recurrencePeriod": 86400,
        "EndDeviceGroups": [{"Names": [{"name": "feeder-12"}]}],
        "ReadingTypes": [{"ref": "0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0"}],
        "scheduleInterval": {"start": T0},
    }])
    carrier = built_by_zeep(client, "CreateMeterReadSchedules",
                            {"Verb": "create", "Noun": "MeterReadSchedules", "Timestamp": T0},
                            {"MeterReadSchedules": [document]})
    assert validate_documents("MeterReadSchedules", parse(carrier).payload.documents) == []


def test_zeep_builds_a_valid_created_outage_records_event(zeep_clients):
    client = zeep_clients["ReceiveOutageRecords"]
    document = client.get_element(f"{{{OR}}}OutageRecords")(OutageRecord=[{
        "mRID": str(uuid.uuid4()), "createdDateTime": T0, "actualPeriod": {"start": T0},
        "EndDeviceEvents": [{"mRID": "ev-1", "createdDateTime": T0, "EndDeviceEventType": {"ref": LAST_GASP}}],
        "EndDevices": [{"mRID": DEVICE}],
        "Names": [{"name": DEVICE, "NameType": {"name": "EndDevice"}}],
        "status": {"dateTime": T0, "value": "open"},
    }])
    carrier = built_by_zeep(client, "CreatedOutageRecords", {"Verb": "created", "Noun": "OutageRecords",
                                                            "Timestamp": T0}, {"OutageRecords": [document]})
    assert validate_documents("OutageRecords", parse(carrier).payload.documents) == []


@pytest.mark.parametrize(("noun", "element", "message"), [
    ("OutageRecords", "ChangeOutageRecords", lambda: RequestMessage(
        Header("change", "OutageRecords", message_id="m-2"), payload=Payload([xml(CLOSED_BY_RESTORATION)]))),
    ("MeterReadSchedules", "CreateMeterReadSchedules", lambda: RequestMessage(
        Header("create", "MeterReadSchedules", message_id="m-3"), payload=Payload([xml(DAILY_BILLING_READ)]))),
    ("WorkRequests", "DeletedWorkRequests", lambda: EventMessage(
        Header("deleted", "WorkRequests", timestamp=T0), Payload([xml(TWO_REQUESTS)]))),
], ids=["change-outage", "create-schedule", "deleted-work"])
def test_typed_carriers_of_the_new_nouns_validate(noun, element, message):
    ns = NOUNS[noun].message_ns
    carrier = to_element(message(), wrapper=f"{{{ns}}}{element}", part_ns=ns)
    assert validate_message(carrier) == []


def test_a_typed_carrier_checks_the_new_profile():
    broken = xml(MISTAKES["recurrence as an ISO-8601 duration"][1])
    ns = NOUNS["MeterReadSchedules"].message_ns
    carrier = to_element(RequestMessage(Header("create", "MeterReadSchedules"), payload=Payload([broken])),
                         wrapper=f"{{{ns}}}CreateMeterReadSchedules", part_ns=ns)
    problems = validate_message(carrier)
    assert problems and "recurrencePeriod" in problems[0]


# ---------------------------------------------------------------- objects are keyed like every noun's


@pytest.mark.parametrize(("noun", "text", "keys"), [
    ("OutageRecords", OPENED_BY_LAST_GASP, ["5d0c4a52-3f0e-4c55-a0a4-3c1b6e2f9d10"]),
    ("OutageRecords", TROUBLE_CALL, ["name:OutageNumber:OUT-2024-0345"]),
    ("MeterReadSchedules", DAILY_BILLING_READ, ["0b9e7f3c-6a2d-4d1e-9c8b-7a6f5e4d3c21"]),
    ("MeterReadSchedules", INTERVAL_READ_OF_METERS, ["name::load-research-2024Q1"]),
    ("WorkRequests", TWO_REQUESTS, ["2a7c1e90-5b3d-4f2a-9e8c-1d0b2a3c4e5f", "name:WorkRequestNumber:WR-2024-001190"]),
], ids=["record-by-mrid", "record-by-name", "schedule-by-mrid", "schedule-by-untyped-name", "two-requests"])
def test_objects_are_found_and_keyed(noun, text, keys):
    entry = NOUNS[noun]
    found = [objects.identify(entry, item) for item in objects.items(entry, xml(text))]
    assert [ref.key for ref in found] == keys


def test_referenced_objects_do_not_key_the_item():
    """The device's mRID in EndDevices, or the event's, is not the record's."""
    entry = NOUNS["OutageRecords"]
    text = OPENED_BY_LAST_GASP.replace("<mRID>5d0c4a52-3f0e-4c55-a0a4-3c1b6e2f9d10</mRID>", "").replace(
        f"<Names><name>{DEVICE}</name><NameType><name>EndDevice</name></NameType></Names>\n", "")
    [item] = objects.items(entry, xml(text))
    assert objects.identify(entry, item) is None


def test_the_record_keeps_the_devices_it_is_about_as_names():
    entry = NOUNS["OutageRecords"]
    [item] = objects.items(entry, xml(TROUBLE_CALL))
    ref = objects.identify(entry, item)
    assert ref.mrid is None
    assert ref.names == (("OUT-2024-0345", "OutageNumber"), ("mtr-0001", "EndDevice"), ("mtr-0002", "EndDevice"))


def test_a_document_built_from_stored_objects_validates():
    entry = NOUNS["WorkRequests"]
    stored = [objects.serialize(item) for item in objects.items(entry, xml(TWO_REQUESTS))]
    assert validate_documents("WorkRequests", [objects.document(entry, stored)]) == []


# ---------------------------------------------------------------- the outage record of a device, found again


def open_record_of(uow, device_mrid: str):
    """The lookup I6.md documents: by Name (device mRID, NameType EndDevice), status open, still active."""
    entry = NOUNS["OutageRecords"]
    found = []
    for row in uow.object_find_by_name(entry.name, device_mrid, "EndDevice"):
        value = etree.fromstring(row.xml).findtext(f"{{{OR}}}status/{{{OR}}}value")
        if row.status == "active" and value == "open":
            found.append(row)
    assert len(found) <= 1, "the rule opens a record only when it finds none"
    return found[0] if found else None


def record_from(text: str, record_mrid: str | None = None):
    entry = NOUNS["OutageRecords"]
    if record_mrid:
        text = text.replace("5d0c4a52-3f0e-4c55-a0a4-3c1b6e2f9d10", record_mrid)
    [item] = objects.items(entry, xml(text))
    return objects.identify(entry, item), objects.serialize(item)


def test_the_open_record_of_a_device_is_found_again_across_outages(tmp_path):
    from soapbus.store import Store

    store = Store(f"sqlite:///{tmp_path / 'outages.db'}")
    store.create_schema()
    noun, item = "OutageRecords", "OutageRecord"
    try:
        with store.unit_of_work() as uow:
            assert open_record_of(uow, DEVICE) is None
            # First outage: opened by a last gasp, closed by the restoration.
            ref, raw = record_from(OPENED_BY_LAST_GASP)
            uow.object_insert(noun, ref.key, item, raw, names=list(ref.names))
            assert open_record_of(uow, DEVICE).key == ref.key
            closed_ref, closed_raw = record_from(CLOSED_BY_RESTORATION)
            assert closed_ref.key == ref.key
            uow.object_update(noun, ref.key, closed_raw, names=list(closed_ref.names))
            assert open_record_of(uow, DEVICE) is None
            # Second outage of the same device: a record of its own, found while open.
            second = str(uuid.uuid4())
            ref2, raw2 = record_from(OPENED_BY_LAST_GASP, second)
            uow.object_insert(noun, ref2.key, item, raw2, names=list(ref2.names))
            assert open_record_of(uow, DEVICE).key == second
            assert sorted(r.key for r in uow.object_find_by_name(noun, DEVICE, "EndDevice")) == sorted([ref.key, second])
            # Closed by the verb (stored status), though its document still says open: not open any more.
            uow.object_set_status(noun, second, "closed")
            assert open_record_of(uow, DEVICE) is None
            # Another device's name does not find it.
            assert open_record_of(uow, "mtr-0001") is None
    finally:
        store.close()


# ---------------------------------------------------------------- the interface pages


@pytest.mark.parametrize("noun", NEW_NOUNS)
def test_the_interface_page_holds_the_generated_section(noun):
    page = (DOCS / f"{NOUNS[noun].interface}.md").read_text(encoding="utf-8")
    assert noun_section(NOUNS[noun]) in page, f"regenerate the {noun} section with soapbus.profiles.interface_docs"


@pytest.mark.parametrize("interface", ["I4", "I6", "I7"])
def test_every_noun_of_the_interface_has_its_section(interface):
    page = (DOCS / f"{interface}.md").read_text(encoding="utf-8")
    for noun in NOUNS.values():
        assert (f"### {noun.name}\n" in page) == (noun.interface == interface), noun.name


def test_the_i6_page_documents_the_lookup():
    page = (DOCS / "I6.md").read_text(encoding="utf-8")
    lookup = page.split("## Finding the record of a device again", 1)[1].split("\n## ", 1)[0]
    for needed in ("EndDevice", "object_find_by_name", "open", LAST_GASP, RESTORED, "fresh UUID mRID"):
        assert needed in lookup, needed
    for value in ("open", "closed", "cancelled"):
        assert f"| {value} |" in page, value
