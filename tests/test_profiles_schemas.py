"""Our compact CIM profiles (xsd/<Noun>.xsd, xsd/<year>/<Noun>.xsd) against the public ones.

The requirement: whatever a public profile accepts, our profile of the same edition accepts
too: the 61968-9 MeterReadings and EndDeviceEvents (2011), the 61968-6:2015 WorkRequests.
Shown four ways: realistic documents from the EPRI interoperability scenarios, the smallest and
the fullest document the public schema's own declarations allow, documents generated at random
from those declarations, and random mutations of those that the public schema still accepts.
Then what ours add, and what they refuse.
"""
from __future__ import annotations

import copy
import re
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
WR15 = "http://iec.ch/TC57/2015/WorkRequests#"
# Each public profile we hold ours to: key -> (noun, edition year, file under the public folder).
PUBLIC = {
    "MeterReadings": ("MeterReadings", 2011, "profiles-61968-9/MeterReadings.xsd"),
    "EndDeviceEvents": ("EndDeviceEvents", 2011, "profiles-61968-9/EndDeviceEvents.xsd"),
    "WorkRequests 2015": ("WorkRequests", 2015, "profiles-61968-6-2015/WorkRequests.xsd"),
}
PUBLISHED_PROFILES = tuple(PUBLIC)
HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def compile_xsd(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path)))


def our_edition(noun: str, year: int):
    return next(e for e in NOUNS[noun].editions if e.year == year)


@pytest.fixture(scope="module")
def public_profiles(public_dir) -> dict[str, etree.XMLSchema]:
    return {key: compile_xsd(public_dir / path) for key, (_noun, _year, path) in PUBLIC.items()}


@pytest.fixture(scope="module")
def our_profiles() -> dict[str, etree.XMLSchema]:
    """Our profile of each noun's 2011 edition by noun, and of each held edition by its PUBLIC key."""
    ours = {name: compile_xsd(xsd_dir() / noun.profile_xsd) for name, noun in NOUNS.items()}
    ours.update({key: compile_xsd(xsd_dir() / our_edition(noun, year).profile_xsd)
                 for key, (noun, year, _path) in PUBLIC.items()})
    return ours


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

# 61968-6:2015: a storm repair asked for by a contractor organisation, two tasks, scheduled.
WORK_REQUEST_2015 = f"""
<WorkRequests xmlns="{WR15}">
  <WorkRequest>
    <mRID>5a0d6c1e-8f2b-4c3d-9e4f-0a1b2c3d4e5f</mRID>
    <Names><name>WR-2015-0042</name><NameType><name>WorkRequestNumber</name></NameType></Names>
    <Organisation>
      <mRID>0f1e2d3c-4b5a-4968-8776-655443322110</mRID>
      <Names><name>Line Contractors Ltd</name></Names>
      <phone1><areaCode>555</areaCode><localNumber>0100</localNumber></phone1>
      <streetAddress>
        <streetDetail><addressGeneral>1 Main St</addressGeneral><number>1</number></streetDetail>
        <townDetail><name>Springfield</name><stateOrProvince>IL</stateOrProvince></townDetail>
      </streetAddress>
    </Organisation>
    <Work>
      <kind>repair</kind>
      <requestDateTime>2015-06-14T08:00:00Z</requestDateTime>
      <statusKind>waitingToBeScheduled</statusKind>
      <ActivityRecords><createdDateTime>2015-06-14T08:00:00Z</createdDateTime><type>created</type></ActivityRecords>
      <priority><rank>1</rank><type>storm</type></priority>
      <TimeSchedules><kind>request</kind>
        <scheduleInterval><end>2015-06-15T17:00:00Z</end><start>2015-06-15T08:00:00Z</start></scheduleInterval>
      </TimeSchedules>
      <WorkLocation><mRID>9c8b7a69-5847-4362-8150-4f3e2d1c0b0a</mRID>
        <mainAddress><streetDetail><addressGeneral>12 Oak Lane</addressGeneral></streetDetail>
          <townDetail><name>Springfield</name></townDetail></mainAddress>
        <PositionPoints><xPosition>-89.65</xPosition><yPosition>39.78</yPosition></PositionPoints>
      </WorkLocation>
      <WorkTasks><subject>replace pole</subject><taskKind>exchange</taskKind>
        <Assets><critical>true</critical><utcNumber>P-778</utcNumber></Assets>
        <Crews><Names><name>Crew 7</name></Names></Crews></WorkTasks>
      <WorkTasks><crewETA>2015-06-15T09:30:00Z</crewETA><subject>restring conductor</subject>
        <taskKind>install</taskKind></WorkTasks>
    </Work>
  </WorkRequest>
</WorkRequests>"""

REALISTIC = [("MeterReadings", ON_DEMAND_READ), ("MeterReadings", INTERVAL_DATA),
             ("EndDeviceEvents", LAST_GASP), ("EndDeviceEvents", NESTED_RESTORATION),
             ("WorkRequests 2015", WORK_REQUEST_2015)]


@pytest.mark.parametrize(("key", "text"), REALISTIC, ids=["on-demand-read", "interval-data", "last-gasp",
                                                         "nested-restoration", "work-request-2015"])
