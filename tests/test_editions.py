"""CIM editions on the server: each document checked against its own edition's profile, answered in the edition asked.

Unit checks first (which profile checks which namespace, what converts and what does not), then
over real HTTP against a live server on SQLite and PostgreSQL: 61968-6:2015 WorkRequests created
and got back in 2015 (valid under the public 2015 profile), objects stored in one edition and
read in another, EndDeviceControls with EndDeviceAction, and a get with AckRequired=false.
"""
from __future__ import annotations

import uuid

import pytest
from lxml import etree

from soapbus import message as m
from soapbus.message import namespaces, soap
from soapbus.profiles import NOUNS, edition_of, validate_documents, validate_message
from soapbus.profiles.convert import convert
from soapbus.profiles.series import fingerprint
from soapbus.server import patterns

from .helpers import EDC_NS, header, response_message, server_on, typed_envelope

WR11 = namespaces.profile_ns("WorkRequests")
WR15 = "http://iec.ch/TC57/2015/WorkRequests#"
GET_WR15 = "http://iec.ch/TC57/2015/GetWorkRequests#"
GET_WR11 = "http://iec.ch/TC57/2011/GetWorkRequests#"


def xml(text: str) -> etree._Element:
    return etree.fromstring(text.encode())


def work_request_2015(mrid: str, *, organisation: bool = True, status: str = "approved",
                      namespace: str = WR15) -> etree._Element:
    organisation_xml = ("<Organisation><mRID>0f1e2d3c-4b5a-4968-8776-655443322110</mRID>"
                        "<Names><name>Line Contractors Ltd</name></Names></Organisation>") if organisation else ""
    return xml(f"""<WorkRequests xmlns="{namespace}"><WorkRequest><mRID>{mrid}</mRID>
      <Names><name>WR-{mrid[:8]}</name></Names>{organisation_xml}
      <Work><kind>repair</kind><requestDateTime>2015-06-14T08:00:00Z</requestDateTime>
        <statusKind>{status}</statusKind><priority><rank>1</rank></priority></Work>
    </WorkRequest></WorkRequests>""")


def work_request_2011(mrid: str, *, description: str | None = None) -> etree._Element:
    described = f"<description>{description}</description>" if description else ""
    return xml(f"""<WorkRequests xmlns="{WR11}"><WorkRequest><mRID>{mrid}</mRID>{described}
      <kind>inspection</kind><requestDateTime>2011-06-14T08:00:00Z</requestDateTime><statusKind>approved</statusKind>
      <Names><name>WO-{mrid[:8]}</name></Names><priority><rank>2</rank></priority>
    </WorkRequest></WorkRequests>""")


# ---------------------------------------------------------------- which profile checks which document


def test_the_noun_table_lists_each_edition_with_its_profile():
    editions = {(e.year, e.namespace, e.profile_xsd) for e in NOUNS["WorkRequests"].editions}
    assert editions == {(2011, WR11, "WorkRequests.xsd"), (2015, WR15, "2015/WorkRequests.xsd")}
    assert [e.year for e in NOUNS["MeterReadings"].editions] == [2011]


def test_the_interface_page_lists_the_editions_from_the_table():
    from pathlib import Path

    from soapbus.profiles.interface_docs import noun_section

    section = noun_section(NOUNS["WorkRequests"])
    assert f"2015: `xsd/2015/WorkRequests.xsd` (namespace `{WR15}`)" in section
    page = (Path(__file__).resolve().parent.parent / "docs" / "interfaces" / "I4.md").read_text()
    assert section in page


@pytest.mark.parametrize(("namespace", "year"), [
    (WR11, 2011), (WR15, 2015), ("http://iec.ch/TC57/2013/WorkRequests#", 2011),
    ("http://iec.ch/TC57/2017/WorkRequests#", 2015), ("http://www.iec.ch/TC57/2016/WorkRequests#", 2015),
    ("http://iec.ch/TC57/2010/WorkRequests#", None), ("http://iec.ch/TC57/2015/MeterReadings#", None),
    ("urn:example:WorkRequests", None)])
def test_a_documents_namespace_chooses_the_edition_that_checks_it(namespace, year):
    found = edition_of("WorkRequests", etree.Element(f"{{{namespace}}}WorkRequests"))
    assert (found.year if found else None) == year


