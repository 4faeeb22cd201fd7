"""Our compact CIM profiles (xsd/<Noun>.xsd) against the public 61968-9 ones.

The requirement: whatever the public MeterReadings and EndDeviceEvents profiles accept, ours
accept too. Shown three ways: realistic documents from the EPRI interoperability scenarios,
documents generated at random from the public schema's own declarations, and random mutations
of those that the public schema still accepts. Then what ours add, and what they refuse.
"""
from __future__ import annotations

import copy
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from soapbus.profiles import NOUNS, validate_documents, xsd_dir

XS = "http://www.w3.org/2001/XMLSchema"
MR = "http://iec.ch/TC57/2011/MeterReadings#"
EDE = "http://iec.ch/TC57/2011/EndDeviceEvents#"
EDC = "http://iec.ch/TC57/2011/EndDeviceControls#"
PUBLISHED_PROFILES = ("MeterReadings", "EndDeviceEvents")
HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def compile_xsd(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path)))


@pytest.fixture(scope="module")
def public_profiles(public_dir) -> dict[str, etree.XMLSchema]:
    return {name: compile_xsd(public_dir / "profiles-61968-9" / f"{name}.xsd") for name in PUBLISHED_PROFILES}


@pytest.fixture(scope="module")
def our_profiles() -> dict[str, etree.XMLSchema]:
    return {name: compile_xsd(xsd_dir() / noun.profile_xsd) for name, noun in NOUNS.items()}


def xml(text: str) -> etree._Element:
    return etree.fromstring(text.encode())


# ---------------------------------------------------------------- realistic documents (EPRI scenarios)

ON_DEMAND_READ = f"""
<MeterReadings xmlns="{MR}">
  <MeterReading>
    <Meter><mRID>7c2c8a8e-4b1f-4f43-9d0e-0a0c1e7d6a01</mRID>
      <Names><name>SN-00012345</name><NameType><name>SerialNumber</name></NameType></Names></Meter>
    <Readings>
      <timeStamp>2011-06-14T12:00:00Z</timeStamp><value>14023.7</value>
      <ReadingType ref="0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0"/>
    </Readings>
    <Readings>
      <reason>inquiry</reason><timeStamp>2011-06-14T12:00:00Z</timeStamp><value>3.2</value>
      <ReadingQualities><ReadingQualityType ref="1.0.0"/></ReadingQualities>
      <ReadingType ref="0.0.0.6.1.1.8.0.0.0.0.0.0.0.0.3.38.0"/>
    </Readings>
    <UsagePoint><Names><name>UP-5501</name></Names></UsagePoint>
    <valuesInterval><end>2011-06-14T12:00:00Z</end><start>2011-06-14T11:45:00Z</start></valuesInterval>
  </MeterReading>
  <ReadingType><mRID>0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0</mRID><multiplier>k</multiplier><unit>Wh</unit>
    <Names><name>Forward active energy, kWh</name></Names></ReadingType>
</MeterReadings>"""

INTERVAL_DATA = f"""
<MeterReadings xmlns="{MR}">
  <MeterReading>
    <isCoincidentTrigger>false</isCoincidentTrigger>
    <IntervalBlocks>
      <IntervalReadings><timeStamp>2011-06-14T00:15:00-05:00</timeStamp><value>0.41</value></IntervalReadings>
      <IntervalReadings><timeStamp>2011-06-14T00:30:00-05:00</timeStamp><value>0.39</value>
        <ReadingQualities><comment>estimated</comment><ReadingQualityType ref="2.5.259"/></ReadingQualities>
      </IntervalReadings>
      <PendingCalculation><multiplyBeforeAdd>true</multiplyBeforeAdd><scalarFloat>1.5</scalarFloat>
        <ReadingType ref="0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"/></PendingCalculation>
      <ReadingType ref="0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"/>
    </IntervalBlocks>
    <Meter><mRID>MTR-0002</mRID><status><value>energized</value></status></Meter>
  </MeterReading>
  <ReadingQualityType><category>5</category><Names><name>estimated</name></Names></ReadingQualityType>
</MeterReadings>"""