def test_realistic_public_documents_validate_under_ours(key, text, public_profiles, our_profiles):
    document = xml(text)
    assert public_profiles[key].validate(document), public_profiles[key].error_log
    assert our_profiles[key].validate(document), our_profiles[key].error_log
    assert validate_documents(PUBLIC[key][0], [document]) == []


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


# A fixed value of each kind, for the smallest and fullest documents (the random ones draw theirs).
SAMPLES = {"string": "x", "dateTime": "2015-06-14T12:00:00Z", "boolean": "true", "integer": "1", "float": "1.5"}
# Values tried, in order, for a simple type restricted by a pattern (the first that matches is used).
PATTERN_SAMPLES = ("5a0d6c1e-8f2b-4c3d-9e4f-0a1b2c3d4e5f", "x", "1", "1.1.1.1")


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


def simple_values(declaration: etree._Element) -> tuple[st.SearchStrategy[str], str]:
    """(random values, one fixed value) of a simple type: its enumeration, its pattern, or any string."""
    enumeration = [e.get("value") for e in declaration.iter(f"{{{XS}}}enumeration")]
    if enumeration:
        return st.sampled_from(enumeration), enumeration[-1]
    patterns = [p.get("value") for p in declaration.iter(f"{{{XS}}}pattern")]
    if patterns:  # XSD patterns are anchored; these use only what Python's re reads alike
        sample = next((v for v in PATTERN_SAMPLES if all(re.fullmatch(p, v) for p in patterns)), None)
        assert sample is not None, f"add a value matching {patterns} to PATTERN_SAMPLES"
        return st.from_regex(re.compile(patterns[0], re.ASCII), fullmatch=True), sample
    return builtin_values("string"), SAMPLES["string"]


class RandomChoices:
    """Hypothesis draws every choice: how many of each element, which attributes, which values."""

    def __init__(self, data):
        self.data = data

    def count(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high))

    def present(self) -> bool:
        return self.data.draw(st.booleans())

    def value(self, values: st.SearchStrategy[str], _sample: str) -> str:
        return self.data.draw(values)


class ExtremeChoices:
    """The smallest document (every count at its minimum) or the fullest (every count at its maximum)."""

    def __init__(self, fullest: bool):
        self.fullest = fullest

    def count(self, low: int, high: int) -> int:
        return high if self.fullest else low

    def present(self) -> bool:
        return self.fullest

    def value(self, _values: st.SearchStrategy[str], sample: str) -> str:
        return sample


def generate(choices, model: PublicProfileModel, declaration: etree._Element, parent=None) -> etree._Element:
    """One element for an xs:element declaration, with valid content as `choices` picks it."""
    tag = f"{{{model.namespace}}}{declaration.get('name')}"
    node = etree.Element(tag) if parent is None else etree.SubElement(parent, tag)
    type_ref = declaration.get("type")
    if type_ref is None:
        fill_complex(choices, model, declaration.find(f"{{{XS}}}complexType"), node)
        return node
    prefix, local = type_ref.split(":")
    if prefix == "xs":
        node.text = choices.value(builtin_values(local), SAMPLES[local])
    elif local in model.simple_types:
        node.text = choices.value(*simple_values(model.simple_types[local]))
    else:
        fill_complex(choices, model, model.complex_types[local], node)
    return node


def fill_complex(choices, model: PublicProfileModel, complex_type: etree._Element, node: etree._Element) -> None:
    for attribute in complex_type.findall(f"{{{XS}}}attribute"):
        if choices.present():
            kind = attribute.get("type").split(":")[1]
            node.set(attribute.get("name"), choices.value(builtin_values(kind), SAMPLES[kind]))
    sequence = complex_type.find(f"{{{XS}}}sequence")
    for child in sequence.findall(f"{{{XS}}}element") if sequence is not None else ():
        low = int(child.get("minOccurs", "1"))
        high = 2 if child.get("maxOccurs") == "unbounded" else int(child.get("maxOccurs", "1"))
        for _ in range(choices.count(low, high)):
            generate(choices, model, child, node)


@pytest.fixture(scope="module")
def public_models(public_dir) -> dict[str, PublicProfileModel]:
    return {key: PublicProfileModel(public_dir / path) for key, (_noun, _year, path) in PUBLIC.items()}


@pytest.mark.parametrize("fullest", [False, True], ids=["smallest", "fullest"])
@pytest.mark.parametrize("key", PUBLISHED_PROFILES)
def test_the_smallest_and_fullest_public_documents_validate_under_ours(key, fullest, public_models, public_profiles,
                                                                      our_profiles):
    model = public_models[key]
    document = generate(ExtremeChoices(fullest), model, model.root)
    assert public_profiles[key].validate(document), public_profiles[key].error_log
    assert our_profiles[key].validate(document), (our_profiles[key].error_log, etree.tostring(document))
    assert validate_documents(PUBLIC[key][0], [document]) == []