def test_a_2015_document_is_checked_by_the_2015_profile_and_a_2011_one_by_the_2011_profile():
    mrid = str(uuid.uuid4())
    assert validate_documents("WorkRequests", [work_request_2015(mrid)]) == []
    assert validate_documents("WorkRequests", [work_request_2011(mrid)]) == []
    # the same 2015 content under the 2011 namespace is what the 2011 profile does not know
    errors = validate_documents("WorkRequests", [work_request_2015(mrid, namespace=WR11)])
    assert errors and errors[0].code == "1.8" and "WorkRequests.xsd at /WorkRequests/WorkRequest[1]" in errors[0].reason
    # and a 2015 document missing what 2015 requires is refused by the 2015 profile, naming it
    missing_status = xml(etree.tostring(work_request_2015(mrid)).decode().replace(
        "<statusKind>approved</statusKind>", ""))
    errors = validate_documents("WorkRequests", [missing_status])
    assert errors[0].code == "1.8" and "2015/WorkRequests.xsd" in errors[0].reason
    assert "/WorkRequests/WorkRequest[1]/Work" in errors[0].reason and "statusKind" in errors[0].reason


def test_a_later_years_document_is_checked_by_the_latest_edition_before_it_and_says_so():
    later = work_request_2015("not-a-uuid", namespace="http://iec.ch/TC57/2017/WorkRequests#")
    errors = validate_documents("WorkRequests", [later])
    assert len(errors) == 1 and "the 2015 edition, the latest soapbus has at or before 2017" in errors[0].reason
    assert errors[0].xpath_ns == {"p": "http://iec.ch/TC57/2017/WorkRequests#"}  # named as it was sent
    assert "{8}" in errors[0].reason  # the pattern is quoted whole, not taken for a namespace
    assert validate_documents("WorkRequests", [work_request_2015(str(uuid.uuid4()),
                                                                  namespace="http://iec.ch/TC57/2017/WorkRequests#")]) == []


def test_a_namespace_of_no_edition_is_refused_naming_those_accepted():
    errors = validate_documents("WorkRequests", [xml('<WorkRequests xmlns="http://iec.ch/TC57/2010/WorkRequests#"/>')])
    assert errors[0].code == "1.8"
    assert "http://iec.ch/TC57/<year>/WorkRequests#" in errors[0].reason and WR15 in errors[0].reason


@pytest.mark.parametrize(("tag", "operation"), [
    ("{http://iec.ch/TC57/2011/WorkRequestsMessage}CreateWorkRequests", "CreateWorkRequests"),
    ("{http://iec.ch/TC57/2015/WorkRequestsMessage}CreateWorkRequests", "CreateWorkRequests"),
    ("{http://www.iec.ch/TC57/2016/WorkRequestsMessage}DeleteWorkRequests", "DeleteWorkRequests"),
    ("{http://iec.ch/TC57/2015/MeterReadingsMessage}CreateWorkRequests", None),
    ("{http://iec.ch/TC57/2015/WorkRequestsMessage}GetWorkRequests", None),
    ("{urn:other}CreateWorkRequests", None)])
def test_a_services_operation_is_found_in_any_years_carrier_namespace(tag, operation):
    from soapbus.profiles import service

    found = service("ExecuteWorkRequests").operation_for(tag)
    assert (found.name if found else None) == operation


def test_the_typed_carrier_schema_takes_payloads_of_either_edition():
    mrid = str(uuid.uuid4())
    for document in (work_request_2015(mrid), work_request_2011(mrid)):
        msg = m.RequestMessage(header("create", "WorkRequests"), None, m.Payload(documents=[document]))
        ns = namespaces.noun_message_ns("WorkRequests")
        assert validate_message(m.to_element(msg, wrapper=f"{{{ns}}}CreateWorkRequests", part_ns=ns)) == []


# ---------------------------------------------------------------- conversion between editions


def _item(document: etree._Element) -> etree._Element:
    return document[0]


def test_a_2011_request_that_says_nothing_2015_lacks_converts_both_ways_unchanged():
    mrid = str(uuid.uuid4())
    noun = NOUNS["WorkRequests"]
    as_2015 = convert(noun, _item(work_request_2011(mrid)), WR15)
    assert as_2015 is not None and etree.QName(as_2015).namespace == WR15
    assert as_2015.findtext(f"{{{WR15}}}Work/{{{WR15}}}kind") == "inspection"
    assert validate_documents("WorkRequests", [etree.fromstring(
        f'<WorkRequests xmlns="{WR15}">{etree.tostring(as_2015).decode()}</WorkRequests>')]) == []
    back = convert(noun, as_2015, WR11)
    assert fingerprint(back) == fingerprint(_item(work_request_2011(mrid)))


