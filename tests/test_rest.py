"""The REST binding over real HTTP against a live `soapbus serve` (SQLite and PostgreSQL).

Documents in and out as CIM XML and as JSON by the documented mapping; writes through the same
pipeline as SOAP (journaled, idempotent by Idempotency-Key: the same key acts once and answers
the same, another request under it is refused); lists filtered by time window, related mRIDs and
names, a page at a time by Link headers; I1 and I9 read-only; unknown objects 404, bad input 400
with the 61968 reply code in a problem document; the OpenAPI document from the noun table.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from lxml import etree

from soapbus.profiles import NOUNS
from soapbus.store import Store

from .helpers import server_on
from .profile_documents import FULL, FULL_2015, ns
from .test_jsonmap import canonical as canonical_element

JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    with server_on(request.param, tmp_path_factory.mktemp(f"rest-{request.param}"), "rest") as proc:
        yield proc


def rest(server) -> str:
    return f"{server.url}/rest"


def post_json(server, noun: str, data: dict, key: str | None = None) -> requests.Response:
    headers = {"Content-Type": "application/json", **({"Idempotency-Key": key} if key else {})}
    return requests.post(f"{rest(server)}/{noun}", data=json.dumps(data), headers=headers, timeout=30)


def post_xml(server, noun: str, text: str, key: str | None = None) -> requests.Response:
    headers = {"Content-Type": "application/xml", **({"Idempotency-Key": key} if key else {})}
    return requests.post(f"{rest(server)}/{noun}", data=text.encode(), headers=headers, timeout=30)


def problem_of(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["code"]) == (status, code), body
    assert body["type"] == f"urn:iec:61968-100:reply-code:{code}" and body["detail"]
    return body


def asset(mrid: str, **fields) -> dict:
    return {"Assets": {"Asset": [{"mRID": mrid, **fields}]}}


def canonical(raw: bytes) -> bytes:
    return canonical_element(etree.fromstring(raw))


def texts(document: etree._Element, local: str) -> list[str]:
    return [el.text for el in document.iter(f"{{*}}{local}")]


# ---------------------------------------------------------------- one object, XML and JSON


def test_create_from_json_read_back_as_cim_xml_and_as_json(server):
    mrid = f"tx-{uuid.uuid4()}"
    created = post_json(server, "Assets", asset(mrid, serialNumber="SN-77812", type="distribution transformer",
                                                Location={"mRID": "loc-pole-4471"}, Names=[{"name": "T-4471"}]))
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == f"{rest(server)}/Assets/{mrid}"
    assert created.json()["result"] == "OK" and created.json()["ids"] == [mrid]

    as_xml = requests.get(created.headers["Location"], timeout=30)
    assert as_xml.status_code == 200 and as_xml.headers["Content-Type"].startswith("application/xml")
    document = etree.fromstring(as_xml.content)
    assert etree.QName(document).text == f"{{{ns('Assets')}}}Assets"
    assert texts(document, "serialNumber") == ["SN-77812"] and texts(document, "name") == ["T-4471"]

    as_json = requests.get(created.headers["Location"], headers=JSON, timeout=30)
    assert as_json.headers["Content-Type"] == "application/json"
    assert as_json.json() == {"Assets": {"@xmlns": ns("Assets"), "Asset": [
        {"mRID": mrid, "serialNumber": "SN-77812", "type": "distribution transformer",
         "Location": {"mRID": "loc-pole-4471"}, "Names": [{"name": "T-4471"}]}]}}


def test_the_json_answer_posted_back_makes_the_same_object(server):
    """The mapping round-trips over the wire: GET as JSON, POST that JSON (another mRID), GET as XML."""
    first, second = f"so-{uuid.uuid4()}", f"so-{uuid.uuid4()}"
    original = FULL["ServiceOrders"].replace("so-2024-5512", first)
    assert post_xml(server, "ServiceOrders", original).status_code == 201
    data = requests.get(f"{rest(server)}/ServiceOrders/{first}", headers=JSON, timeout=30).json()
    data["ServiceOrders"]["ServiceOrder"][0]["mRID"] = second
    assert post_json(server, "ServiceOrders", data).status_code == 201
    one = requests.get(f"{rest(server)}/ServiceOrders/{first}", timeout=30).content
    other = requests.get(f"{rest(server)}/ServiceOrders/{second}", timeout=30).content
    assert canonical(one).replace(first.encode(), b"X") == canonical(other).replace(second.encode(), b"X")
    assert b"<priority><justification>customer move-in date</justification><rank>1</rank></priority>" in canonical(one)


def test_change_and_delete_by_url(server):
    mrid = f"a-{uuid.uuid4()}"
    assert post_json(server, "Assets", asset(mrid, serialNumber="OLD")).status_code == 201
    url = f"{rest(server)}/Assets/{mrid}"
    changed = requests.put(url, json={"Assets": {"Asset": [{"serialNumber": "NEW"}]}}, timeout=30)
    assert changed.status_code == 200 and changed.json()["ids"] == [mrid]
    assert texts(etree.fromstring(requests.get(url, timeout=30).content), "serialNumber") == ["NEW"]
    mismatch = requests.put(url, json=asset("another", serialNumber="X"), timeout=30)
    assert "the URL names" in problem_of(mismatch, 400, "1.8")["detail"]
    assert requests.delete(url, timeout=30).status_code == 200
    assert problem_of(requests.get(url, timeout=30), 404, "2.15")["detail"] == f"no Asset with id {mrid!r} is known"
    problem_of(requests.delete(url, timeout=30), 404, "2.15")


def test_an_object_known_by_name_has_its_key_as_its_id(server):
    name = f"ACCT-{uuid.uuid4().hex[:8]}"
    data = {"CustomerAccounts": {"CustomerAccount": [{"billingCycle": "monthly",
                                                       "Names": [{"name": name, "NameType": {"name": "AccountNumber"}}]}]}}
    created = post_json(server, "CustomerAccounts", data)
    assert created.status_code == 201
    # keyed by its name, as 61968-100 allows an object without mRID: the key is its id in the URL
    location = created.headers["Location"]
    assert location == f"{rest(server)}/CustomerAccounts/name:AccountNumber:{name}"
    found = requests.get(location, headers=JSON, timeout=30).json()["CustomerAccounts"]["CustomerAccount"]
    assert found == data["CustomerAccounts"]["CustomerAccount"]
    listed = requests.get(f"{rest(server)}/CustomerAccounts", params={"name": name}, headers=JSON, timeout=30)
    assert listed.json()["CustomerAccounts"]["CustomerAccount"] == found
    problem_of(requests.get(f"{location}-other", timeout=30), 404, "2.15")


# ---------------------------------------------------------------- idempotency and the journal


def test_the_same_idempotency_key_acts_once_and_answers_the_same(server):
    key = str(uuid.uuid4())
    ticket = {"TroubleTickets": {"TroubleTicket": [{"troubleCode": "OUT", "reportingKind": "call",
                                                    "Names": [{"name": f"TT-{key}"}]}]}}
    first, again = post_json(server, "TroubleTickets", ticket, key), post_json(server, "TroubleTickets", ticket, key)
    assert first.status_code == again.status_code == 201
    assert first.content == again.content and first.headers["Location"] == again.headers["Location"]
    listed = requests.get(f"{rest(server)}/TroubleTickets", params={"name": f"TT-{key}"}, headers=JSON, timeout=30)
    assert len(listed.json()["TroubleTickets"]["TroubleTicket"]) == 1  # acted once
    # the key is the request's MessageID: the journal holds the REST request as it came, then its repeat
    store = Store(server.database_url)
    try:
        entries = [e for e in store.journal_by_message_id(key) if e.direction == "in"]
    finally:
        store.close()
    assert [e.outcome for e in entries] == ["processed", "duplicate"]
    assert entries[0].raw.startswith(b"POST /rest/TroubleTickets HTTP\r\nContent-Type: application/json")
    assert entries[0].raw.endswith(json.dumps(ticket).encode()) and entries[0].source == "REST"
    assert first.json()["correlationId"] == key


def test_the_same_key_for_another_request_is_refused_and_does_nothing(server):
    key = str(uuid.uuid4())
    mrid = f"a-{uuid.uuid4()}"
    assert post_json(server, "Assets", asset(mrid), key).status_code == 201
    other = f"a-{uuid.uuid4()}"
    problem_of(post_json(server, "Assets", asset(other), key), 422, "1.8")
    problem_of(requests.get(f"{rest(server)}/Assets/{other}", timeout=30), 404, "2.15")
    # positive control: the same request under a new key acts
    assert post_json(server, "Assets", asset(other), str(uuid.uuid4())).status_code == 201


def test_without_a_key_each_post_is_a_new_request(server):
    mrid = f"a-{uuid.uuid4()}"
    assert post_json(server, "Assets", asset(mrid)).status_code == 201
    duplicate = post_json(server, "Assets", asset(mrid))
    assert "duplicate create" in problem_of(duplicate, 409, "6.1")["detail"]


# ---------------------------------------------------------------- lists


def test_lists_filter_by_time_window_related_mrid_and_name_a_page_at_a_time(server):
    location = f"loc-{uuid.uuid4()}"
    made = [f"a-{i}-{uuid.uuid4()}" for i in range(5)]
    for mrid in made[:2]:
        assert post_json(server, "Assets", asset(mrid, Location={"mRID": location})).status_code == 201
    middle = datetime.now(timezone.utc)  # the first two were answered (stored) before, the others will be after
    for mrid in made[2:]:
        assert post_json(server, "Assets", asset(mrid, Location={"mRID": location})).status_code == 201
    assert post_json(server, "Assets", asset(f"elsewhere-{uuid.uuid4()}")).status_code == 201

    def ids(params) -> list[str]:
        answer = requests.get(f"{rest(server)}/Assets", params=params, headers=JSON, timeout=30)
        assert answer.status_code == 200, answer.text
        return [a["mRID"] for a in answer.json()["Assets"].get("Asset", [])]

    assert sorted(ids({"mRID": location})) == sorted(made)  # the assets at that location, and no other
    assert sorted(ids({"mRID": location, "start": middle.isoformat()})) == sorted(made[2:])
    assert sorted(ids({"mRID": location, "end": middle.isoformat()})) == sorted(made[:2])
    assert ids({"mRID": location, "start": (middle + timedelta(days=1)).isoformat()}) == []

    # pages: follow rel="next" until there is none; every object once
    seen, url, pages = [], f"{rest(server)}/Assets?mRID={location}&pageSize=2", 0
    while url:
        answer = requests.get(url, headers=JSON, timeout=30)
        assert answer.headers["X-Total-Count"] == "5"
        seen += [a["mRID"] for a in answer.json()["Assets"]["Asset"]]
        links = requests.utils.parse_header_links(answer.headers["Link"])
        url = next((link["url"] for link in links if link["rel"] == "next"), None)
        pages += 1
        if url:
            assert parse_qs(urlparse(url).query)["mRID"] == [location]  # the filter carried on
    assert pages == 3 and sorted(seen) == sorted(made) and len(seen) == 5
    problem_of(requests.get(f"{rest(server)}/Assets", params={"mRID": location, "pageSize": 2, "page": 4},
                            timeout=30), 404, "2.15")


def test_readings_are_listed_by_meter_and_by_their_own_time(server):
    meter = str(uuid.uuid4())
    rt = "0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0"
    readings = [{"timeStamp": f"2024-03-05T{hour:02d}:00:00Z", "value": f"{100 + hour}.5", "ReadingType": {"@ref": rt}}
                for hour in (1, 2, 3)]
    data = {"MeterReadings": {"MeterReading": [{"Meter": {"mRID": meter}, "Readings": readings}]}}
    assert post_json(server, "MeterReadings", data).status_code == 201
    answer = requests.get(f"{rest(server)}/MeterReadings", headers=JSON, timeout=30,
                          params={"mRID": meter, "start": "2024-03-05T02:00:00Z", "end": "2024-03-05T03:00:00Z"})
    assert answer.status_code == 200, answer.text
    values = sorted(r["value"] for item in answer.json()["MeterReadings"]["MeterReading"] for r in item["Readings"])
    assert values == ["102.5", "103.5"]
    assert problem_of(requests.get(f"{rest(server)}/MeterReadings", params={"name": "x"}, timeout=30),
                      400, "1.8")["details"] == "at ?name"


def test_an_edition_is_asked_by_parameter(server):
    mrid = str(uuid.uuid4())
    text = (f'<WorkRequests xmlns="{ns("WorkRequests")}"><WorkRequest><mRID>{mrid}</mRID><kind>repair</kind>'
            f'<statusKind>approved</statusKind></WorkRequest></WorkRequests>')
    assert post_xml(server, "WorkRequests", text).status_code == 201
    stored = etree.fromstring(requests.get(f"{rest(server)}/WorkRequests/{mrid}", timeout=30).content)
    converted = requests.get(f"{rest(server)}/WorkRequests/{mrid}?edition=2015", timeout=30)
    assert "X-61968-Warning" not in converted.headers  # converted without loss: nothing to warn of
    in_2015 = etree.fromstring(converted.content)
    assert etree.QName(stored).namespace == ns("WorkRequests")
    assert etree.QName(in_2015).namespace == ns("WorkRequests", 2015)
    assert texts(in_2015, "kind") == ["repair"] and in_2015.find(f".//{{{ns('WorkRequests', 2015)}}}Work") is not None
    problem_of(requests.get(f"{rest(server)}/WorkRequests/{mrid}?edition=2009", timeout=30), 400, "1.8")


def test_an_object_that_does_not_convert_stays_in_its_edition_with_a_warning(server):
    mrid = str(uuid.uuid4())
    order = {"MaintenanceOrders": {"MaintenanceOrder": [{"mRID": mrid, "kind": "inspection", "statusKind": "approved"}]}}
    assert post_json(server, "MaintenanceOrders", order).status_code == 201
    answer = requests.get(f"{rest(server)}/MaintenanceOrders/{mrid}", params={"edition": 2015}, headers=JSON, timeout=30)
    assert answer.status_code == 200 and answer.json()["MaintenanceOrders"]["@xmlns"] == ns("MaintenanceOrders")
    warning = answer.headers["X-61968-Warning"]
    assert warning.startswith(f"0.0 MaintenanceOrder {mrid} is answered in the edition it was stored in")


def test_a_2015_order_is_created_and_read_in_its_edition(server):
    document = etree.fromstring(FULL_2015["MaintenanceOrders"].encode())
    mrid = str(uuid.uuid4())
    document[0].find(f"{{{ns('MaintenanceOrders', 2015)}}}mRID").text = mrid
    assert post_xml(server, "MaintenanceOrders", etree.tostring(document).decode()).status_code == 201
    data = requests.get(f"{rest(server)}/MaintenanceOrders/{mrid}", headers=JSON, timeout=30).json()
    assert data["MaintenanceOrders"]["@xmlns"] == ns("MaintenanceOrders", 2015)
    assert data["MaintenanceOrders"]["MaintenanceOrder"][0]["Work"][0]["statusKind"] == "scheduled"


# ---------------------------------------------------------------- read-only interfaces, refusals


@pytest.mark.parametrize("noun", ["SwitchingPlans", "Outages", "Controls"])
def test_i1_and_i9_are_read_only_naming_the_signed_soap_endpoint(server, noun):
    refused = requests.post(f"{rest(server)}/{noun}", data=b"<x/>", headers={"Content-Type": "application/xml"},
                            timeout=30)
    body = problem_of(refused, 405, "2.9")
    assert refused.headers["Allow"] == "GET, HEAD"
    assert body["soapEndpoint"] == f"{server.url}/soap/Execute{noun}"
    assert body["wsdl"] == f"{server.url}/wsdl/Execute{noun}.wsdl" and "signed" in body["detail"]
    assert requests.delete(f"{rest(server)}/{noun}/any", timeout=30).status_code == 405
    # positive control: reads are answered (an empty document), and an I2 noun takes writes
    listed = requests.get(f"{rest(server)}/{noun}", timeout=30)
    assert listed.status_code == 200 and etree.QName(etree.fromstring(listed.content)).localname == noun


def test_unknown_objects_and_nouns_are_404_with_their_code(server):
    problem_of(requests.get(f"{rest(server)}/UsagePoints/up-nowhere", timeout=30), 404, "2.12")
    problem_of(requests.get(f"{rest(server)}/MeterServiceRequests/none", timeout=30), 404, "2.4")
    problem_of(requests.get(f"{rest(server)}/Nothings/x", timeout=30), 404, "2.5")
    problem_of(requests.get(f"{rest(server)}/Assets/x/y", timeout=30), 404, "2.5")


@pytest.mark.parametrize(("body", "content_type", "status", "code", "says"), [
    ('{"Assets": {"Asset": [{"critical": "maybe"}]}}', "application/json", 400, "1.8", "/Assets/Asset[1]/critical"),
    ('{"Assets": {"Asset": [{"mRID": "x", "colour": "green"}]}}', "application/json", 400, "1.8", "colour"),
    ('{"Assets": ', "application/json", 400, "1.8", "not JSON"),
    ('{"MeterReadings": {}}', "application/json", 400, "1.8", "one key 'Assets'"),
    ('<Assets xmlns="urn:wrong"><Asset/></Assets>', "application/xml", 400, "1.8", "Assets"),
    ('<Assets xmlns="http://iec.ch/TC57/2011/Assets#"><Asset>', "application/xml", 400, "1.8", "well-formed"),
    ('<!DOCTYPE x [<!ENTITY e "e">]><Assets/>', "application/xml", 400, "1.8", "DOCTYPE"),
    ("serialNumber=1", "text/plain", 415, "1.8", "application/json"),
], ids=["invalid value", "unknown element", "broken JSON", "wrong root", "wrong namespace", "broken XML", "DOCTYPE",
        "wrong content type"])
def test_bad_input_is_400_with_the_reply_code(server, body, content_type, status, code, says):
    refused = requests.post(f"{rest(server)}/Assets", data=body.encode(), headers={"Content-Type": content_type},
                            timeout=30)
    assert says in json.dumps(problem_of(refused, status, code))


@pytest.mark.parametrize(("params", "parameter"), [
    ({"start": "yesterday"}, "start"), ({"pageSize": "0"}, "pageSize"), ({"page": "x"}, "page"),
    ({"colour": "green"}, "colour"), ({"start": "2024-03-06T00:00:00Z", "end": "2024-03-05T00:00:00Z"}, "end"),
])
def test_bad_query_parameters_are_400_naming_them(server, params, parameter):
    body = problem_of(requests.get(f"{rest(server)}/Assets", params=params, timeout=30), 400, "1.8")
    assert body["details"] == f"at ?{parameter}"


def test_methods_the_noun_does_not_offer_are_405(server):
    body = problem_of(requests.delete(f"{rest(server)}/TroubleTickets/any", timeout=30), 405, "2.9")
    assert "offers no delete" in body["detail"]
    assert problem_of(requests.post(f"{rest(server)}/MarketPrices", json={}, timeout=30), 405, "2.9")


# ---------------------------------------------------------------- OpenAPI


def test_the_openapi_document_is_built_from_the_noun_table(server):
    document = requests.get(f"{rest(server)}/openapi.json", timeout=30).json()
    assert document["openapi"].startswith("3.") and document["servers"] == [{"url": rest(server)}]
    for noun in NOUNS.values():
        collection, one = document["paths"][f"/{noun.name}"], document["paths"][f"/{noun.name}/{{id}}"]
        writable = "Execute" in noun.roles and not noun.signed_by_default
        assert ("post" in collection) == (writable and "create" in noun.transactions), noun.name
        assert ("delete" in one) == (writable and "delete" in noun.transactions), noun.name
        assert "get" in collection and "get" in one
    schemas = document["components"]["schemas"]
    refs = {value for value in _walk(document) if isinstance(value, str) and value.startswith("#/components/")}
    for ref in refs:  # every reference resolves
        kind, name = ref.split("/")[2:]
        assert name in document["components"][kind], ref
    usage_point = schemas["UsagePoints2011.UsagePoint"]["properties"]
    assert usage_point["Names"]["type"] == "array" and usage_point["isSdp"] == {"type": "string"}
    assert schemas["Bids2011.CodedIdentifier"]["properties"] == {"@codingScheme": {"type": "string"},
                                                                 "#text": {"type": "string"}}


def _walk(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)
    else:
        yield value