@pytest.mark.parametrize("noun", PUBLISHED_PROFILES)
@HYPOTHESIS
@given(data=st.data())
def test_any_document_of_the_public_profile_validates_under_ours(noun, data, public_models, public_profiles,
                                                                  our_profiles):
    model = public_models[noun]
    document = generate(RandomChoices(data), model, model.root)
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
    mutant = mutate(data, generate(RandomChoices(data), model, model.root))
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


# As deployed head ends send it: no mRID, the action after the control type, a command in words.
SET_CLOCK_AS_DEPLOYED = f"""
<EndDeviceControls xmlns="{EDC}">
  <EndDeviceControl>
    <EndDeviceControlType ref="3.0.129.160"/>
    <EndDeviceAction><command>2016-01-01 00:00:00</command></EndDeviceAction>
    <EndDevices><mRID>7c2c8a8e-4b1f-4f43-9d0e-0a0c1e7d6a01</mRID></EndDevices>
  </EndDeviceControl>
</EndDeviceControls>"""

# Every element of the 61968-9 EndDeviceControl, in CIM order (attributes, then associations and
# compound attributes alphabetically): the action before the control type.
LOAD_CONTROL_FULL = f"""
<EndDeviceControls xmlns="{EDC}">
  <EndDeviceControl>
    <mRID>4e1f2a3b-5c6d-4e7f-8a9b-0c1d2e3f4a5b</mRID>
    <drProgramLevel>2</drProgramLevel><drProgramMandatory>false</drProgramMandatory>
    <issuerID>DRMS</issuerID><issuerTrackingID>DR-2016-07</issuerTrackingID>
    <reason>peak shaving</reason>
    <EndDeviceAction><command>cycle 50%</command><duration>120</duration>
      <durationIndefinite>false</durationIndefinite><startDateTime>2016-07-01T14:00:00Z</startDateTime></EndDeviceAction>
    <EndDeviceControlType ref="3.15.0.54"/>
    <EndDeviceGroups><Names><name>AC-cycling-group-3</name></Names></EndDeviceGroups>
    <EndDevices><mRID>MTR-1</mRID></EndDevices>
    <Names><name>DR event 7</name></Names>
    <priceSignal><value>0.42</value><multiplier>none</multiplier><unit>none</unit></priceSignal>
    <primaryDeviceTiming><duration>120</duration><interval><end>2016-07-01T16:00:00Z</end>
      <start>2016-07-01T14:00:00Z</start></interval><randomisation>start</randomisation></primaryDeviceTiming>
    <scheduledInterval><end>2016-07-01T16:00:00Z</end><start>2016-07-01T14:00:00Z</start></scheduledInterval>
    <secondaryDeviceTiming><durationIndefinite>true</durationIndefinite></secondaryDeviceTiming>
    <UsagePointGroups><mRID>UPG-9</mRID></UsagePointGroups>
    <UsagePoints><Names><name>UP-5501</name></Names></UsagePoints>
  </EndDeviceControl>
</EndDeviceControls>"""


@pytest.mark.parametrize("text", [REMOTE_DISCONNECT, REMOTE_RECONNECT_BY_NAME, SET_CLOCK_AS_DEPLOYED, LOAD_CONTROL_FULL],
                         ids=["disconnect", "reconnect", "action-after-type", "every-element"])
def test_end_device_controls_for_disconnect_and_reconnect(text, our_profiles):
    document = xml(text)
    assert our_profiles["EndDeviceControls"].validate(document), our_profiles["EndDeviceControls"].error_log
    assert validate_documents("EndDeviceControls", [document]) == []


@pytest.mark.parametrize(("case", "old", "new"), [
    ("two actions", "<EndDeviceGroups>", "<EndDeviceAction><command>again</command></EndDeviceAction><EndDeviceGroups>"),
    ("duration that is no number", "<duration>120</duration>", "<duration>two hours</duration>"),
    ("action without its control type", '<EndDeviceControlType ref="3.15.0.54"/>', ""),
])
def test_end_device_actions_are_checked(case, old, new, our_profiles):
    assert old in LOAD_CONTROL_FULL, case
    assert not our_profiles["EndDeviceControls"].validate(xml(LOAD_CONTROL_FULL.replace(old, new, 1))), case
    assert validate_documents("EndDeviceControls", [xml(LOAD_CONTROL_FULL.replace(old, new, 1))])[0].code == "1.8"


def test_every_noun_has_its_profile_with_the_item_element_under_the_root():
    for noun, edition in ((noun, edition) for noun in NOUNS.values() for edition in noun.editions):
        schema = etree.parse(str(xsd_dir() / edition.profile_xsd)).getroot()
        assert schema.get("targetNamespace") == edition.namespace
        root_declaration = schema.find(f"{{{XS}}}element[@name='{noun.name}']")
        root_type = schema.find(f"{{{XS}}}complexType[@name='{root_declaration.get('type').split(':')[1]}']")
        assert root_type.find(f".//{{{XS}}}element[@name='{noun.item}']") is not None, noun.name
        item_type = schema.find(f"{{{XS}}}complexType[@name='{noun.item}']")
        children = [e.get("name") for e in item_type.find(f"{{{XS}}}sequence")]
        assert children[0] == "mRID" and "Names" in children, noun.name
