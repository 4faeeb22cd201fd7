"""xsd/Message.xsd against the standard's envelope schema, and what soapbus.message emits.

Ours is written fresh but must give the public schema's verdict: every kind of message soapbus
emits validates under both, random messages built from the dataclasses validate under both,
and random edits of them are accepted or refused by both alike. Typed carriers (per-noun
wrappers) validate against our <Noun>Message.xsd.
"""
from __future__ import annotations

import copy
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from soapbus.message import (ID, Error, EventMessage, FaultMessage, Header, Location, Payload, ReplayDetection,
                             Reply, Request, RequestMessage, ResponseMessage, User, codes, namespaces, to_element,
                             verbs)
from soapbus.profiles import NOUNS, validate_documents, validate_message, xsd_dir
from soapbus.profiles.message_xsd import carrier_elements

XS = "http://www.w3.org/2001/XMLSchema"
MSG = namespaces.MSG
MR = "http://iec.ch/TC57/2011/MeterReadings#"
HYPOTHESIS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
T0 = datetime(2011, 6, 14, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def ours() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(xsd_dir() / "Message.xsd")))


@pytest.fixture(scope="module")
def public(public_dir) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(public_dir / "envelope" / "Message_2011_ed1_FDIS.xsd")))


def meter_readings(mrid: str = "MTR-0001", value: str = "14023.7") -> etree._Element:
    return etree.fromstring(
        f'<MeterReadings xmlns="{MR}"><MeterReading><mRID>{mrid}</mRID><Readings>'
        f'<timeStamp>2011-06-14T12:00:00Z</timeStamp><value>{value}</value>'
        f'<ReadingType ref="0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0"/></Readings></MeterReading></MeterReadings>'.encode())


def operation_set() -> etree._Element:
    m = f"{{{MSG}}}"
    op_set = etree.Element(f"{m}OperationSet", nsmap={"m": MSG})
    etree.SubElement(op_set, f"{m}enforceMsgSequence").text = "true"
    etree.SubElement(op_set, f"{m}enforceTransactionalIntegrity").text = "true"
    for op_id, verb in ((1, "change"), (2, "delete")):
        op = etree.SubElement(op_set, f"{m}Operation")
        etree.SubElement(op, f"{m}operationId").text = str(op_id)
        etree.SubElement(op, f"{m}noun").text = "MeterReadings"
        etree.SubElement(op, f"{m}verb").text = verb
        etree.SubElement(op, f"{m}elementOperation").text = "false"
        op.append(meter_readings(f"MTR-{op_id}"))
    return op_set


def full_header(verb: str) -> Header:
    return Header(verb=verb, noun="MeterReadings", revision="1.0",
                  replay_detection=ReplayDetection("b64nonce==", T0), context="PRODUCTION", timestamp=T0,
                  source="MDMS", async_reply_flag=False, reply_address="https://cis.example/replies",
                  ack_required=True, user=User("operator7", "Utility"), message_id=str(uuid.uuid4()),
                  correlation_id=str(uuid.uuid4()), comment="scheduled read",
                  properties=[("priority", "high"), ("flag", None)],
                  extensions=[etree.fromstring(b'<t:Trace xmlns:t="urn:example:trace">hop-1</t:Trace>')])


def schema_error() -> Error:
    return Error(code="1.8", level="FATAL", reason="timeStamp is not a dateTime",
                 details="at /MeterReadings/MeterReading[1]/Readings/timeStamp: ...", xpath="p:timeStamp",
                 xpath_ns={"p": MR}, stack_trace="Traceback ...", location=Location("bus", "inbound", "validate"),
                 id=ID("MTR-0001", kind="name", id_type="meter", id_authority="utility", object_type="Meter"),
                 related_id=ID("UP-5501", kind="uuid"), operation_id=2)


