"""The nouns that complete the eleven interfaces: the catalogue, their profiles, editions, templates and pages.

Every interface of the IRM serves at least two nouns, 24 or more in all, each drawn from a part of
61968 (or from the CIM/ESMP classes of the market and regulatory exchanges) and named with its
source in the noun table; each noun's profile takes a realistic full document and a minimal one,
and refuses the usual mistakes with 1.8 and the path; the I4 orders come in 2011 and 2015
editions; every noun has a conformance template the verbs suite can fill; every interface has a
page whose generated parts are current and which links the glossary.
"""
from __future__ import annotations

from collections import Counter

import pytest
from lxml import etree

from soapbus.profiles import INTERFACES, NOUNS, SIGNED_INTERFACES, validate_documents, verb_allowed, xsd_dir
from soapbus.profiles.interface_docs import profile_outline, rewrite_generated, rewrite_sections
from soapbus.profiles.samples import sample
from soapbus.profiles.schemaset import SchemaSet

from .profile_documents import FULL, FULL_2015, METER, UUID1, minimal, ns
from .profile_support import replaced, xml

DOCS = xsd_dir().parent / "docs"
TEMPLATES = xsd_dir().parent / "soapbus" / "conformance" / "suites" / "templates"
ADDED = sorted(FULL)


# ---------------------------------------------------------------- the catalogue


def test_every_interface_serves_at_least_two_nouns_and_24_in_all():
    per_interface = Counter(noun.interface for noun in NOUNS.values())
    assert set(per_interface) == set(INTERFACES)
    assert min(per_interface.values()) >= 2, per_interface
    assert sum(per_interface.values()) >= 24


def test_every_noun_names_its_source_part_and_class():
    for noun in NOUNS.values():
        assert noun.source and ("IEC" in noun.source or "CIM" in noun.source), noun.name
        assert noun.description, noun.name


def test_signing_follows_the_interface_for_the_new_nouns():
    for name in ADDED:
        noun = NOUNS[name]
        assert noun.signed_by_default == (noun.interface in SIGNED_INTERFACES), name


@pytest.mark.parametrize(("noun", "offered", "not_offered"), [
    ("Outages", ("create", "change", "cancel", "close"), ("delete",)),
    ("TroubleTickets", ("cancel", "close"), ("delete",)),
    ("DERGroups", ("create", "change", "delete"), ("cancel", "close")),
    ("DERGroupDispatches", ("create", "cancel"), ("delete", "close")),
    ("Bids", ("create", "change", "cancel"), ("delete",)),
    ("ComplianceEvents", ("create", "close"), ("delete", "cancel")),
    ("UnavailabilityReports", ("cancel",), ("delete",)),
], ids=lambda v: v if isinstance(v, str) else None)
def test_transactions_are_those_the_record_allows(noun, offered, not_offered):
    entry = NOUNS[noun]
    assert all(verb_allowed(entry, verb) for verb in offered)
    assert not any(verb_allowed(entry, verb) for verb in not_offered)


def test_published_prices_are_queried_and_told_of_never_requested():
    prices = NOUNS["MarketPrices"]
    assert [s.name for s in prices.services()] == ["GetMarketPrices", "ReceiveMarketPrices"]
    assert verb_allowed(prices, "created") and verb_allowed(prices, "get") and not verb_allowed(prices, "create")


def test_unknown_objects_answer_the_code_of_their_kind():
    assert NOUNS["UsagePoints"].unknown_code == "2.12"
    assert NOUNS["MeterServiceRequests"].unknown_code == "2.4"
    assert NOUNS["Assets"].unknown_code == "2.15"


# ---------------------------------------------------------------- documents each profile takes


@pytest.mark.parametrize("noun", ADDED)
def test_a_realistic_full_document_validates(noun):
    document = xml(FULL[noun])
    assert validate_documents(noun, [document]) == []
    assert len(NOUNS[noun].editions[0].profile_xsd) and etree.QName(document).namespace == NOUNS[noun].profile_ns


@pytest.mark.parametrize("noun", ADDED)
def test_a_minimal_document_validates_and_an_empty_one_too(noun):
    entry = NOUNS[noun]
    assert validate_documents(noun, [xml(minimal(noun, entry.item))]) == []
    assert validate_documents(noun, [xml(f'<{noun} xmlns="{ns(noun)}"/>')]) == []


@pytest.mark.parametrize("noun", ADDED)
def test_the_full_document_uses_every_child_of_the_object(noun):
    """So that the full document is a real test of the profile, not of a corner of it."""
    schema = etree.parse(str(xsd_dir() / NOUNS[noun].profile_xsd)).getroot()
    xs = "{http://www.w3.org/2001/XMLSchema}"
    declared = {e.get("name") for e in schema.find(f"{xs}complexType[@name='{NOUNS[noun].item}']").iter(f"{xs}element")}
    item = xml(FULL[noun])[0]
    used = {etree.QName(child).localname for child in item}
    assert declared - used <= {"description", "cancelledDateTime", "removalDate", "retiredDate"}, declared - used


