"""`execute` over real HTTP: OperationSets (sequence, transactional integrity, element-level edits)
and the execution of SwitchingPlans and Controls on a server that requires them signed."""
from __future__ import annotations

import pytest
from lxml import etree

from soapbus import message as m
from soapbus.message import namespaces, soap
from soapbus.profiles import validate_message
from soapbus.security import SigningKey, pki, sign_envelope
from soapbus.store import Store

from .helpers import (EDC_NS, MR_NS, fault_of, generic_envelope, header, meter_readings, server_on, start_server,
                      typed_envelope)

MSG = namespaces.MSG
SP_NS = namespaces.profile_ns("SwitchingPlans")
CTL_NS = namespaces.profile_ns("Controls")


# ---------------------------------------------------------------- servers


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    # savepoints behave differently enough on PostgreSQL to try both
    with server_on(request.param, tmp_path_factory.mktemp(f"opset-{request.param}"), "opset") as proc:
        yield proc


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory):
    return pki.init(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory, test_pki):
    """I1 and I9 nouns are refused unsigned: this server verifies against the test PKI."""
    proc = start_server(tmp_path_factory.mktemp("opset-signed"), extra_args=[
        "--server-key", str(test_pki.server.key), "--server-cert", str(test_pki.server.cert),
        "--trust-ca", str(test_pki.ca.cert)])
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def mdms_key(test_pki):
    return SigningKey.load(test_pki.mdms.key, test_pki.mdms.cert)


# ---------------------------------------------------------------- building OperationSets


def _msg(parent, name: str, text) -> None:
    etree.SubElement(parent, f"{{{MSG}}}{name}").text = str(text)


def operation(operation_id, verb: str, document: etree._Element, noun: str | None = "MeterReadings",
              element: bool | None = None) -> etree._Element:
    op = etree.Element(f"{{{MSG}}}Operation")
    _msg(op, "operationId", operation_id)
    if noun is not None:
        _msg(op, "noun", noun)
    _msg(op, "verb", verb)
    if element is not None:
        _msg(op, "elementOperation", "true" if element else "false")
    op.append(document)
    return op


def operation_set(*operations, sequence: bool | None = None, integrity: bool | None = None) -> etree._Element:
    op_set = etree.Element(f"{{{MSG}}}OperationSet", nsmap={"m": MSG})
    if sequence is not None:
        _msg(op_set, "enforceMsgSequence", "true" if sequence else "false")
    if integrity is not None:
        _msg(op_set, "enforceTransactionalIntegrity", "true" if integrity else "false")
    for op in operations:
        op_set.append(op)
    return op_set


def execute_request(op_set: etree._Element, noun: str = "OperationSet", **header_fields) -> m.RequestMessage:
    return m.RequestMessage(header("execute", noun, **header_fields), None, m.Payload(operation_set=op_set))


def checked_reply(resp) -> m.ResponseMessage:
    """The reply in an HTTP answer, after checking that it validates against our message schemas."""
    assert resp.status_code == 200, resp.text
    element = soap.unwrap(resp.content).message
    assert validate_message(element) == [], resp.text
    return m.parse(element)


def send_set(server, op_set, noun: str = "OperationSet") -> m.ResponseMessage:
    return checked_reply(server.post("Operations", generic_envelope(execute_request(op_set, noun))))


def errors_of(reply: m.ResponseMessage) -> list[tuple[str, int | None]]:
    return [(e.code, e.operation_id) for e in reply.reply.errors]


# ---------------------------------------------------------------- reading the store back


def stored_xml(server, mrid: str, noun: str = "MeterReadings") -> etree._Element | None:
    store = Store(server.database_url)
    try:
        with store.unit_of_work() as uow:
            row = uow.object_get(noun, mrid)
    finally:
        store.close()
    return None if row is None else etree.fromstring(row.xml)


def stored_status(server, mrid: str, noun: str) -> str | None:
    store = Store(server.database_url)
    try:
        with store.unit_of_work() as uow:
            row = uow.object_get(noun, mrid)
    finally:
        store.close()
    return None if row is None else row.status