LAST_GASP = f"""
<EndDeviceEvents xmlns="{EDE}">
  <EndDeviceEvent>
    <mRID>9b0f37f6-2f0e-4bf7-8f53-3d1c2b6a7e10</mRID>
    <createdDateTime>2011-06-14T13:02:11Z</createdDateTime>
    <issuerID>AMI-HEAD-END</issuerID>
    <severity>high</severity>
    <Assets><mRID>7c2c8a8e-4b1f-4f43-9d0e-0a0c1e7d6a01</mRID></Assets>
    <EndDeviceEventDetails><name>phase</name><value>A</value></EndDeviceEventDetails>
    <EndDeviceEventType ref="3.26.0.85"/>
    <UsagePoint><Names><name>UP-5501</name></Names></UsagePoint>
  </EndDeviceEvent>
</EndDeviceEvents>"""

NESTED_RESTORATION = f"""
<EndDeviceEvents xmlns="{EDE}">
  <EndDeviceEvent>
    <createdDateTime>2011-06-14T13:40:00Z</createdDateTime>
    <reason>feeder re-energized</reason>
    <Assets><Names><name>SN-00012345</name><NameType><name>SerialNumber</name></NameType></Names></Assets>
    <EndDeviceEventDetails><name>outageDuration</name><value>2269</value></EndDeviceEventDetails>
    <EndDeviceEventType ref="3.26.0.216"/>
    <Names><name>restoration-0001</name></Names>
    <status><dateTime>2011-06-14T13:40:05Z</dateTime><value>reported</value></status>
  </EndDeviceEvent>
  <EndDeviceEvent>
    <createdDateTime>2011-06-14T13:41:30Z</createdDateTime>
    <Assets><mRID>MTR-0002</mRID></Assets>
    <EndDeviceEventType ref="3.26.0.216"/>
  </EndDeviceEvent>
  <EndDeviceEventType><mRID>3.26.0.216</mRID><domain>26</domain><eventOrAction>216</eventOrAction>
    <subDomain>0</subDomain><type>3</type><Names><name>Power restored</name></Names></EndDeviceEventType>
</EndDeviceEvents>"""

REALISTIC = [("MeterReadings", ON_DEMAND_READ), ("MeterReadings", INTERVAL_DATA),
             ("EndDeviceEvents", LAST_GASP), ("EndDeviceEvents", NESTED_RESTORATION)]


@pytest.mark.parametrize(("noun", "text"), REALISTIC, ids=["on-demand-read", "interval-data", "last-gasp",
                                                          "nested-restoration"])
def test_realistic_public_documents_validate_under_ours(noun, text, public_profiles, our_profiles):
    document = xml(text)
    assert public_profiles[noun].validate(document), public_profiles[noun].error_log
    assert our_profiles[noun].validate(document), our_profiles[noun].error_log
    assert validate_documents(noun, [document]) == []


# ---------------------------------------------------------------- documents generated from the public schema


class PublicProfileModel:
    """The declarations of a public profile XSD, enough to generate instances of it.

    The public profiles use a small subset of XSD: named complex types holding a sequence of
    elements, anonymous types holding one `ref` attribute, simple types restricting xs:string.
    Anything else is reported, so that a richer profile cannot be silently half-generated.
    """

    def __init__(self, path: Path):
        schema = etree.parse(str(path)).getroot()
        self.namespace = schema.get("targetNamespace")
        self.complex_types = {t.get("name"): t for t in schema.findall(f"{{{XS}}}complexType")}
        self.simple_types = {t.get("name"): t for t in schema.findall(f"{{{XS}}}simpleType")}
        self.root = schema.find(f"{{{XS}}}element")
        for particle in schema.iter(f"{{{XS}}}choice", f"{{{XS}}}all", f"{{{XS}}}any", f"{{{XS}}}extension"):
            raise AssertionError(f"{path.name} uses {particle.tag}, which this generator does not cover")


