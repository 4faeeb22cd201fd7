"""Endpoints nobody here wrote (tests/foreign): the harness flags exactly their deliberate defects and nothing
they do right, and the SDK calls each of them.

Three vendors, each as a defective variant and a correct twin, real HTTP on loopback:

* der: a Spyne service for IEC 61968-5 DERGroups in the vendor's own namespaces, upper-case verbs in
  its schema, Query<Noun> for get. Defects: no CorrelationID echo, zone-less Timestamp, Verb REPLY.
* interop2011: a meter data system in the 2011 interoperability-test shape (www.iec.ch per-noun
  namespace, GetMeterReadings taking MeterReadingsRequestMessage), whose WSDL names an address where it
  does not run (reached through --endpoint). Defect: OK replies without the Error 0.0.
* workrequests2015: WorkRequests in the 2015 namespaces and public 2015 profile. Defect: a get answers
  WorkRequests without their (required) Work.

Every expectation is exact: the set of failed checks, the set of judged checks, and the verdict of each check
that cannot be judged (not applicable: the endpoint does not offer what it is about; skipped: the run left it
out). The servers' own probes below show each defect on the wire independently of soapbus.
"""
from __future__ import annotations

import uuid
from datetime import datetime

import pytest
import requests
from click.testing import CliRunner
from lxml import etree

from soapbus.cli import cli
from soapbus.client import Client, FailedReply, TransportError
from soapbus.client.data import document_data
from soapbus.conformance import load_suites

from .foreign import carrier, der_spyne, interop2011, workrequests2015
from .foreign.fixtures import foreign  # noqa: F401 (the fixture)
from .foreign.fixtures import KINDS, SEEDED_METER, SUITES, Endpoint, cli_arguments, judged, run_harness, summary, verdicts

DER_DEFECT_CHECKS = {  # each DER defect, and the checks it alone must fail
    der_spyne.UNCORRELATED: {"envelope.correlation-echo", "envelope.correlation-from-message-id"},
    der_spyne.ZONELESS: {"envelope.timestamp-zone"},
    # the standard's verbs are lower case (reply-header, reply-verb), and so is Message.xsd's Verb enumeration
    der_spyne.UPPER_CASE_REPLY: {"envelope.reply-header", "verbs.reply-verb", "envelope.reply-schema"},
}
DEFECTS = {  # the checks the defective variant must fail, and no other
    "der": set().union(*DER_DEFECT_CHECKS.values()),
    "interop2011": {"envelope.ok-carries-0.0", "envelope.result-codes",  # OK without an Error 0.0 ...
                    "ondemand.reply"},  # ... which the on-demand read expects too
    "workrequests2015": {"verbs.get-payload-valid",  # a get answers WorkRequests without the Work the 2015 profile requires
                         "envelope.noun-schema"},  # so the reply is not valid against WorkRequestsMessage.xsd either
}
SYNCHRONOUS = {"async.acknowledged-0.3", "async.callback-correlation", "async.partial-then-final",
               "async.replies-complete", "async.callback-valid"}  # all three answer an asynchronous get at once
NOT_SUBSCRIBED = {"events.past-tense", "events.event-payload", "events.event-valid"}  # runs without --subscribed
NOT_JUDGED = {  # checks judged neither way, and the verdict that says why
    "der": {**dict.fromkeys(SYNCHRONOUS, "not applicable"), **dict.fromkeys(NOT_SUBSCRIBED, "skipped")},
    "interop2011": {**dict.fromkeys(SYNCHRONOUS, "not applicable"), **dict.fromkeys(NOT_SUBSCRIBED, "skipped"),
                    # it offers no get OutageRecords to see the records its events open and close
                    **dict.fromkeys(["outage.single", "outage.nested", "outage.partial-restoration"], "not applicable")},
    "workrequests2015": {**dict.fromkeys(SYNCHRONOUS, "not applicable"), **dict.fromkeys(NOT_SUBSCRIBED, "skipped"),
                         # it offers no execute OperationSet
                         **dict.fromkeys(["work.operation-set", "work.operation-set-applied"], "not applicable")},
}
OFFERED = {
    "der": {"create DERGroups", "change DERGroups", "get DERGroups", "delete DERGroups"},
    "interop2011": {"get MeterReadings", "create MeterReadings", "created EndDeviceEvents"},
    "workrequests2015": {"create WorkRequests", "get WorkRequests"},
}