def values_of(item: etree._Element) -> list[str]:
    return [el.text for el in item.iter(f"{{{MR_NS}}}value")]


def create_readings(server, *mrids, value="12.5"):
    req = m.RequestMessage(header("create", "MeterReadings"), None,
                           m.Payload(documents=[meter_readings(*mrids, value=value)]))
    assert checked_reply(server.post("Operations", generic_envelope(req))).reply.result == "OK"


def reading(timestamp: str, value: str) -> etree._Element:
    el = etree.Element(f"{{{MR_NS}}}Readings")
    etree.SubElement(el, f"{{{MR_NS}}}timeStamp").text = timestamp
    etree.SubElement(el, f"{{{MR_NS}}}value").text = value
    etree.SubElement(el, f"{{{MR_NS}}}ReadingType").set("ref", "0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0")
    return el


def meter_reading_parts(mrid: str, *children: etree._Element) -> etree._Element:
    """A MeterReadings document naming one MeterReading by mRID with the given children (element-level)."""
    doc = etree.Element(f"{{{MR_NS}}}MeterReadings", nsmap={None: MR_NS})
    item = etree.SubElement(doc, f"{{{MR_NS}}}MeterReading")
    etree.SubElement(item, f"{{{MR_NS}}}mRID").text = mrid
    for child in children:
        item.append(child)
    return doc


def usage_point(mrid: str | None) -> etree._Element:
    el = etree.Element(f"{{{MR_NS}}}UsagePoint")
    if mrid is not None:
        etree.SubElement(el, f"{{{MR_NS}}}mRID").text = mrid
    return el


# ---------------------------------------------------------------- the EPRI 61968-6 script


def test_create_two_then_change_one_and_delete_the_other_in_one_set(server):
    kept, dropped = m.new_message_id(), m.new_message_id()
    reply = send_set(server, operation_set(
        operation(1, "create", meter_readings(kept)),
        operation(2, "create", meter_readings(dropped)),
        operation(3, "change", meter_readings(kept, value="99.0")),
        operation(4, "delete", meter_readings(dropped)),
        sequence=True))
    assert reply.reply.result == "OK" and errors_of(reply) == [("0.0", None)]
    assert reply.header.verb == "reply" and reply.header.noun == "OperationSet"
    assert values_of(stored_xml(server, kept)) == ["99.0"]
    assert stored_xml(server, dropped) is None


def test_a_set_sent_under_its_noun(server):
    mrid = m.new_message_id()
    reply = send_set(server, operation_set(operation(1, "create", meter_readings(mrid), noun=None)),
                     noun="MeterReadings")
    assert reply.reply.result == "OK"  # the noun taken from the document's root
    assert stored_xml(server, mrid) is not None


def test_transactional_integrity_rolls_everything_back_and_names_the_failed_operation(server):
    existing, new = m.new_message_id(), m.new_message_id()
    create_readings(server, existing, value="1.0")
    reply = send_set(server, operation_set(
        operation(10, "change", meter_readings(existing, value="2.0")),
        operation(20, "create", meter_readings(new)),
        operation(30, "change", meter_readings("never-created")),
        operation(40, "create", meter_readings(existing)),  # a duplicate create fails too: both are named
        integrity=True))
    assert reply.reply.result == "FAILED"
    assert errors_of(reply) == [("5.9", 10), ("5.9", 20), ("2.4", 30), ("6.1", 40)]
    assert "30" in reply.reply.errors[0].reason and "40" in reply.reply.errors[0].reason
    assert values_of(stored_xml(server, existing)) == ["1.0"]  # the change was undone
    assert stored_xml(server, new) is None  # and so was the create


def test_transactional_integrity_with_sequence_stops_and_rolls_back(server):
    first, last = m.new_message_id(), m.new_message_id()
    reply = send_set(server, operation_set(
        operation(1, "create", meter_readings(first)),
        operation(2, "delete", meter_readings("never-created")),
        operation(3, "create", meter_readings(last)),
        sequence=True, integrity=True))
    assert reply.reply.result == "FAILED"
    assert errors_of(reply) == [("5.9", 1), ("2.4", 2), ("5.2", 3)]
    assert stored_xml(server, first) is None and stored_xml(server, last) is None