@pytest.mark.parametrize("case", ["2011 description has no 2015 place", "2015 Organisation has no 2011 place",
                                  "a 2011 request without a status cannot be 2015 Work"])
def test_what_would_lose_or_invent_content_is_not_converted(case):
    noun, mrid = NOUNS["WorkRequests"], str(uuid.uuid4())
    if case.startswith("2011 description"):
        assert convert(noun, _item(work_request_2011(mrid, description="pole leaning")), WR15) is None
        assert convert(noun, _item(work_request_2011(mrid)), WR15) is not None  # positive control
    elif case.startswith("2015 Organisation"):
        assert convert(noun, _item(work_request_2015(mrid)), WR11) is None
        assert convert(noun, _item(work_request_2015(mrid, organisation=False)), WR11) is not None
    else:
        no_status = _item(work_request_2011(mrid))
        no_status.remove(no_status.find(f"{{{WR11}}}statusKind"))
        assert convert(noun, no_status, WR15) is None


def test_a_years_namespace_under_the_same_edition_is_a_change_of_namespace_only():
    item = _item(work_request_2015(str(uuid.uuid4())))
    later = convert(NOUNS["WorkRequests"], item, "http://iec.ch/TC57/2018/WorkRequests#")
    assert etree.QName(later).namespace == "http://iec.ch/TC57/2018/WorkRequests#"
    assert [etree.QName(el).localname for el in later.iter()] == [etree.QName(el).localname for el in item.iter()]


# ---------------------------------------------------------------- AckRequired=false


def _message(verb: str, **head):
    if verb in ("created", "changed"):
        return m.EventMessage(header(verb, "MeterReadings", **head), None)
    return m.RequestMessage(header(verb, "MeterReadings", **head), None, None)


@pytest.mark.parametrize(("verb", "one_way"), [("get", False), ("GET", False), ("create", True), ("created", True)])
def test_ack_required_false_makes_transactions_and_events_one_way_never_a_get(verb, one_way):
    assert patterns.is_one_way(_message(verb, ack_required=False)) is one_way
    assert patterns.is_one_way(_message(verb)) is False  # AckRequired absent: answered


# ---------------------------------------------------------------- over HTTP


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    with server_on(request.param, tmp_path_factory.mktemp(f"editions-{request.param}"), "editions") as proc:
        yield proc


@pytest.fixture(scope="module")
def public_2015(public_dir) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(public_dir / "profiles-61968-6-2015" / "WorkRequests.xsd")))


def _send(server, verb: str, noun: str, msg):
    role = {"get": "Get"}.get(verb, "Execute")
    return response_message(server.post(f"{role}{noun}", typed_envelope(f"{verb.capitalize()}{noun}", noun, msg)))


def _create(server, document, noun="WorkRequests"):
    return _send(server, "create", noun, m.RequestMessage(header("create", noun), None,
                                                          m.Payload(documents=[document])))


def _query(namespace: str, mrid: str) -> etree._Element:
    query = etree.Element(f"{{{namespace}}}GetWorkRequests", nsmap={None: namespace})
    etree.SubElement(etree.SubElement(query, f"{{{namespace}}}WorkRequest"), f"{{{namespace}}}mRID").text = mrid
    return query


def _get(server, *ids, query=None, noun="WorkRequests", **head):
    request = m.Request(ids=[m.ID(i) for i in ids], queries=[query] if query is not None else [])
    return _send(server, "get", noun, m.RequestMessage(header("get", noun, **head), request))


def _items(reply, namespace: str, item: str = "WorkRequest") -> list[etree._Element]:
    return [el for doc in reply.payload.documents if etree.QName(doc).namespace == namespace
            for el in doc.findall(f"{{{namespace}}}{item}")]


def test_a_2015_work_request_is_created_and_answered_in_2015_valid_under_the_public_profile(server, public_2015):
    mrid = str(uuid.uuid4())
    created = _create(server, work_request_2015(mrid))
    assert created.reply.result == "OK", created.reply.errors
    assert [i.value for i in created.reply.ids] == [mrid]
    for reply in (_get(server, query=_query(GET_WR15, mrid)), _get(server, mrid)):  # asked in 2015; as stored
        assert reply.reply.result == "OK" and [e.level for e in reply.reply.errors] == [None]
        [document] = reply.payload.documents
        assert etree.QName(document).namespace == WR15
        assert public_2015.validate(document), public_2015.error_log
        [item] = _items(reply, WR15)
        assert item.findtext(f"{{{WR15}}}mRID") == mrid
        assert item.findtext(f"{{{WR15}}}Organisation/{{{WR15}}}Names/{{{WR15}}}name") == "Line Contractors Ltd"


