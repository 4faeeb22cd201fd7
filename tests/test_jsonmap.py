"""The one JSON mapping of profile documents (profiles/jsonmap.py, docs/rest.md "JSON").

Every realistic document of every noun goes to JSON and back unchanged; repeatable elements are
arrays even of one, attributes `@name`, simple content `#text`, values strings as written; keys in
any order come back in the profile's order; what the profile does not know stays where it was
and is then refused by validation; JSON that is no document is refused saying where.
"""
from __future__ import annotations

import json
import random

import pytest
from lxml import etree

from soapbus.profiles import NOUNS, validate_documents, xsd_dir
from soapbus.profiles.jsonmap import JsonMappingError, from_json, to_json

from .profile_documents import FULL, FULL_2015, ns
from .profile_support import xml
from .test_profiles_more_nouns import REALISTIC


def profile_of(noun: str):
    def path_for(namespace: str):
        edition = NOUNS[noun].edition_for(namespace)
        return xsd_dir() / edition.profile_xsd if edition else None
    return path_for


def canonical(element: etree._Element) -> bytes:
    """The document without the whitespace between elements, namespaces written canonically."""
    copy = etree.fromstring(etree.tostring(element))
    for el in copy.iter():
        if el.text is not None and not el.text.strip() and len(el):
            el.text = None
        el.tail = None
    return etree.tostring(copy, method="c14n")


def round_trip(noun: str, document: etree._Element) -> tuple[dict, etree._Element]:
    data = to_json(document, profile_of(noun)(etree.QName(document).namespace))
    text = json.dumps(data)  # through real JSON text, as a client would receive and send it
    back = from_json(json.loads(text), noun, NOUNS[noun].profile_ns, profile_of(noun))
    return data, back


DOCUMENTS = ([(noun, text) for noun, text in FULL.items()] + [(noun, text) for noun, text in FULL_2015.items()]
             + [(noun, text) for noun, text in REALISTIC.values()])


@pytest.mark.parametrize(("noun", "text"), DOCUMENTS, ids=[f"{n}-{i}" for i, (n, _t) in enumerate(DOCUMENTS)])
def test_every_realistic_document_goes_to_json_and_back_unchanged(noun, text):
    document = xml(text)
    data, back = round_trip(noun, document)
    assert list(data) == [noun] and data[noun]["@xmlns"] == etree.QName(document).namespace
    assert canonical(back) == canonical(document)
    assert validate_documents(noun, [back]) == []


def test_repeatable_elements_are_arrays_even_of_one_and_single_ones_objects():
    data = to_json(xml(FULL["ServiceOrders"]), xsd_dir() / "ServiceOrders.xsd")["ServiceOrders"]
    [order] = data["ServiceOrder"]  # one order, still an array: the profile lets it repeat
    assert isinstance(order["Customers"], list) and len(order["Customers"]) == 1
    assert isinstance(order["Names"], list)
    assert isinstance(order["priority"], dict) and order["priority"]["rank"] == "1"  # a value stays a string
    assert isinstance(order["WorkLocation"], dict)


def test_attributes_and_simple_content():
    data = to_json(xml(FULL["Bids"]), xsd_dir() / "Bids.xsd")["Bids"]
    bidder = data["Bid"][0]["Bidder"]
    assert bidder["mRID"] == {"@codingScheme": "A01", "#text": "11XBSP-4-------Q"}
    point = data["Bid"][0]["BidTimeSeries"][0]["Period"][0]["Point"][1]
    assert point == {"position": "2", "price": "91.00", "quantity": "12"}  # 91.00 as written, not 91.0


def test_reading_type_refs_are_attributes():
    from .test_profiles_schemas import ON_DEMAND_READ

    data = to_json(xml(ON_DEMAND_READ), xsd_dir() / "MeterReadings.xsd")["MeterReadings"]
    reading = data["MeterReading"][0]["Readings"][0]
    assert reading["ReadingType"] == {"@ref": "0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0"}
    assert reading["value"] == "14023.7"