ITEM = {noun: f"/{noun}/{NOUNS[noun].item}[1]" for noun in ADDED}

# case -> (noun, document, the path the error names)
MISTAKES = {
    "outage planned in words": ("Outages", replaced(FULL["Outages"], "<isPlanned>true", "<isPlanned>yes"),
                                f"{ITEM['Outages']}/isPlanned"),
    "outage count negative": ("Outages", replaced(FULL["Outages"], "<totalCount>148", "<totalCount>-1"),
                              f"{ITEM['Outages']}/summary/totalCount"),
    "asset installed at a time, not a date": (
        "Assets", replaced(FULL["Assets"], "<installationDate>2019-06-12<", "<installationDate>2019-06-12T10:00:00Z<"),
        f"{ITEM['Assets']}/lifecycle/installationDate"),
    "asset price with a currency": ("Assets", replaced(FULL["Assets"], "18250.00", "EUR 18250"),
                                    f"{ITEM['Assets']}/purchasePrice"),
    "catalogue standard kind unknown": (
        "AssetModelCatalogues", replaced(FULL["AssetModelCatalogues"], ">standard<", ">preferred<"),
        f"{ITEM['AssetModelCatalogues']}/AssetModelCatalogueItems[1]/ProductAssetModel/corporateStandardKind"),
    "DER parameter unknown": ("DERGroups", replaced(FULL["DERGroups"], ">reactivePower<", ">reactive<"),
                              f"{ITEM['DERGroups']}/DERMonitorableParameter[2]/DERParameter"),
    "DER unit kW, not multiplier and unit": ("DERGroups", replaced(FULL["DERGroups"], "<yUnit>W<", "<yUnit>kW<"),
                                            f"{ITEM['DERGroups']}/DERMonitorableParameter[1]/yUnit"),
    "dispatch value missing": (
        "DERGroupDispatches", replaced(FULL["DERGroupDispatches"], "<nominalYValue>200</nominalYValue>", ""),
        f"{ITEM['DERGroupDispatches']}/DERMonitorableParameter/DERCurveData[2]"),
    "dispatch interval unit in words": (
        "DERGroupDispatches", replaced(FULL["DERGroupDispatches"], "<timeIntervalUnit>m<", "<timeIntervalUnit>minutes<"),
        f"{ITEM['DERGroupDispatches']}/DERMonitorableParameter/DispatchSchedule/timeIntervalUnit"),
    "forecast curve before its parameter": (
        "DERGroupForecasts", replaced(FULL["DERGroupForecasts"], "<DERParameter>activePower</DERParameter>", "")
        .replace("<yUnit>W</yUnit>", "<yUnit>W</yUnit><DERParameter>activePower</DERParameter>"),
        f"{ITEM['DERGroupForecasts']}/DERMonitorableParameter/flowDirection"),
    "maintenance kind in the plural": (
        "MaintenanceOrders", replaced(FULL["MaintenanceOrders"], "<kind>inspection<", "<kind>inspections<"),
        f"{ITEM['MaintenanceOrders']}/kind"),
    "schedule without its kind": (
        "MaintenanceOrders", replaced(FULL["MaintenanceOrders"], "<kind>latest</kind>", ""),
        f"{ITEM['MaintenanceOrders']}/TimeSchedules[2]/scheduleInterval"),
    "service order priority as a bare value": (
        "ServiceOrders", replaced(FULL["ServiceOrders"],
                                  "<priority><justification>customer move-in date</justification><rank>1</rank></priority>",
                                  "<priority>1</priority>"), f"{ITEM['ServiceOrders']}/priority"),
    "project budget in words": ("Projects", replaced(FULL["Projects"], "1250000.00", "1.25 M"),
                                f"{ITEM['Projects']}/budget"),
    "design kind unknown": ("Designs", replaced(FULL["Designs"], "<kind>estimated<", "<kind>draft<"),
                            f"{ITEM['Designs']}/kind"),
    "two account holders": (
        "CustomerAccounts", replaced(FULL["CustomerAccounts"], "<CustomerAgreements>",
                                     "<Customer><mRID>cust-2</mRID></Customer><CustomerAgreements>"),
        f"{ITEM['CustomerAccounts']}/Customer[2]"),
    "trouble reported by fax": ("TroubleTickets", replaced(FULL["TroubleTickets"], ">call<", ">fax<"),
                                f"{ITEM['TroubleTickets']}/reportingKind"),
    "meter by serial number as its text": (
        "MeterServiceRequests", replaced(FULL["MeterServiceRequests"], "<Meter><serialNumber>SN-00067890</serialNumber></Meter>",
                                         "<Meter>SN-00067890</Meter>"), f"{ITEM['MeterServiceRequests']}/Meter"),
    "usage point disconnected in words": (
        "UsagePoints", replaced(FULL["UsagePoints"], ">connected<", ">off<"), f"{ITEM['UsagePoints']}/connectionState"),
    "phase code lower case": ("UsagePoints", replaced(FULL["UsagePoints"], ">s12N<", ">abc<"),
                              f"{ITEM['UsagePoints']}/phaseCode"),
    "forecast period without its points": (
        "LoadForecasts", replaced(FULL["LoadForecasts"],
                                  "<Point><position>1</position><quantity>6120</quantity></Point>\n        "
                                  "<Point><position>2</position><quantity>5987</quantity></Point>", ""),
        f"{ITEM['LoadForecasts']}/TimeSeries/Period/timeInterval"),
    "resolution in minutes, not a duration": (
        "LoadForecasts", replaced(FULL["LoadForecasts"], "<resolution>PT60M<", "<resolution>60<"),
        f"{ITEM['LoadForecasts']}/TimeSeries/Period/resolution"),
    "business type spelt out": ("EnergySchedules", replaced(FULL["EnergySchedules"], ">A06<", ">external trade<"),
                                f"{ITEM['EnergySchedules']}/TimeSeries/businessType"),
    "coding scheme in lower case": ("EnergySchedules", replaced(FULL["EnergySchedules"], 'codingScheme="A01">11X',
                                                                 'codingScheme="eic">11X'),
                                    f"{ITEM['EnergySchedules']}/Sender/mRID"),
    "bid without its direction": ("Bids", replaced(FULL["Bids"], "<flowDirection>A01</flowDirection>", ""),
                                  f"{ITEM['Bids']}/BidTimeSeries/measurementUnit"),
    "price currency as a symbol": ("MarketPrices", replaced(FULL["MarketPrices"], ">EUR<", ">€<"),
                                   f"{ITEM['MarketPrices']}/currency"),
    "compliance deadline without a time": ("ComplianceEvents", replaced(FULL["ComplianceEvents"],
                                                                        "2024-03-06T18:11:00-05:00", "2024-03-06"),
                                           f"{ITEM['ComplianceEvents']}/deadline"),
    "unavailability reason without its code": (
        "UnavailabilityReports", replaced(FULL["UnavailabilityReports"], "<code>B18</code>", ""),
        f"{ITEM['UnavailabilityReports']}/Reason/text"),
}