def builtin_values(type_name: str) -> st.SearchStrategy[str]:
    xml_text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn")), max_size=10)
    moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1),
                           timezones=st.sampled_from([timezone.utc, None]))
    return {
        "string": xml_text,
        "dateTime": moments.map(lambda t: t.isoformat()),
        "boolean": st.sampled_from(["true", "false", "1", "0"]),
        "integer": st.integers(-10**12, 10**12).map(str),
        "float": st.floats(width=32, allow_nan=False, allow_infinity=False).map(repr),
    }[type_name]


def simple_values(declaration: etree._Element) -> st.SearchStrategy[str]:
    enumeration = [e.get("value") for e in declaration.iter(f"{{{XS}}}enumeration")]
    return st.sampled_from(enumeration) if enumeration else builtin_values("string")


def generate(data, model: PublicProfileModel, declaration: etree._Element, parent=None) -> etree._Element:
    """One element for an xs:element declaration, with random but valid content."""
    tag = f"{{{model.namespace}}}{declaration.get('name')}"
    node = etree.Element(tag) if parent is None else etree.SubElement(parent, tag)
    type_ref = declaration.get("type")
    if type_ref is None:
        fill_complex(data, model, declaration.find(f"{{{XS}}}complexType"), node)
        return node
    prefix, local = type_ref.split(":")
    if prefix == "xs":
        node.text = data.draw(builtin_values(local))
    elif local in model.simple_types:
        node.text = data.draw(simple_values(model.simple_types[local]))
    else:
        fill_complex(data, model, model.complex_types[local], node)
    return node


def fill_complex(data, model: PublicProfileModel, complex_type: etree._Element, node: etree._Element) -> None:
    for attribute in complex_type.findall(f"{{{XS}}}attribute"):
        if data.draw(st.booleans()):
            node.set(attribute.get("name"), data.draw(builtin_values(attribute.get("type").split(":")[1])))
    sequence = complex_type.find(f"{{{XS}}}sequence")
    for child in sequence.findall(f"{{{XS}}}element") if sequence is not None else ():
        low = int(child.get("minOccurs", "1"))
        high = 2 if child.get("maxOccurs") == "unbounded" else int(child.get("maxOccurs", "1"))
        for _ in range(data.draw(st.integers(low, high))):
            generate(data, model, child, node)


@pytest.fixture(scope="module")
def public_models(public_dir) -> dict[str, PublicProfileModel]:
    return {name: PublicProfileModel(public_dir / "profiles-61968-9" / f"{name}.xsd") for name in PUBLISHED_PROFILES}


@pytest.mark.parametrize("noun", PUBLISHED_PROFILES)
@HYPOTHESIS
@given(data=st.data())
def test_any_document_of_the_public_profile_validates_under_ours(noun, data, public_models, public_profiles,
                                                                  our_profiles):
    model = public_models[noun]
    document = generate(data, model, model.root)
    assert public_profiles[noun].validate(document), public_profiles[noun].error_log
    assert our_profiles[noun].validate(document), (our_profiles[noun].error_log, etree.tostring(document))


def mutate(data, document: etree._Element) -> etree._Element:
    """A random edit: drop, duplicate or move an element, or replace its text."""
    mutant = copy.deepcopy(document)
    elements = list(mutant.iter())[1:]
    if not elements:
        return mutant
    target = data.draw(st.sampled_from(elements))
    edit = data.draw(st.sampled_from(["drop", "duplicate", "move-up", "retext"]))
    parent = target.getparent()
    if edit == "drop":
        parent.remove(target)
    elif edit == "duplicate":
        target.addnext(copy.deepcopy(target))
    elif edit == "move-up" and target.getprevious() is not None:
        target.getprevious().addprevious(target)
    elif edit == "retext" and len(target) == 0:
        target.text = data.draw(st.sampled_from(["", "x", "1", "true", "2011-06-14T13:02:11Z", "billing"]))
    return mutant