def all_checks(suites: list[str]) -> set[str]:
    """Every check of the suites, and the prerequisite every run judges first (a valid request is accepted)."""
    return {check for suite in load_suites(suites) for check in suite.checks} | {"prerequisite.accepted"}


# ---------------------------------------------------------------- the harness against them


@pytest.mark.parametrize("kind", KINDS)
def test_the_harness_flags_exactly_the_deliberate_defects(foreign, kind):
    result = run_harness(foreign(kind, defective=True), SUITES[kind])
    assert result.failing_ids() == DEFECTS[kind], summary(result)
    assert judged(result) == all_checks(SUITES[kind]) - set(NOT_JUDGED[kind]), summary(result)
    assert {cid: verdicts(result)[cid] for cid in NOT_JUDGED[kind]} == NOT_JUDGED[kind]
    assert result.exit_code == 1


@pytest.mark.parametrize("kind", KINDS)
def test_the_correct_twin_passes_every_check_that_applies(foreign, kind):
    result = run_harness(foreign(kind, defective=False), SUITES[kind])
    assert result.failing_ids() == set(), summary(result)
    # a run that judged nothing cannot pass: every check that can apply was judged, and passed
    assert judged(result) == all_checks(SUITES[kind]) - set(NOT_JUDGED[kind]), summary(result)
    assert {cid: verdicts(result)[cid] for cid in NOT_JUDGED[kind]} == NOT_JUDGED[kind]
    assert result.exit_code == 0


@pytest.mark.parametrize("defect", der_spyne.DEFECTS)
def test_each_der_defect_alone_fails_its_own_checks_alone(defect):
    vendor = der_spyne.DERGroupsVendor([defect])
    try:
        result = run_harness(Endpoint("der", True, vendor, [vendor.url]), SUITES["der"])
    finally:
        vendor.stop()
    assert result.failing_ids() == DER_DEFECT_CHECKS[defect], summary(result)
    assert judged(result) == all_checks(SUITES["der"]) - set(NOT_JUDGED["der"]), summary(result)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("defective", [True, False])
def test_every_shipped_suite_judges_the_same_and_finds_nothing_else(foreign, kind, defective):
    """The run a vendor makes without choosing suites: the other suites are not applicable or skipped."""
    result = run_harness(foreign(kind, defective), None)
    assert result.failing_ids() == (DEFECTS[kind] if defective else set()), summary(result)
    assert judged(result) == all_checks(SUITES[kind]) - set(NOT_JUDGED[kind]), summary(result)
    assert set(verdicts(result).values()) <= {"pass", "fail", "not applicable", "skipped"}, summary(result)


@pytest.mark.parametrize("kind", KINDS)
def test_the_harness_finds_exactly_the_operations_offered(foreign, kind):
    result = run_harness(foreign(kind, defective=False), ["envelope"])
    # one note per operation: "offered: <verb> <Noun>: <operation, element, namespaces ...> at <address>"
    offered = {note.removeprefix("offered: ").split(":")[0] for note in result.notes if note.startswith("offered: ")}
    assert offered == OFFERED[kind], result.notes


@pytest.mark.parametrize("defective, exit_code", [(True, 1), (False, 0)])
def test_the_cli_reaches_the_2011_system_through_endpoint(foreign, tmp_path, defective, exit_code):
    vendor = foreign("interop2011", defective)
    suites = ["envelope", "ondemand-read"]
    out = CliRunner().invoke(cli, ["conformance", "run", *cli_arguments(vendor), *(a for s in suites for a in ("--suite", s)),
                                   "--min-checks", "11", "--report", str(tmp_path)], catch_exceptions=False)
    assert out.exit_code == exit_code, out.output
    junit = etree.parse(str(tmp_path / "junit.xml"))
    failed = {case.get("name") for case in junit.iter("testcase") if case.find("failure") is not None}
    assert failed == (DEFECTS["interop2011"] & all_checks(suites) if defective else set()), out.output