def test_without_flags_every_operation_stands_alone(server):
    one, three = m.new_message_id(), m.new_message_id()
    reply = send_set(server, operation_set(
        operation(1, "create", meter_readings(one)),
        operation(2, "change", meter_readings("never-created")),
        operation(3, "create", meter_readings(three))))
    assert reply.reply.result == "PARTIAL"
    assert errors_of(reply) == [("2.4", 2)]
    assert reply.reply.errors[0].id.value == "never-created"
    assert {i.value for i in reply.reply.ids} == {one, three}
    assert stored_xml(server, one) is not None and stored_xml(server, three) is not None


def test_an_operation_is_applied_whole_or_not_at_all(server):
    existing, new = m.new_message_id(), m.new_message_id()
    create_readings(server, existing)
    reply = send_set(server, operation_set(operation(1, "create", meter_readings(new, existing))))
    assert reply.reply.result == "FAILED" and errors_of(reply) == [("6.1", 1)]
    assert "rolled back" in reply.reply.errors[0].reason
    assert stored_xml(server, new) is None


def test_enforced_sequence_stops_at_the_first_failure(server):
    before, after = m.new_message_id(), m.new_message_id()
    reply = send_set(server, operation_set(
        operation(1, "create", meter_readings(before)),
        operation(2, "change", meter_readings("never-created")),
        operation(3, "create", meter_readings(after)),
        sequence=True))
    assert reply.reply.result == "PARTIAL"
    assert errors_of(reply) == [("2.4", 2), ("5.2", 3)]
    assert stored_xml(server, before) is not None  # kept: no transactional integrity asked
    assert stored_xml(server, after) is None  # never attempted


def test_each_operation_is_checked_on_its_own(server):
    bad_document = meter_readings(m.new_message_id())
    bad_document[0].append(etree.Element(f"{{{MR_NS}}}notInTheProfile"))
    controls = etree.Element(f"{{{CTL_NS}}}Controls")
    good = m.new_message_id()
    reply = send_set(server, operation_set(
        operation(1, "create", meter_readings(m.new_message_id()), noun="Unheard"),
        operation(2, "cancel", meter_readings(m.new_message_id())),
        operation(3, "create", bad_document),
        operation(4, "create", controls, noun="Controls"),  # I9 must travel signed, under its own noun
        operation(5, "create", meter_readings(good))))
    assert reply.reply.result == "PARTIAL"
    assert errors_of(reply) == [("2.5", 1), ("2.9", 2), ("1.8", 3), ("2.5", 4)]
    assert "Header/Noun Controls" in reply.reply.errors[3].reason
    assert stored_xml(server, good) is not None


def test_a_set_under_a_noun_keeps_to_that_noun(server):
    ede = etree.Element(f"{{{namespaces.profile_ns('EndDeviceEvents')}}}EndDeviceEvents")
    reply = send_set(server, operation_set(operation(1, "create", ede, noun="EndDeviceEvents")), noun="MeterReadings")
    assert reply.reply.result == "FAILED" and errors_of(reply) == [("2.5", 1)]


def test_past_tense_operations_apply_changes_made_elsewhere(server):
    mrid = m.new_message_id()
    reply = send_set(server, operation_set(
        operation(1, "created", meter_readings(mrid, value="5.0")),
        operation(2, "changed", meter_readings(mrid, value="6.0")),
        sequence=True))
    assert reply.reply.result == "OK"
    assert values_of(stored_xml(server, mrid)) == ["6.0"]
    reply = send_set(server, operation_set(operation(1, "deleted", meter_readings(mrid))))
    assert reply.reply.result == "OK" and stored_xml(server, mrid) is None


