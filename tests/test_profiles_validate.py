"""soapbus.profiles.validate_documents: the 1.8 errors a payload gets, and their use from threads."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from lxml import etree

from soapbus.message import Header, Payload, RequestMessage, parse, to_element
from soapbus.profiles import validate_documents, wsdl_dir, xsd_dir
from soapbus.profiles.validate import DEFAULT_ERROR_LIMIT, compiled_schema, readable_path

MR = "http://iec.ch/TC57/2011/MeterReadings#"
EDE = "http://iec.ch/TC57/2011/EndDeviceEvents#"


def readings(*items: str, prefix: str | None = None) -> etree._Element:
    """A MeterReadings document holding the given MeterReading contents."""
    p = f"{prefix}:" if prefix else ""
    # With a prefix, the root and the items use it while their content uses the default namespace.
    declaration = f'xmlns="{MR}"' + (f' xmlns:{prefix}="{MR}"' if prefix else "")
    body = "".join(f"<{p}MeterReading>{item}</{p}MeterReading>" for item in items)
    return etree.fromstring(f"<{p}MeterReadings {declaration}>{body}</{p}MeterReadings>".encode())


GOOD_ITEM = ("<mRID>MTR-0001</mRID><Readings><timeStamp>2011-06-14T12:00:00Z</timeStamp><value>5</value>"
             '<ReadingType ref="0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0"/></Readings>')
BAD_TIME_ITEM = GOOD_ITEM.replace("2011-06-14T12:00:00Z", "noon")
LATE_MRID_ITEM = '<Readings><ReadingType ref="x"/></Readings><mRID>MTR-0002</mRID>'


def test_valid_documents_give_no_errors():
    assert validate_documents("MeterReadings", [readings(GOOD_ITEM, GOOD_ITEM), readings(GOOD_ITEM)]) == []


def test_no_documents_give_no_errors():
    assert validate_documents("MeterReadings", []) == []


def test_a_bad_value_is_one_1_8_error_naming_the_element():
    [error] = validate_documents("MeterReadings", [readings(GOOD_ITEM, BAD_TIME_ITEM)])
    assert (error.code, error.level) == ("1.8", "FATAL")
    assert error.xpath == "p:timeStamp"
    assert error.xpath_ns == {"p": MR}
    assert error.details.startswith("at /MeterReadings/MeterReading[2]/Readings/timeStamp: ")
    assert "'noon' is not a valid value of the atomic type 'xs:dateTime'" in error.details
    assert error.reason == ("The MeterReadings payload does not validate against MeterReadings.xsd at "
                            "/MeterReadings/MeterReading[2]/Readings/timeStamp: "
                            "'noon' is not a valid value of the atomic type 'xs:dateTime'.")


def test_a_misplaced_element_is_reported_where_it_stands():
    [error] = validate_documents("MeterReadings", [readings(LATE_MRID_ITEM)])
    assert error.xpath == "p:mRID"
    assert error.details.startswith("at /MeterReadings/MeterReading[1]/mRID: ")
    assert "This element is not expected" in error.reason
    assert MR not in error.reason  # namespace URIs are kept out of the sentence meant for people


def test_paths_are_local_names_whatever_the_prefixes():
    [error] = validate_documents("MeterReadings", [readings(GOOD_ITEM, BAD_TIME_ITEM, prefix="m")])
    assert error.details.startswith("at /MeterReadings/MeterReading[2]/Readings/timeStamp: ")


def test_repeated_elements_below_the_items_carry_their_position():
    two_readings = GOOD_ITEM + '<Readings><timeStamp>noon</timeStamp><ReadingType ref="x"/></Readings>'
    [error] = validate_documents("MeterReadings", [readings(two_readings)])
    assert error.details.startswith("at /MeterReadings/MeterReading[1]/Readings[2]/timeStamp: ")


def test_an_attribute_error_names_its_element():
    [error] = validate_documents("MeterReadings", [readings('<Readings><ReadingType ref="x" unit="kWh"/></Readings>')])
    assert error.xpath == "p:ReadingType"
    assert "'unit'" in error.reason


def test_a_prefix_bound_twice_still_gives_the_element_and_libxml2s_path():
    """One prefix for two namespaces defeats the path lookup; the QName then comes from libxml2's message."""
    document = etree.fromstring(f'<a:MeterReadings xmlns:a="{MR}"><a:MeterReading>'
                                f'<a:Gadget xmlns:a="urn:example:other"/></a:MeterReading></a:MeterReadings>'.encode())
    [error] = validate_documents("MeterReadings", [document])
    assert (error.xpath, error.xpath_ns) == ("p:Gadget", {"p": "urn:example:other"})
    assert error.details.startswith("at /a:MeterReadings/a:MeterReading/a:Gadget: ")