def test_the_cli_does_not_pass_a_run_that_judged_too_little(foreign, tmp_path):
    """Nothing fails against the DER twin, but one suite cannot show the 50 judged checks asked for."""
    vendor = foreign("der", defective=False)
    out = CliRunner().invoke(cli, ["conformance", "run", *cli_arguments(vendor), "--suite", "envelope",
                                   "--min-checks", "50", "--report", str(tmp_path)], catch_exceptions=False)
    assert out.exit_code == 3, out.output
    assert "50" in out.output and "Traceback" not in out.output


# ---------------------------------------------------------------- the SDK against them


def test_the_client_creates_changes_queries_and_deletes_der_groups(foreign):
    der = foreign("der", defective=False)
    client = Client(der.targets[0], source="DER-PLANNING")
    mrid, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    group = der_spyne.example(mrid, "feeder 12: PV and storage")
    created = client.create("DERGroups", group, correlation_id=correlation)
    assert (created.result, [e.code for e in created.errors], created.correlation_id) == ("OK", ["0.0"], correlation)
    got = client.get("DERGroups", mrid)
    assert got.payload[0].tag == f"{{{der_spyne.PROFILE}}}DERGroups"
    assert got.data == [document_data(group)]  # every field round-trips through the vendor's Spyne models
    client.change("DERGroups", der_spyne.example(mrid, "feeder 12: PV only"))
    # the vendor's namespace has no soapbus profile: read untyped, a single group is not made a list
    assert client.get("DERGroups", mrid).data[0]["EndDeviceGroup"]["description"] == "feeder 12: PV only"
    client.delete("DERGroups", mrid)
    with pytest.raises(FailedReply) as gone:
        client.get("DERGroups", mrid)
    assert gone.value.codes == ["2.15"]


def test_the_client_reads_the_2011_system_at_the_endpoint_it_is_given(foreign):
    mdms = foreign("interop2011", defective=False)
    client = Client(mdms.targets[0], endpoint=mdms.endpoint, source="CIS")
    [seeded] = client.get("MeterReadings", SEEDED_METER).data[0]["MeterReading"]
    assert seeded["Meter"]["mRID"] == SEEDED_METER and seeded["Readings"][0]["value"] == "18452.7"
    assert [r["value"] for r in seeded["IntervalBlocks"][0]["IntervalReadings"]] == ["0.412", "0.398"]
    meter = str(uuid.uuid4())
    readings = interop2011.example_readings(meter, "1234.5")
    assert client.create("MeterReadings", readings).result == "OK"
    assert client.get("MeterReadings", meter).data == [document_data(readings)]


def test_without_the_endpoint_the_client_goes_where_the_2011_wsdl_says(foreign):
    """The negative control of the test above: the WSDL's own address is not where the system runs."""
    mdms = foreign("interop2011", defective=False)
    client = Client(mdms.targets[0], source="CIS")
    with pytest.raises(TransportError, match="interop-test.invalid"):
        client.get("MeterReadings", SEEDED_METER)


def test_the_client_creates_and_reads_2015_work_requests(foreign):
    wms = foreign("workrequests2015", defective=False)
    client = Client(*wms.targets, source="CIS")
    mrid = str(uuid.uuid4())
    work_request = workrequests2015.example(mrid, "Northside Field Services")
    assert client.create("WorkRequests", work_request).result == "OK"
    assert client.get("WorkRequests", mrid).data == [document_data(work_request)]
    by_query = client.get("WorkRequests", query=workrequests2015.query(mrid))  # the 2015 Get profile
    assert by_query.payload[0].tag == f"{{{workrequests2015.SHAPE.profile_ns}}}WorkRequests"
    assert by_query.data == [document_data(work_request)]
    with pytest.raises(FailedReply) as duplicate:
        client.create("WorkRequests", work_request)
    assert duplicate.value.codes == ["6.1"]


# ---------------------------------------------------------------- the defects are on the wire (no soapbus code)