def test_a_malformed_set_is_refused_whole(server):
    mrid = m.new_message_id()
    repeated = operation_set(operation(1, "create", meter_readings(mrid)),
                             operation(1, "create", meter_readings(m.new_message_id())))
    reply = send_set(server, repeated)
    assert reply.reply.result == "FAILED" and [e.code for e in reply.reply.errors] == ["1.8"]
    assert stored_xml(server, mrid) is None
    assert [e.code for e in send_set(server, operation_set()).reply.errors] == ["1.7"]


def test_noun_operation_set_needs_an_operation_set(server):
    req = m.RequestMessage(header("execute", "OperationSet"), None,
                           m.Payload(documents=[meter_readings(m.new_message_id())]))
    reply = checked_reply(server.post("Operations", generic_envelope(req)))
    assert reply.reply.result == "FAILED" and reply.reply.errors[0].code == "1.7"


def test_execute_without_a_set_on_a_noun_that_is_not_executed(server):
    req = m.RequestMessage(header("execute", "MeterReadings"), None,
                           m.Payload(documents=[meter_readings(m.new_message_id())]))
    reply = checked_reply(server.post("Operations", generic_envelope(req)))
    assert reply.reply.result == "FAILED" and reply.reply.errors[0].code == "2.9"


# ---------------------------------------------------------------- element-level operations


def test_element_delete_removes_one_reading_and_keeps_the_object(server):
    mrid = m.new_message_id()
    create_readings(server, mrid, value="1.0")
    second = reading("2026-11-26T11:00:00Z", "2.0")
    send_set(server, operation_set(operation(1, "create", meter_reading_parts(mrid, second), element=True)))
    assert values_of(stored_xml(server, mrid)) == ["1.0", "2.0"]
    reply = send_set(server, operation_set(operation(
        1, "delete", meter_reading_parts(mrid, reading("2026-11-26T10:00:00Z", "1.0")), element=True)))
    assert reply.reply.result == "OK"
    assert values_of(stored_xml(server, mrid)) == ["2.0"]


def test_element_delete_of_a_link_only_when_it_matches(server):
    mrid = m.new_message_id()
    create_readings(server, mrid)
    send_set(server, operation_set(operation(1, "create", meter_reading_parts(mrid, usage_point("UP-1")),
                                             element=True)))
    item = stored_xml(server, mrid)
    assert [etree.QName(el).localname for el in item] == ["mRID", "Readings", "UsagePoint"]  # the profile's order

    other = send_set(server, operation_set(operation(
        1, "delete", meter_reading_parts(mrid, usage_point("UP-2")), element=True)))
    assert other.reply.result == "FAILED" and errors_of(other) == [("2.15", 1)]

    reply = send_set(server, operation_set(operation(1, "delete", meter_reading_parts(mrid, usage_point("UP-1")),
                                                     element=True)))
    assert reply.reply.result == "OK"
    assert stored_xml(server, mrid).find(f"{{{MR_NS}}}UsagePoint") is None
    assert stored_xml(server, mrid).findtext(f"{{{MR_NS}}}mRID") == mrid


def test_element_change_replaces_and_element_create_refuses_duplicates(server):
    mrid = m.new_message_id()
    create_readings(server, mrid, value="1.0")
    reply = send_set(server, operation_set(
        operation(1, "change", meter_reading_parts(mrid, reading("2026-11-26T12:00:00Z", "3.0")), element=True),
        operation(2, "create", meter_reading_parts(mrid, usage_point("UP-9")), element=True),
        operation(3, "create", meter_reading_parts(mrid, usage_point("UP-9")), element=True),
        sequence=True))
    assert reply.reply.result == "PARTIAL" and errors_of(reply) == [("6.1", 3)]
    item = stored_xml(server, mrid)
    assert values_of(item) == ["3.0"]
    assert item.findtext(f"{{{MR_NS}}}UsagePoint/{{{MR_NS}}}mRID") == "UP-9"