# Every kind and shape of message soapbus emits.
EMITTED = {
    "get request": lambda: RequestMessage(full_header("get"), Request(
        start_time=T0, end_time=T0 + timedelta(hours=1), options=[("readingType", "kWh"), ("all", None)],
        ids=[ID("MTR-0001", kind="name", id_type="meter"), ID(str(uuid.uuid4()), kind="uuid")],
        queries=[etree.fromstring(b'<GetMeterReadings xmlns="http://iec.ch/TC57/2011/GetMeterReadings#"/>')])),
    "create request": lambda: RequestMessage(Header("create", "MeterReadings", message_id="m1"),
                                             payload=Payload([meter_readings(), meter_readings("MTR-2")], format="XML")),
    "compressed payload": lambda: RequestMessage(Header("create", "MeterReadings"),
                                                 payload=Payload.compress(meter_readings())),
    "delete by Payload/ID": lambda: RequestMessage(Header("delete", "MeterReadings"),
                                                   payload=Payload(ids=[ID("MTR-0001", kind="name")])),
    "execute OperationSet": lambda: RequestMessage(Header("execute", "OperationSet"),
                                                   payload=Payload(operation_set=operation_set())),
    "reply OK": lambda: ResponseMessage(full_header("reply"), Reply(codes.OK, ids=[ID("MTR-0001")]),
                                        Payload([meter_readings()])),
    "reply acknowledgement": lambda: ResponseMessage(Header("reply", "MeterReadings"), Reply(
        codes.OK, [Error("0.3", level="INFORM", reason="accepted, reply follows")])),
    "reply PARTIAL": lambda: ResponseMessage(Header("reply", "MeterReadings"), Reply(
        codes.PARTIAL, [Error("0.1", level="INFORM")], operation_id=1)),
    "reply FAILED": lambda: ResponseMessage(Header("reply", "MeterReadings"), Reply(
        codes.FAILED, [schema_error(), Error("2.4", level="FATAL", reason="unknown meter", xpath="mRID")],
        extensions=[etree.fromstring(b'<x:Hint xmlns:x="urn:example">retry</x:Hint>')])),
    "event": lambda: EventMessage(Header("created", "EndDeviceEvents", timestamp=T0), Payload([etree.fromstring(
        b'<EndDeviceEvents xmlns="http://iec.ch/TC57/2011/EndDeviceEvents#"><EndDeviceEvent>'
        b'<createdDateTime>2011-06-14T13:02:11Z</createdDateTime><EndDeviceEventType ref="3.26.0.85"/>'
        b'</EndDeviceEvent></EndDeviceEvents>')])),
    "event without payload": lambda: EventMessage(Header("deleted", "MeterReadings")),
    "fault": lambda: FaultMessage(Reply(codes.FAILED, [Error("1.8", level="FATAL", reason="not well-formed XML")])),
}


@pytest.mark.parametrize("case", list(EMITTED))
def test_every_message_soapbus_emits_validates_under_ours_and_the_public_schema(case, ours, public):
    element = to_element(EMITTED[case]())
    assert public.validate(element), public.error_log
    assert ours.validate(element), ours.error_log
    assert validate_message(element) == []


def test_an_error_xpath_with_an_unbound_prefix_is_refused_by_both(ours, public):
    element = to_element(ResponseMessage(Header("reply", "MeterReadings"),
                                         Reply(codes.FAILED, [Error("1.8", xpath="nowhere:mRID")])))
    assert not public.validate(element)
    assert not ours.validate(element)
    assert any("xpath" in problem for problem in validate_message(element))


def test_errors_from_payload_validation_make_a_reply_valid_under_both(ours, public):
    """The QName and its prefix binding survive into the reply: xs:QName is checked in scope."""
    broken = meter_readings(value="1")
    broken.find(f".//{{{MR}}}timeStamp").text = "noon"
    errors = validate_documents("MeterReadings", [broken])
    assert errors
    element = to_element(ResponseMessage(Header("reply", "MeterReadings"), Reply(codes.FAILED, errors)))
    assert public.validate(element), public.error_log
    assert ours.validate(element), ours.error_log


# ---------------------------------------------------------------- the same structure as the standard's


def _declared(schema: etree._Element, kind: str) -> set[str]:
    return {d.get("name") for d in schema.findall(f"{{{XS}}}{kind}")}