@pytest.mark.parametrize("case", sorted(MISTAKES))
def test_typical_mistakes_are_refused_with_1_8_and_the_path(case):
    noun, text, path = MISTAKES[case]
    errors = validate_documents(noun, [xml(text)])
    assert errors, "the mistake was accepted"
    assert (errors[0].code, errors[0].level) == ("1.8", "FATAL")
    assert errors[0].details.startswith(f"at {path}: "), errors[0].details


def test_every_added_noun_has_a_mistake_case():
    assert {noun for noun, _text, _path in MISTAKES.values()} == set(ADDED)


# ---------------------------------------------------------------- the I4 orders in two editions


@pytest.mark.parametrize("noun", sorted(FULL_2015))
def test_the_2015_orders_are_checked_by_their_own_edition(noun):
    entry = NOUNS[noun]
    assert [(e.year, e.profile_xsd) for e in entry.editions] == [(2011, f"{noun}.xsd"), (2015, f"2015/{noun}.xsd")]
    document = xml(FULL_2015[noun])
    assert entry.edition_of(document).year == 2015
    assert validate_documents(noun, [document]) == []
    # a later year's document is checked by the 2015 profile, an earlier one is no edition at all
    assert entry.edition_for(ns(noun, 2017)).year == 2015 and entry.edition_for(ns(noun, 2010)) is None
    # the 2011 shape in the 2015 namespace is refused: there the order is a container of Work
    flat_in_2015 = FULL[noun].replace(ns(noun), ns(noun, 2015))
    [error] = validate_documents(noun, [xml(flat_in_2015)], limit=1)
    assert error.code == "1.8" and f"2015/{noun}.xsd" in error.reason


@pytest.mark.parametrize(("noun", "old", "new", "where"), [
    ("MaintenanceOrders", f"<mRID>{UUID1}</mRID>", "<mRID>mo-2024-0088</mRID>", "/MaintenanceOrder[1]/mRID"),
    ("MaintenanceOrders", "<statusKind>scheduled</statusKind>", "", "/MaintenanceOrder[1]/Work/priority"),
    ("ServiceOrders", "<kind>reconnect</kind>", "", "/ServiceOrder[1]/Work/statusKind"),
], ids=["mRID not a UUID", "work without status", "work without kind"])
def test_the_2015_edition_requires_what_61968_6_2015_requires(noun, old, new, where):
    [error] = validate_documents(noun, [xml(replaced(FULL_2015[noun], old, new))], limit=1)
    assert error.details.startswith(f"at /{noun}{where}: "), error.details