def test_element_edits_that_would_break_the_profile_are_refused(server):
    doc_text = f"""<EndDeviceControls xmlns="{EDC_NS}"><EndDeviceControl><mRID>{m.new_message_id()}</mRID>
        <EndDeviceControlType ref="3.31.0.23"/><UsagePoints><mRID>UP-1</mRID></UsagePoints>
        <UsagePoints><mRID>UP-2</mRID></UsagePoints></EndDeviceControl></EndDeviceControls>"""
    document = etree.fromstring(doc_text)
    mrid = document.findtext(f".//{{{EDC_NS}}}mRID")
    assert send_set(server, operation_set(operation(1, "create", document, noun="EndDeviceControls"))).reply.ok

    def part(xml: str) -> etree._Element:
        return etree.fromstring(f'<EndDeviceControls xmlns="{EDC_NS}"><EndDeviceControl><mRID>{mrid}</mRID>'
                                f'{xml}</EndDeviceControl></EndDeviceControls>')

    required = send_set(server, operation_set(operation(
        1, "delete", part('<EndDeviceControlType ref="3.31.0.23"/>'), noun="EndDeviceControls", element=True)))
    assert required.reply.result == "FAILED" and errors_of(required) == [("1.8", 1)]

    link = send_set(server, operation_set(operation(
        1, "delete", part("<UsagePoints><mRID>UP-1</mRID></UsagePoints>"), noun="EndDeviceControls", element=True)))
    assert link.reply.result == "OK"
    kept = stored_xml(server, mrid, "EndDeviceControls")
    assert [el.text for el in kept.iter(f"{{{EDC_NS}}}mRID")][1:] == ["UP-2"]
    assert kept.find(f"{{{EDC_NS}}}EndDeviceControlType") is not None


def test_element_operation_on_an_unknown_object(server):
    parts = meter_reading_parts("never-created", usage_point(None))
    reply = send_set(server, operation_set(operation(1, "delete", parts, element=True)))
    assert errors_of(reply) == [("2.4", 1)]  # MeterReadings' code for an unknown object


# ---------------------------------------------------------------- every answer against the schemas


def test_replies_validate_against_message_xsd_and_the_public_schema(server, public_dir):
    public = etree.XMLSchema(etree.parse(str(public_dir / "envelope" / "Message_2011_ed1_FDIS.xsd")))
    mrid = m.new_message_id()
    sets = [operation_set(operation(1, "create", meter_readings(mrid))),  # OK
            operation_set(operation(1, "create", meter_readings(mrid)),  # FAILED, 5.9 and 6.1
                          operation(2, "create", meter_readings(m.new_message_id())), integrity=True),
            operation_set(operation(1, "change", meter_readings(mrid)),  # PARTIAL with 5.2
                          operation(2, "delete", meter_readings("never-created")),
                          operation(3, "delete", meter_readings(mrid)), sequence=True)]
    results = []
    for op_set in sets:
        resp = server.post("Operations", generic_envelope(execute_request(op_set)))
        element = soap.unwrap(resp.content).message
        assert validate_message(element) == [], resp.text
        assert public.validate(element), public.error_log
        results.append(m.parse(element).reply.result)
    assert results == ["OK", "FAILED", "PARTIAL"]


# ---------------------------------------------------------------- execute on the signed interfaces


def switching_plan(mrid: str) -> etree._Element:
    return etree.fromstring(f"""<SwitchingPlans xmlns="{SP_NS}"><SwitchingPlan><mRID>{mrid}</mRID>
      <name>SP-{mrid[:8]}</name><SwitchingStepGroups><sequenceNumber>1</sequenceNumber><SwitchActions>
        <kind>open</kind><sequenceNumber>1</sequenceNumber><PowerSystemResource><mRID>CB-12</mRID></PowerSystemResource>
      </SwitchActions></SwitchingStepGroups></SwitchingPlan></SwitchingPlans>""")


def control(mrid: str) -> etree._Element:
    return etree.fromstring(f"""<Controls xmlns="{CTL_NS}"><Control><mRID>{mrid}</mRID>
      <controlType>breakerOpen</controlType><PowerSystemResource><mRID>BREAKER-7</mRID></PowerSystemResource>
      </Control></Controls>""")