@pytest.mark.parametrize("noun", PUBLISHED_PROFILES)
@HYPOTHESIS
@given(data=st.data())
def test_mutants_the_public_profile_accepts_are_accepted_by_ours(noun, data, public_models, public_profiles,
                                                                  our_profiles):
    model = public_models[noun]
    mutant = mutate(data, generate(data, model, model.root))
    if public_profiles[noun].validate(mutant):
        assert our_profiles[noun].validate(mutant), (our_profiles[noun].error_log, etree.tostring(mutant))


# ---------------------------------------------------------------- what ours add, and what they refuse


def test_meter_reading_can_be_keyed_by_mrid_and_by_name(our_profiles):
    document = xml(f"""
    <MeterReadings xmlns="{MR}"><MeterReading>
      <mRID>5f1d2e3c-0000-4000-8000-000000000001</mRID>
      <Meter><mRID>MTR-0001</mRID></Meter>
      <Names><name>read-2011-06-14-MTR-0001</name><NameType><name>ReadingBatch</name></NameType></Names>
      <Readings><timeStamp>2011-06-14T12:00:00Z</timeStamp><value>1</value><ReadingType ref="x"/></Readings>
    </MeterReading></MeterReadings>""")
    assert our_profiles["MeterReadings"].validate(document), our_profiles["MeterReadings"].error_log


def test_an_event_may_name_several_assets(our_profiles):
    document = xml(f"""
    <EndDeviceEvents xmlns="{EDE}"><EndDeviceEvent>
      <createdDateTime>2011-06-14T13:02:11Z</createdDateTime>
      <Assets><mRID>MTR-1</mRID></Assets><Assets><mRID>MTR-2</mRID></Assets>
      <EndDeviceEventType ref="3.26.0.85"/>
    </EndDeviceEvent></EndDeviceEvents>""")
    assert our_profiles["EndDeviceEvents"].validate(document), our_profiles["EndDeviceEvents"].error_log