@pytest.mark.parametrize("noun", ADDED)
def test_generated_samples_of_each_new_profile_are_valid(noun):
    """What the conformance harness generates for a target without a template is valid here too."""
    for edition in NOUNS[noun].editions:
        schemas = SchemaSet.load(str(xsd_dir() / edition.profile_xsd))
        made = sample(schemas, noun, mrid=UUID1)
        assert validate_documents(noun, [made.element]) == [], edition.label


# ---------------------------------------------------------------- conformance templates


def filled(noun: str, value: str) -> etree._Element:
    text = (TEMPLATES / f"{noun}.xml").read_text(encoding="utf-8")
    for name, given in (("${mrid}", UUID1), ("${meter}", METER), ("${now()}", "2024-03-05T09:30:00Z"),
                        ("${value}", value)):
        text = text.replace(name, given)
    assert "${" not in text, f"the {noun} template uses a variable the verbs suite does not set"
    return xml(text)


@pytest.mark.parametrize("noun", ADDED)
def test_each_new_noun_has_a_template_valid_for_create_and_change(noun):
    created, changed = filled(noun, "12.5"), filled(noun, "13.5")
    assert validate_documents(noun, [created]) == [] and validate_documents(noun, [changed]) == []
    assert etree.tostring(created) != etree.tostring(changed), "the change must change something"


# ---------------------------------------------------------------- the pages


@pytest.mark.parametrize("interface", sorted(INTERFACES, key=lambda i: int(i[1:])))
def test_each_interface_has_a_current_page_linking_the_glossary(interface):
    page = (DOCS / "interfaces" / f"{interface}.md").read_text(encoding="utf-8")
    assert page.startswith(f"# {interface}: {INTERFACES[interface]}")
    nouns = [n for n in NOUNS.values() if n.interface == interface]
    for noun in nouns:
        assert f"### {noun.name}\n" in page, noun.name
        assert f"| [{noun.name}](#{noun.name.lower()}) | {noun.source} |" in page, noun.name
    assert rewrite_generated(rewrite_sections(page, nouns), xsd_dir()) == page, \
        "regenerate with `python -m soapbus.profiles.interface_docs`"
    assert "../glossary.md" in page and "../rest.md" in page


@pytest.mark.parametrize("noun", ADDED)
def test_the_page_shows_each_edition_of_the_profile(noun):
    page = (DOCS / "interfaces" / f"{NOUNS[noun].interface}.md").read_text(encoding="utf-8")
    for edition in NOUNS[noun].editions:
        assert f"<!-- generated: outline {noun} {edition.year} -->" in page
        assert profile_outline(NOUNS[noun], edition.year, xsd_dir()) in page


def test_the_outline_says_occurrence_type_and_choices():
    outline = profile_outline(NOUNS["UsagePoints"], 2011, xsd_dir())
    lines = outline.splitlines()
    assert lines[:2] == ["UsagePoints", "  UsagePoint*"]
    assert any(line.split() == ["isSdp?", "boolean"] for line in lines)
    assert any(line.strip().startswith("connectionState?") and "logicallyDisconnected" in line for line in lines)
    assert any(line.split()[:2] == ["kind", "electricity"] for line in lines)  # expanded under ServiceCategory


# ---------------------------------------------------------------- the glossary


def anchor(heading: str) -> str:
    """The anchor a Markdown renderer (GitHub's rule) gives a heading."""
    kept = "".join(c for c in heading.strip().lower() if c.isalnum() or c in " -")
    return kept.replace(" ", "-")


def test_every_glossary_link_lands_on_an_entry():
    import re

    glossary = (DOCS / "glossary.md").read_text(encoding="utf-8")
    anchors = {anchor(line.lstrip("#")) for line in glossary.splitlines() if line.startswith("#")}
    linked = set()
    for page in [*DOCS.glob("*.md"), *(DOCS / "interfaces").glob("*.md")]:
        for target in re.findall(r"glossary\.md#([a-z0-9-]+)", page.read_text(encoding="utf-8")):
            linked.add(target)
    for target in re.findall(r"\]\(#([a-z0-9-]+)\)", glossary):  # links inside the glossary itself
        linked.add(target)
    assert linked and linked <= anchors, linked - anchors
    for term in ("outage", "interruption", "der", "feeder", "service-delivery-point", "usage-point", "end-device"):
        assert term in anchors, term