def send_signed(server, key, noun: str, operation_name: str, msg) -> m.ResponseMessage:
    envelope = etree.fromstring(typed_envelope(operation_name, noun, msg))
    return checked_reply(server.post(f"Execute{noun}", soap.to_bytes(sign_envelope(envelope, key))))


def test_execute_switching_plan_sets_it_executed_once(signed_server, mdms_key):
    mrid = m.new_message_id()
    create = m.RequestMessage(header("create", "SwitchingPlans"), None, m.Payload(documents=[switching_plan(mrid)]))
    assert send_signed(signed_server, mdms_key, "SwitchingPlans", "CreateSwitchingPlans", create).reply.ok
    execute = m.RequestMessage(header("execute", "SwitchingPlans"), None, m.Payload(ids=[m.ID(mrid)]))
    reply = send_signed(signed_server, mdms_key, "SwitchingPlans", "ExecuteSwitchingPlans", execute)
    assert reply.reply.result == "OK", reply.reply.errors
    assert stored_status(signed_server, mrid, "SwitchingPlans") == "executed"

    again = m.RequestMessage(header("execute", "SwitchingPlans"), None, m.Payload(ids=[m.ID(mrid)]))
    reply = send_signed(signed_server, mdms_key, "SwitchingPlans", "ExecuteSwitchingPlans", again)
    assert reply.reply.result == "FAILED" and reply.reply.errors[0].code == "6.1"  # not carried out twice

    unknown = m.RequestMessage(header("execute", "SwitchingPlans"), None, m.Payload(ids=[m.ID("never-created")]))
    reply = send_signed(signed_server, mdms_key, "SwitchingPlans", "ExecuteSwitchingPlans", unknown)
    assert reply.reply.result == "FAILED" and reply.reply.errors[0].code == "2.15"


def test_execute_controls_named_by_their_payload(signed_server, mdms_key):
    mrid = m.new_message_id()
    create = m.RequestMessage(header("create", "Controls"), None, m.Payload(documents=[control(mrid)]))
    assert send_signed(signed_server, mdms_key, "Controls", "CreateControls", create).reply.ok
    execute = m.RequestMessage(header("execute", "Controls"), None, m.Payload(documents=[control(mrid)]))
    assert send_signed(signed_server, mdms_key, "Controls", "ExecuteControls", execute).reply.ok
    assert stored_status(signed_server, mrid, "Controls") == "executed"


def test_an_unsigned_execute_is_refused_on_i9(signed_server):
    execute = m.RequestMessage(header("execute", "Controls"), None, m.Payload(ids=[m.ID("any")]))
    resp = signed_server.post("ExecuteControls", typed_envelope("ExecuteControls", "Controls", execute))
    assert resp.status_code == 500 and fault_of(resp).code == "wsse:InvalidSecurity"


@pytest.mark.parametrize("header_noun", ["Controls", "OperationSet"])
def test_a_signed_set_on_the_typed_execute_service(signed_server, mdms_key, header_noun):
    """On ExecuteControls a set keeps to Controls, whether Header/Noun says Controls or OperationSet."""
    mrid = m.new_message_id()
    op_set = operation_set(operation(1, "create", control(mrid), noun="Controls"),
                           operation(2, "create", meter_readings(m.new_message_id())))
    reply = send_signed(signed_server, mdms_key, "Controls", "ExecuteControls", execute_request(op_set, header_noun))
    assert reply.reply.result == "PARTIAL" and errors_of(reply) == [("2.5", 2)]
    assert stored_status(signed_server, mrid, "Controls") == "active"


def test_noun_operation_set_cannot_carry_signed_nouns_past_the_guard(signed_server):
    op_set = operation_set(operation(1, "create", control(m.new_message_id()), noun="Controls"))
    reply = checked_reply(signed_server.post("Operations", generic_envelope(execute_request(op_set))))
    assert reply.reply.result == "FAILED" and errors_of(reply) == [("2.5", 1)]