def test_ours_declares_every_global_type_and_element_of_the_public_schema(public_dir):
    """Per-noun schemas written against the standard's Message.xsd refer to these names."""
    theirs = etree.parse(str(public_dir / "envelope" / "Message_2011_ed1_FDIS.xsd")).getroot()
    mine = etree.parse(str(xsd_dir() / "Message.xsd")).getroot()
    assert mine.get("targetNamespace") == theirs.get("targetNamespace") == MSG
    for kind in ("element", "complexType", "simpleType", "attributeGroup"):
        assert _declared(theirs, kind) <= _declared(mine, kind), kind


def test_header_sequence_is_the_standards_order():
    mine = etree.parse(str(xsd_dir() / "Message.xsd")).getroot()
    sequence = mine.find(f"{{{XS}}}complexType[@name='HeaderType']/{{{XS}}}sequence")
    particles = [p for p in sequence if isinstance(p.tag, str)]
    names = [p.get("name") or etree.QName(p).localname for p in particles]
    assert names == ["Verb", "Noun", "Revision", "ReplayDetection", "Context", "Timestamp", "Source",
                     "AsyncReplyFlag", "ReplyAddress", "AckRequired", "User", "MessageID", "CorrelationID",
                     "Comment", "Property", "any"]
    assert particles[-1].get("namespace") == "##other"


def test_error_xpath_is_a_qname():
    mine = etree.parse(str(xsd_dir() / "Message.xsd")).getroot()
    xpath = mine.find(f"{{{XS}}}complexType[@name='ErrorType']//{{{XS}}}element[@name='xpath']")
    assert xpath.get("type") == "xs:QName"


# ---------------------------------------------------------------- random messages


def xml_text(min_size: int = 0) -> st.SearchStrategy[str]:
    return st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn")), min_size=min_size, max_size=10)


def optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


MOMENTS = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1),
                       timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=2)),
                                                  timezone(timedelta(hours=-5, minutes=-30))]))
NCNAMES = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_.-]{0,8}\Z")
IDS = st.builds(ID, value=xml_text(), id_type=optional(xml_text()), id_authority=optional(xml_text()),
                kind=optional(st.sampled_from(["name", "uuid", "transaction", "other"])),
                object_type=optional(xml_text()))
FOREIGN = st.builds(lambda local, text: etree.fromstring(f'<x:{local} xmlns:x="urn:example:ext"/>'.encode()),
                    NCNAMES, xml_text())


@st.composite
def errors(draw) -> Error:
    xpath, xpath_ns = draw(st.one_of(
        st.just((None, {})),
        NCNAMES.map(lambda local: (local, {})),
        st.tuples(st.sampled_from(["p", "q", "cim"]), NCNAMES).map(lambda pl: (f"{pl[0]}:{pl[1]}", {pl[0]: MR})),
    ))
    return Error(code=draw(xml_text(1)), level=draw(optional(st.sampled_from(codes.LEVELS))),
                 reason=draw(optional(xml_text())), details=draw(optional(xml_text())), xpath=xpath,
                 xpath_ns=xpath_ns, stack_trace=draw(optional(xml_text())),
                 location=draw(optional(st.builds(Location, optional(xml_text()), optional(xml_text()),
                                                  optional(xml_text())))),
                 id=draw(optional(IDS)), related_id=draw(optional(IDS)),
                 operation_id=draw(optional(st.integers(-5, 10**6))))


HEADERS = st.builds(
    Header, verb=st.sampled_from(sorted(verbs.ALL_VERBS)), noun=xml_text(1), revision=optional(xml_text()),
    replay_detection=optional(st.builds(ReplayDetection, xml_text(), MOMENTS)), context=optional(xml_text()),
    timestamp=optional(MOMENTS), source=optional(xml_text()), async_reply_flag=optional(st.booleans()),
    reply_address=optional(xml_text()), ack_required=optional(st.booleans()),
    user=optional(st.builds(User, xml_text(), optional(xml_text()))),
    message_id=optional(st.uuids().map(str)), correlation_id=optional(xml_text()), comment=optional(xml_text()),
    properties=st.lists(st.tuples(xml_text(), optional(xml_text())), max_size=2),
    extensions=st.lists(FOREIGN, max_size=2))
REQUESTS = st.builds(Request, start_time=optional(MOMENTS), end_time=optional(MOMENTS),
                     options=st.lists(st.tuples(xml_text(), optional(xml_text())), max_size=2),
                     ids=st.lists(IDS, max_size=2), queries=st.lists(FOREIGN, max_size=1))