def post(url: str, body: bytes, action: str) -> etree._Element:
    answer = requests.post(url, data=body, timeout=10,
                           headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'})
    assert answer.status_code == 200, answer.text
    return etree.fromstring(answer.content)


def published_schema(server, folder: str, name: str, tmp_path) -> etree.XMLSchema:
    """A message schema as the server publishes it, with what it imports (copied beside it, read offline)."""
    for path, (_, data) in server.host.documents.items():
        if path.startswith(folder) and path.endswith(".xsd"):
            (tmp_path / path.rsplit("/", 1)[1]).write_bytes(data)
    return etree.XMLSchema(etree.parse(str(tmp_path / name)))


def has_zone(stamp: str) -> bool:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).tzinfo is not None


@pytest.mark.parametrize("defective", [True, False])
def test_der_probe(foreign, defective):
    der = foreign("der", defective)
    correlation = f"probe-{uuid.uuid4()}"
    header = {"Verb": "CREATE", "Noun": "DERGroups", "Source": "PROBE", "MessageID": str(uuid.uuid4()),
              "CorrelationID": correlation}
    answer = post(der.targets[0], der_spyne.request("CreateDERGroups", header, payload=der_spyne.example(
        str(uuid.uuid4()), "probe")), "CreateDERGroups")
    got = {etree.QName(e).localname: e.text for e in answer.find(f".//{{{der_spyne.DER}}}Header")}
    result = answer.findtext(f".//{{{der_spyne.DER}}}Reply/{{{der_spyne.VMSG}}}Result")
    assert result == "OK"
    found = (got["Verb"], has_zone(got["Timestamp"]), got["CorrelationID"] == correlation)
    assert found == (("REPLY", False, False) if defective else ("reply", True, True))


@pytest.mark.parametrize("defective", [True, False])
def test_interop2011_probe(foreign, defective, tmp_path):
    mdms = foreign("interop2011", defective)
    shape = interop2011.READINGS
    header = {"Verb": "get", "Noun": "MeterReadings", "MessageID": str(uuid.uuid4()), "Source": "PROBE"}
    get = next(o for o in interop2011.OPERATIONS if o.name == "GetMeterReadings")
    answer = post(mdms.endpoint, carrier.request(shape, get.input_element, header, ids=[SEEDED_METER]),
                  get.soap_action)
    reply = answer.find(f".//{{{shape.message_ns}}}Reply")
    assert reply.findtext(f"{{{carrier.MSG}}}Result") == "OK"
    assert reply.findtext(f"{{{carrier.MSG}}}Error/{{{carrier.MSG}}}code") == (None if defective else "0.0")
    assert answer.findtext(f".//{{{shape.profile_ns}}}Meter/{{{shape.profile_ns}}}mRID") == SEEDED_METER
    own = published_schema(mdms.server, "/interop/", "MeterReadingsMessage.xsd", tmp_path)
    assert own.validate(reply.getparent()), own.error_log  # a missing Error 0.0 is schema-valid: only the rule breaks


@pytest.mark.parametrize("defective", [True, False])
def test_workrequests2015_probe(foreign, defective, public_dir, tmp_path):
    wms = foreign("workrequests2015", defective)
    shape, mrid = workrequests2015.SHAPE, str(uuid.uuid4())
    create = {"Verb": "create", "Noun": "WorkRequests", "MessageID": str(uuid.uuid4()), "Source": "PROBE"}
    created = post(wms.targets[0], carrier.request(shape, "CreateWorkRequests", create,
                                                   documents=[workrequests2015.example(mrid, "Probe")]), "")
    assert created.findtext(f".//{{{carrier.MSG}}}Result") == "OK"
    get = {**create, "Verb": "get", "MessageID": str(uuid.uuid4())}
    answer = post(wms.targets[1], carrier.request(shape, "GetWorkRequests", get, ids=[mrid]), "")
    returned = answer.find(f".//{{{shape.profile_ns}}}WorkRequests")
    profile = etree.XMLSchema(etree.parse(str(public_dir / "profiles-61968-6-2015" / "WorkRequests.xsd")))
    assert profile.validate(returned) is (not defective), profile.error_log
    assert (returned.find(f".//{{{shape.profile_ns}}}Work") is None) is defective
    own = published_schema(wms.server, "/2015/xsd/", "WorkRequestsMessage.xsd", tmp_path)
    assert own.validate(answer.find(f".//{{{shape.message_ns}}}WorkRequestsResponseMessage")) is (not defective)