def test_every_problem_is_reported():
    errors = validate_documents("MeterReadings", [readings(BAD_TIME_ITEM, LATE_MRID_ITEM, BAD_TIME_ITEM)])
    assert [e.details.split(":")[0] for e in errors] == [
        "at /MeterReadings/MeterReading[1]/Readings/timeStamp",
        "at /MeterReadings/MeterReading[2]/mRID",
        "at /MeterReadings/MeterReading[3]/Readings/timeStamp",
    ]


def test_the_number_of_errors_is_bounded():
    many = readings(*[BAD_TIME_ITEM] * (DEFAULT_ERROR_LIMIT + 10))
    assert len(validate_documents("MeterReadings", [many])) == DEFAULT_ERROR_LIMIT
    assert len(validate_documents("MeterReadings", [many, many], limit=3)) == 3


def test_which_document_failed_is_said_when_there_are_several():
    [error] = validate_documents("MeterReadings", [readings(GOOD_ITEM), readings(BAD_TIME_ITEM)])
    assert "(document 2 of 2)" in error.reason


def test_another_nouns_document_is_a_1_8_error_naming_both():
    events = etree.fromstring(f'<EndDeviceEvents xmlns="{EDE}"/>'.encode())
    [error] = validate_documents("MeterReadings", [events])
    assert (error.code, error.level) == ("1.8", "FATAL")
    assert "must be a MeterReadings document" in error.reason and "EndDeviceEvents" in error.reason
    assert error.xpath == "p:EndDeviceEvents" and error.xpath_ns == {"p": EDE}
    assert error.details.startswith("at /EndDeviceEvents: ")


def test_the_right_name_in_no_namespace_is_the_wrong_root():
    [error] = validate_documents("MeterReadings", [etree.fromstring(b"<MeterReadings/>")])
    assert "no namespace" in error.reason
    assert (error.xpath, error.xpath_ns) == ("MeterReadings", {})


def test_an_unknown_noun_is_the_callers_mistake():
    with pytest.raises(ValueError, match="Gadgets"):
        validate_documents("Gadgets", [readings(GOOD_ITEM)])


def test_documents_inside_a_parsed_message_are_reported_from_their_own_root():
    wire = to_element(RequestMessage(Header("create", "MeterReadings"),
                                     payload=Payload([readings(GOOD_ITEM, BAD_TIME_ITEM)])))
    documents = parse(etree.fromstring(etree.tostring(wire))).payload.documents
    assert documents[0].getparent() is not None
    [error] = validate_documents("MeterReadings", documents)
    assert error.details.startswith("at /MeterReadings/MeterReading[2]/Readings/timeStamp: ")
    assert documents[0].getparent() is not None  # the caller's tree is left as it was


def test_readable_path_indexes_items_always_and_other_steps_only_when_repeated():
    document = readings(GOOD_ITEM)
    mrid = document.find(f"{{{MR}}}MeterReading/{{{MR}}}mRID")
    assert readable_path(mrid, "MeterReading") == "/MeterReadings/MeterReading[1]/mRID"
    assert readable_path(mrid) == "/MeterReadings/MeterReading/mRID"


def test_directories_point_at_the_checked_in_files():
    assert (xsd_dir() / "Message.xsd").is_file()
    assert (wsdl_dir() / "Operations.wsdl").is_file()


# ---------------------------------------------------------------- threads


def test_each_thread_compiles_its_own_schema_once():
    here = compiled_schema("MeterReadings.xsd")
    assert compiled_schema("MeterReadings.xsd") is here
    with ThreadPoolExecutor(1) as pool:
        there = pool.submit(compiled_schema, "MeterReadings.xsd").result()
    assert there is not here


def test_concurrent_validations_keep_their_own_errors():
    """Threads validating different documents at once each get exactly their own document's errors."""
    cases = {
        "valid": (readings(GOOD_ITEM), []),
        "bad time": (readings(GOOD_ITEM, BAD_TIME_ITEM), ["at /MeterReadings/MeterReading[2]/Readings/timeStamp"]),
        "late mRID": (readings(LATE_MRID_ITEM), ["at /MeterReadings/MeterReading[1]/mRID"]),
        "many": (readings(*[BAD_TIME_ITEM] * 30), [f"at /MeterReadings/MeterReading[{i}]/Readings/timeStamp"
                                                   for i in range(1, 31)]),
    }
    start = threading.Barrier(8)
    mismatches = []

    def hammer(worker: int) -> None:
        start.wait()
        for round_ in range(150):
            name = list(cases)[(worker + round_) % len(cases)]
            document, expected = cases[name]
            found = [e.details.split(":")[0] for e in validate_documents("MeterReadings", [document])]
            if found != expected:
                mismatches.append((name, found[:3]))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(hammer, range(8)))
    assert mismatches == []