REPLIES = st.builds(Reply, result=st.sampled_from(codes.RESULTS), errors=st.lists(errors(), max_size=2),
                    ids=st.lists(IDS, max_size=2), extensions=st.lists(FOREIGN, max_size=1),
                    operation_id=optional(st.integers(0, 99)))
PAYLOADS = st.one_of(
    st.lists(st.builds(meter_readings, NCNAMES), min_size=1, max_size=2).map(lambda docs: Payload(docs)),
    st.builds(lambda fmt: Payload.compress(meter_readings(), fmt), optional(st.sampled_from(["XML", "RDF"]))),
    st.lists(IDS, min_size=1, max_size=2).map(lambda ids: Payload(ids=ids)),
    st.builds(lambda: Payload(operation_set=operation_set())),
)
MESSAGES = st.one_of(
    st.builds(RequestMessage, HEADERS, optional(REQUESTS), optional(PAYLOADS)),
    st.builds(ResponseMessage, HEADERS, REPLIES, optional(PAYLOADS)),
    st.builds(EventMessage, HEADERS, optional(PAYLOADS)),
    st.builds(FaultMessage, REPLIES),
)


@HYPOTHESIS
@given(message=MESSAGES)
def test_random_messages_built_by_soapbus_validate_under_both(message, ours, public):
    element = to_element(message)
    assert public.validate(element), (public.error_log, etree.tostring(element))
    assert ours.validate(element), (ours.error_log, etree.tostring(element))


MESSAGE_ELEMENT_NAMES = sorted({d.get("name") for d in etree.parse(str(xsd_dir() / "Message.xsd")).getroot()
                                .iter(f"{{{XS}}}element") if d.get("name")})
ODD_TEXTS = ["", "x", "-3", "1", "true", "maybe", "2011-02-30T00:00:00Z", "2011-06-14T12:00:00Z", "OK", "FATAL",
             "get", "update", "p:x", "uuid", "a b", "99999999999999999999"]


def _drop(target):
    target.getparent().remove(target)


def _duplicate(target):
    target.addnext(copy.deepcopy(target))


def _move_up(target):
    if target.getprevious() is not None:
        target.getprevious().addprevious(target)


def edits_of(target: etree._Element):
    """Every single edit this test makes to an element: (description, function editing it in place)."""
    yield "drop", _drop
    yield "duplicate", _duplicate
    yield "move up", _move_up
    yield "foreign child", lambda el: el.append(etree.Element("{urn:example:ext}Extra"))
    yield "unknown child", lambda el: el.append(etree.Element(f"{{{MSG}}}Extra"))
    for name in ("kind", "idType", "undeclared"):
        yield f"@{name}", lambda el, name=name: el.set(name, "serial")
    if len(target) == 0:
        for text in ODD_TEXTS:
            yield f"text {text!r}", lambda el, text=text: setattr(el, "text", text)


def envelope_elements(root: etree._Element) -> list[etree._Element]:
    """The message's own elements below the root (profile documents are skipped by both schemas)."""
    return [el for el in root.iter(tag=etree.Element) if el is not root and etree.QName(el).namespace == MSG]


@pytest.mark.parametrize("case", list(EMITTED))
def test_ours_and_the_public_schema_agree_on_every_single_edit_of_emitted_messages(case, ours, public):
    element = to_element(EMITTED[case]())
    disagreements = []
    for index, target in enumerate(envelope_elements(element)):
        for description, edit in edits_of(target):
            mutant = copy.deepcopy(element)
            edit(envelope_elements(mutant)[index])
            if ours.validate(mutant) != public.validate(mutant):
                disagreements.append(f"{description} on {target.tag}")
    assert disagreements == []


def mutate(data, element: etree._Element) -> etree._Element:
    """A random edit of a random message element, renames to any name of the schema included."""
    mutant = copy.deepcopy(element)
    target = data.draw(st.sampled_from(envelope_elements(mutant)))
    if data.draw(st.booleans()):
        target.tag = f"{{{MSG}}}{data.draw(st.sampled_from(MESSAGE_ELEMENT_NAMES))}"
    else:
        _, edit = data.draw(st.sampled_from(list(edits_of(target))))
        edit(target)
    return mutant