def test_keys_in_any_order_come_back_in_the_profiles_order():
    document = xml(FULL["UsagePoints"])
    data = to_json(document, xsd_dir() / "UsagePoints.xsd")
    point = data["UsagePoints"]["UsagePoint"][0]
    keys = list(point)
    random.Random(7).shuffle(keys)
    assert keys != list(point)
    data["UsagePoints"]["UsagePoint"][0] = {key: point[key] for key in keys}
    back = from_json(data, "UsagePoints", NOUNS["UsagePoints"].profile_ns, profile_of("UsagePoints"))
    assert canonical(back) == canonical(document)


def test_json_written_by_hand_with_numbers_and_booleans():
    data = {"UsagePoints": {"UsagePoint": {"mRID": "up-1", "isSdp": True, "readCycle": 12,
                                          "ServiceCategory": {"kind": "electricity"}}}}
    back = from_json(data, "UsagePoints", NOUNS["UsagePoints"].profile_ns, profile_of("UsagePoints"))
    assert validate_documents("UsagePoints", [back]) == []
    assert back.findtext(f"{{{ns('UsagePoints')}}}UsagePoint/{{{ns('UsagePoints')}}}isSdp") == "true"
    assert etree.QName(back).namespace == ns("UsagePoints")  # no @xmlns: the base edition


def test_open_content_of_the_2015_edition_goes_through_by_its_instance():
    document = xml(FULL_2015["ServiceOrders"])
    data, back = round_trip("ServiceOrders", document)
    street = data["ServiceOrders"]["ServiceOrder"][0]["Work"][0]["WorkLocation"]["mainAddress"]["streetDetail"]
    assert street == {"name": "Orchard Lane", "number": "17"}
    assert canonical(back) == canonical(document)


def test_an_unknown_key_stays_and_validation_names_it():
    data = {"Assets": {"Asset": [{"mRID": "a-1", "colour": "green", "serialNumber": "SN-1"}]}}
    back = from_json(data, "Assets", NOUNS["Assets"].profile_ns, profile_of("Assets"))
    [error] = validate_documents("Assets", [back], limit=1)
    assert error.code == "1.8" and error.details.startswith("at /Assets/Asset[1]/colour")
    # positive control: without it the document is valid
    del data["Assets"]["Asset"][0]["colour"]
    assert validate_documents("Assets", [from_json(data, "Assets", NOUNS["Assets"].profile_ns,
                                                   profile_of("Assets"))]) == []


@pytest.mark.parametrize(("data", "message"), [
    ({"Asset": {}}, "one key 'Assets'"),
    ({"Assets": {}, "extra": 1}, "one key 'Assets'"),
    ([{"Assets": {}}], "a JSON list"),
    ({"Assets": []}, "/Assets must be an object"),
    ({"Assets": {"@xmlns": "http://iec.ch/TC57/2011/MeterReadings#"}}, "no edition of Assets"),
    ({"Assets": {"Asset": [[{"mRID": "x"}]]}}, "/Assets/Asset is a JSON list"),
    ({"Assets": {"Asset": [{"bad key": "x"}]}}, "'bad key' is no element name"),
    ({"Assets": {"Asset": [{"serialNumber": "a\u0001b"}]}}, "a character XML cannot carry"),
], ids=["wrong root", "two keys", "a list", "root not an object", "another noun's namespace", "nested array",
        "key no XML name", "control character"])
def test_json_that_is_no_document_is_refused_saying_where(data, message):
    with pytest.raises(JsonMappingError) as refused:
        from_json(data, "Assets", NOUNS["Assets"].profile_ns, profile_of("Assets"))
    assert message in str(refused.value)


def test_a_body_too_deep_or_too_large_is_refused_before_it_is_built():
    deep: dict = {"name": "x"}
    for _ in range(150):
        deep = {"Names": deep}
    with pytest.raises(JsonMappingError, match="deeper than 100"):
        from_json({"Assets": {"Asset": [deep]}}, "Assets", NOUNS["Assets"].profile_ns, profile_of("Assets"))
    many = {"Assets": {"Asset": [{"mRID": str(i)} for i in range(60)]}}
    with pytest.raises(JsonMappingError, match="more elements"):
        from_json(many, "Assets", NOUNS["Assets"].profile_ns, profile_of("Assets"), max_elements=100)
    assert len(from_json(many, "Assets", NOUNS["Assets"].profile_ns, profile_of("Assets"), max_elements=120)) == 60