def test_a_query_by_a_value_the_store_does_not_select_by_is_refused_not_answered_with_everything(server):
    mrid = str(uuid.uuid4())
    _create(server, work_request_2015(mrid))
    query = _query(GET_WR15, mrid)
    work = etree.SubElement(query, f"{{{GET_WR15}}}Work")
    etree.SubElement(work, f"{{{GET_WR15}}}statusKind").text = "inProgress"
    reply = _get(server, query=query)
    assert reply.reply.result == "FAILED" and reply.reply.errors[0].code == "5.7"
    assert reply.reply.errors[0].details == "at Request/GetWorkRequests/Work/statusKind" and reply.payload is None
    # a time window with the kind of schedule it is, and names with their type, are read: answered
    schedule = etree.SubElement(_query(GET_WR15, mrid), f"{{{GET_WR15}}}TimeSchedule")
    etree.SubElement(schedule, f"{{{GET_WR15}}}kind").text = "request"
    interval = etree.SubElement(schedule, f"{{{GET_WR15}}}scheduleInterval")
    etree.SubElement(interval, f"{{{GET_WR15}}}start").text = "2000-01-01T00:00:00Z"
    assert [i.findtext(f"{{{WR15}}}mRID") for i in _items(_get(server, query=schedule.getparent()), WR15)] == [mrid]


def test_a_2015_document_that_breaks_the_2015_profile_is_refused_1_8_with_its_path(server):
    bad = work_request_2015(str(uuid.uuid4()), status="halfway")
    reply = _create(server, bad)
    assert reply.reply.result == "FAILED" and reply.reply.errors[0].code == "1.8"
    assert "2015/WorkRequests.xsd at /WorkRequests/WorkRequest[1]/Work/statusKind" in reply.reply.errors[0].reason


def test_a_2011_object_read_in_2015_is_converted_and_valid_under_the_public_profile(server, public_2015):
    mrid = str(uuid.uuid4())
    assert _create(server, work_request_2011(mrid)).reply.result == "OK"
    reply = _get(server, query=_query(GET_WR15, mrid))
    assert reply.reply.result == "OK" and len(reply.reply.errors) == 1  # no WARNING: it converted
    [document] = reply.payload.documents
    assert etree.QName(document).namespace == WR15 and public_2015.validate(document), public_2015.error_log
    [item] = _items(reply, WR15)
    assert item.findtext(f"{{{WR15}}}Work/{{{WR15}}}kind") == "inspection"
    # asked in 2011 (or not asked), the same object comes back as it was stored
    [as_stored] = _items(_get(server, query=_query(GET_WR11, mrid)), WR11)
    assert as_stored.findtext(f"{{{WR11}}}kind") == "inspection"


def test_an_object_that_would_lose_content_is_answered_in_its_stored_edition_with_a_warning(server):
    described, plain = str(uuid.uuid4()), str(uuid.uuid4())
    assert _create(server, work_request_2011(described, description="pole leaning")).reply.result == "OK"
    assert _create(server, work_request_2011(plain)).reply.result == "OK"
    query = etree.Element(f"{{{GET_WR15}}}GetWorkRequests", nsmap={None: GET_WR15})
    for mrid in (described, plain):
        request = etree.SubElement(query, f"{{{GET_WR15}}}WorkRequest")
        etree.SubElement(request, f"{{{GET_WR15}}}mRID").text = mrid
    reply = _get(server, query=query)
    assert reply.reply.result == "OK"
    warnings = [e for e in reply.reply.errors if e.level == "WARNING"]
    assert [w.id.value for w in warnings] == [described] and "stored in (" + WR11 in warnings[0].reason
    assert [i.findtext(f"{{{WR15}}}mRID") for i in _items(reply, WR15)] == [plain]
    assert [i.findtext(f"{{{WR11}}}description") for i in _items(reply, WR11)] == ["pole leaning"]
    # two editions in one answer, and the typed carrier's schema (oldest edition first) takes it
    assert [etree.QName(d).namespace for d in reply.payload.documents] == [WR11, WR15]
    again = m.RequestMessage(header("get", "WorkRequests"), m.Request(queries=[query]))
    raw = server.post("GetWorkRequests", typed_envelope("GetWorkRequests", "WorkRequests", again))
    assert validate_message(soap.unwrap(raw.content).message) == []