@HYPOTHESIS
@given(message=MESSAGES, data=st.data())
def test_ours_and_the_public_schema_agree_on_edited_random_messages(message, data, ours, public):
    mutant = mutate(data, to_element(message))
    assert ours.validate(mutant) == public.validate(mutant), (ours.error_log, public.error_log,
                                                              etree.tostring(mutant))


# ---------------------------------------------------------------- typed carriers and validate_message


def typed(noun_name: str, element_name: str, message) -> etree._Element:
    ns = NOUNS[noun_name].message_ns
    return to_element(message, wrapper=f"{{{ns}}}{element_name}", part_ns=ns)


def carrier_message(kind: str, verb: str):
    if kind == "RequestMessage":
        return RequestMessage(Header(verb, "MeterReadings", message_id="m1"), Request(ids=[ID("MTR-0001")]),
                              Payload([meter_readings()]))
    if kind == "EventMessage":
        return EventMessage(Header(verb, "MeterReadings"), Payload([meter_readings()]))
    if kind == "ResponseMessage":
        return ResponseMessage(Header("reply", "MeterReadings"), Reply(codes.FAILED, [schema_error()]),
                               Payload([meter_readings()]))
    return FaultMessage(Reply(codes.FAILED, [Error("1.8", level="FATAL")]))


@pytest.mark.parametrize(("element_name", "kind"), carrier_elements(NOUNS["MeterReadings"]))
def test_typed_carriers_validate_against_the_per_noun_message_schema(element_name, kind):
    verb = {"RequestMessage": "create", "EventMessage": "created"}.get(kind, "reply")
    element = typed("MeterReadings", element_name, carrier_message(kind, verb))
    assert etree.QName(element[0]).namespace == NOUNS["MeterReadings"].message_ns  # parts in the noun's namespace
    assert validate_message(element) == []


def test_a_typed_carrier_payload_is_checked_against_the_profile():
    broken = meter_readings()
    broken.find(f".//{{{MR}}}timeStamp").text = "noon"
    element = typed("MeterReadings", "CreateMeterReadings",
                    RequestMessage(Header("create", "MeterReadings"), payload=Payload([broken])))
    problems = validate_message(element)
    assert problems and "timeStamp" in problems[0]


def test_a_typed_carrier_refuses_another_nouns_document():
    events = etree.fromstring(b'<EndDeviceEvents xmlns="http://iec.ch/TC57/2011/EndDeviceEvents#"/>')
    element = typed("MeterReadings", "CreateMeterReadings",
                    RequestMessage(Header("create", "MeterReadings"), payload=Payload([events])))
    assert validate_message(element)


@pytest.mark.parametrize("payload", [Payload.compress(meter_readings()), Payload(ids=[ID("MTR-1")]),
                                     Payload(operation_set=operation_set())], ids=["compressed", "ids", "opset"])
def test_typed_carriers_take_every_payload_form(payload):
    element = typed("MeterReadings", "CreateMeterReadings", RequestMessage(Header("create", "MeterReadings"),
                                                                           payload=payload))
    assert validate_message(element) == []


def test_validate_message_names_the_failing_element_by_path():
    element = to_element(RequestMessage(Header("get", "MeterReadings"), Request(ids=[ID("a"), ID("b")])))
    element.find(f".//{{{MSG}}}ID").set("kind", "serial")
    problems = validate_message(element)
    assert len(problems) == 1
    assert problems[0].startswith("at /RequestMessage/Request/ID[1]: ")
    assert "serial" in problems[0]


def test_validate_message_refuses_a_verb_outside_the_standard():
    element = to_element(RequestMessage(Header("update", "MeterReadings")))
    assert any("Verb" in problem for problem in validate_message(element))


def test_validate_message_refuses_roots_it_has_no_schema_for():
    www = etree.fromstring(f'<RequestMessage xmlns="{namespaces.MSG_WWW}"/>'.encode())
    problems = validate_message(www)
    assert len(problems) == 1 and namespaces.MSG_WWW in problems[0]