REFUSED = {
    "reading without its ReadingType": ("MeterReadings", f"""
        <MeterReadings xmlns="{MR}"><MeterReading><Readings><value>1</value></Readings></MeterReading>
        </MeterReadings>"""),
    "timeStamp that is no dateTime": ("MeterReadings", f"""
        <MeterReadings xmlns="{MR}"><MeterReading><Readings><timeStamp>noon</timeStamp>
        <ReadingType ref="x"/></Readings></MeterReading></MeterReadings>"""),
    "mRID after the readings": ("MeterReadings", f"""
        <MeterReadings xmlns="{MR}"><MeterReading><Readings><ReadingType ref="x"/></Readings>
        <mRID>late</mRID></MeterReading></MeterReadings>"""),
    "Names without a name": ("MeterReadings", f"""
        <MeterReadings xmlns="{MR}"><MeterReading><Names><NameType><name>t</name></NameType></Names>
        </MeterReading></MeterReadings>"""),
    "event without createdDateTime": ("EndDeviceEvents", f"""
        <EndDeviceEvents xmlns="{EDE}"><EndDeviceEvent><EndDeviceEventType ref="3.26.0.85"/></EndDeviceEvent>
        </EndDeviceEvents>"""),
    "event without its type": ("EndDeviceEvents", f"""
        <EndDeviceEvents xmlns="{EDE}"><EndDeviceEvent><createdDateTime>2011-06-14T13:02:11Z</createdDateTime>
        </EndDeviceEvent></EndDeviceEvents>"""),
    "control without its type": ("EndDeviceControls", f"""
        <EndDeviceControls xmlns="{EDC}"><EndDeviceControl><EndDevices><mRID>MTR-1</mRID></EndDevices>
        </EndDeviceControl></EndDeviceControls>"""),
    "control type that is no Annex E code": ("EndDeviceControls", f"""
        <EndDeviceControls xmlns="{EDC}"><EndDeviceControl><EndDeviceControlType ref="disconnect"/>
        </EndDeviceControl></EndDeviceControls>"""),
    "element from another namespace in an item": ("EndDeviceControls", f"""
        <EndDeviceControls xmlns="{EDC}"><EndDeviceControl><EndDeviceControlType ref="3.31.0.23"/>
        <x:extra xmlns:x="urn:example"/></EndDeviceControl></EndDeviceControls>"""),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_our_profiles_refuse(case, our_profiles):
    noun, text = REFUSED[case]
    assert not our_profiles[noun].validate(xml(text))


# ---------------------------------------------------------------- EndDeviceControls (no public profile to follow)

REMOTE_DISCONNECT = f"""
<EndDeviceControls xmlns="{EDC}">
  <EndDeviceControl>
    <mRID>0d7a5f2e-6c1b-4e55-9a3e-2b9f0c1d4e77</mRID>
    <issuerID>CIS</issuerID><issuerTrackingID>SO-88231</issuerTrackingID>
    <reason>non-payment</reason>
    <EndDeviceControlType ref="3.31.0.23"/>
    <EndDevices><mRID>7c2c8a8e-4b1f-4f43-9d0e-0a0c1e7d6a01</mRID></EndDevices>
    <Names><name>disconnect-SO-88231</name><NameType><name>ServiceOrder</name></NameType></Names>
    <scheduledInterval><start>2011-06-15T09:00:00Z</start></scheduledInterval>
    <UsagePoints><Names><name>UP-5501</name></Names></UsagePoints>
  </EndDeviceControl>
</EndDeviceControls>"""

REMOTE_RECONNECT_BY_NAME = f"""
<EndDeviceControls xmlns="{EDC}">
  <EndDeviceControl>
    <drProgramLevel>0</drProgramLevel><drProgramMandatory>true</drProgramMandatory>
    <EndDeviceControlType ref="3.31.0.18"/>
    <EndDeviceGroups><Names><name>feeder-12</name></Names></EndDeviceGroups>
    <EndDevices><Names><name>SN-00012345</name><NameType><name>SerialNumber</name></NameType></Names></EndDevices>
  </EndDeviceControl>
  <EndDeviceControlType><mRID>3.31.0.18</mRID><domain>31</domain><eventOrAction>18</eventOrAction>
    <subDomain>0</subDomain><type>3</type><Names><name>Remote reconnect</name></Names></EndDeviceControlType>
</EndDeviceControls>"""


@pytest.mark.parametrize("text", [REMOTE_DISCONNECT, REMOTE_RECONNECT_BY_NAME], ids=["disconnect", "reconnect"])
def test_end_device_controls_for_disconnect_and_reconnect(text, our_profiles):
    document = xml(text)
    assert our_profiles["EndDeviceControls"].validate(document), our_profiles["EndDeviceControls"].error_log
    assert validate_documents("EndDeviceControls", [document]) == []


def test_every_noun_has_its_profile_with_the_item_element_under_the_root():
    for noun in NOUNS.values():
        schema = etree.parse(str(xsd_dir() / noun.profile_xsd)).getroot()
        assert schema.get("targetNamespace") == noun.profile_ns
        root_declaration = schema.find(f"{{{XS}}}element[@name='{noun.name}']")
        root_type = schema.find(f"{{{XS}}}complexType[@name='{root_declaration.get('type').split(':')[1]}']")
        assert root_type.find(f".//{{{XS}}}element[@name='{noun.item}']") is not None, noun.name
        item_type = schema.find(f"{{{XS}}}complexType[@name='{noun.item}']")
        children = [e.get("name") for e in item_type.find(f"{{{XS}}}sequence")]
        assert children[0] == "mRID" and "Names" in children, noun.name