def test_a_2015_object_read_in_2011_converts_only_without_its_organisation(server):
    with_org, without_org = str(uuid.uuid4()), str(uuid.uuid4())
    _create(server, work_request_2015(with_org))
    _create(server, work_request_2015(without_org, organisation=False))
    for mrid, namespace, warned in ((with_org, WR15, True), (without_org, WR11, False)):
        reply = _get(server, query=_query(GET_WR11, mrid))
        assert [etree.QName(d).namespace for d in reply.payload.documents] == [namespace]
        assert any(e.level == "WARNING" for e in reply.reply.errors) is warned


def test_a_get_with_ack_required_false_answers_its_data(server):
    mrid = str(uuid.uuid4())
    _create(server, work_request_2015(mrid))
    request = m.RequestMessage(header("get", "WorkRequests", ack_required=False), m.Request(ids=[m.ID(mrid)]))
    resp = server.post("GetWorkRequests", typed_envelope("GetWorkRequests", "WorkRequests", request))
    assert resp.status_code == 200 and resp.content
    reply = response_message(resp)
    assert reply.reply.result == "OK" and [i.findtext(f"{{{WR15}}}mRID") for i in _items(reply, WR15)] == [mrid]
    # the positive control: a create with AckRequired=false is fire-and-forget
    create = m.RequestMessage(header("create", "WorkRequests", ack_required=False), None,
                              m.Payload(documents=[work_request_2015(str(uuid.uuid4()))]))
    resp = server.post("ExecuteWorkRequests", typed_envelope("CreateWorkRequests", "WorkRequests", create))
    assert (resp.status_code, resp.content) == (202, b"")


def test_end_device_controls_with_end_device_action_are_accepted_and_kept(server):
    deployed = xml(f"""<EndDeviceControls xmlns="{EDC_NS}"><EndDeviceControl>
        <EndDeviceControlType ref="3.0.129.160"/>
        <EndDeviceAction><command>2016-01-01 00:00:00</command></EndDeviceAction>
        <EndDevices><mRID>MTR-{uuid.uuid4()}</mRID></EndDevices>
      </EndDeviceControl></EndDeviceControls>""")
    created = _create(server, deployed, noun="EndDeviceControls")
    assert created.reply.result == "OK", created.reply.errors
    [assigned] = created.reply.ids  # sent without mRID: the store names what it creates
    assert assigned.kind == "uuid" and uuid.UUID(assigned.value)
    got = _get(server, assigned.value, noun="EndDeviceControls")
    [control] = _items(got, EDC_NS, "EndDeviceControl")
    assert control.findtext(f"{{{EDC_NS}}}mRID") == assigned.value
    assert control.findtext(f"{{{EDC_NS}}}EndDeviceAction/{{{EDC_NS}}}command") == "2016-01-01 00:00:00"
    assert validate_documents("EndDeviceControls", got.payload.documents) == []


def test_a_2015_typed_carrier_is_served_and_answered_in_its_own_namespace(server, public_2015):
    """A caller built from a 2015 WSDL sends `{.../2015/WorkRequestsMessage}CreateWorkRequests`."""
    carrier = "http://iec.ch/TC57/2015/WorkRequestsMessage"
    mrid = str(uuid.uuid4())
    msg = m.RequestMessage(header("create", "WorkRequests"), None, m.Payload(documents=[work_request_2015(mrid)]))
    element = m.to_element(msg, wrapper=f"{{{carrier}}}CreateWorkRequests", part_ns=carrier)
    resp = server.post("ExecuteWorkRequests", soap.to_bytes(soap.envelope(element)))
    answer = soap.unwrap(resp.content).operation
    assert answer.tag == f"{{{carrier}}}WorkRequestsResponseMessage", resp.text[:600]
    reply = response_message(resp)
    assert reply.reply.result == "OK" and [i.value for i in reply.reply.ids] == [mrid], resp.text[:600]
    get = m.RequestMessage(header("get", "WorkRequests"), m.Request(ids=[m.ID(mrid)]))
    element = m.to_element(get, wrapper=f"{{{carrier}}}GetWorkRequests", part_ns=carrier)
    resp = server.post("GetWorkRequests", soap.to_bytes(soap.envelope(element)))
    assert soap.unwrap(resp.content).operation.tag == f"{{{carrier}}}WorkRequestsResponseMessage"
    [document] = response_message(resp).payload.documents
    assert public_2015.validate(document), public_2015.error_log
