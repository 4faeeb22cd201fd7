"""Compact profiles derived from full ones (`soapbus profiles trim`) and the payload they save (`measure`).

A trimmed profile keeps the paths asked for, what those require and the types they need, and
nothing else; every document of it is a document of the full profile (its fullest and its
smallest validate against the full one); a path the full profile does not have is refused naming
what is there. The measurement compares the fullest document of a full profile with the same
document as the compact profile carries it; docs/profiles.md quotes what it measures.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from soapbus.profiles import xsd_dir
from soapbus.profiles.measure import fullest_document, measure, project
from soapbus.profiles.samples import sample
from soapbus.profiles.schemaset import SchemaSet
from soapbus.profiles.trim import TrimError, trim, write_trimmed

XS = "{http://www.w3.org/2001/XMLSchema}"
INTERVAL_READ = ["MeterReading/Meter/mRID", "MeterReading/Readings/timeStamp", "MeterReading/Readings/value",
                 "MeterReading/Readings/ReadingType/@ref"]


@pytest.fixture(scope="module")
def public_mr(public_dir) -> Path:
    return public_dir / "profiles-61968-9" / "MeterReadings.xsd"


@pytest.fixture(scope="module")
def public_wr(public_dir) -> Path:
    return public_dir / "profiles-61968-6-2015" / "WorkRequests.xsd"


def compiled(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path)))


def declared(schema: etree._Element, type_name: str) -> list[str]:
    complex_type = schema.find(f"{XS}complexType[@name='{type_name}']")
    return [e.get("name") for e in complex_type.iter(f"{XS}element")]


# ---------------------------------------------------------------- what a trim keeps


def test_a_trim_keeps_the_paths_and_nothing_else(public_mr, tmp_path):
    out = tmp_path / "MeterReadings-interval.xsd"
    schema = write_trimmed(public_mr, INTERVAL_READ, out)
    assert declared(schema, "MeterReadings") == ["MeterReading"]
    assert declared(schema, "MeterReading") == ["Meter", "Readings"]  # no IntervalBlocks, UsagePoint, ...
    assert declared(schema, "Meter") == ["mRID"]
    # ReadingType is required in a Reading of the full profile: kept, with the attribute asked for
    assert declared(schema, "Reading") == ["timeStamp", "value", "ReadingType"]
    reading_type = schema.find(f"{XS}complexType[@name='ReadingTypeType']")
    assert [a.get("name") for a in reading_type.iter(f"{XS}attribute")] == ["ref"]
    assert out.stat().st_size < public_mr.stat().st_size / 10
    assert schema.get("targetNamespace") == "http://iec.ch/TC57/2011/MeterReadings#"
    assert "keeping: MeterReading/Meter/mRID" in out.read_text()


@pytest.mark.parametrize(("full", "paths"), [
    ("public_mr", INTERVAL_READ),
    ("public_mr", ["MeterReading/IntervalBlocks", "MeterReading/UsagePoint/Names/name", "MeterReading/Meter/Names"]),
    ("public_wr", ["WorkRequest/Work/kind", "WorkRequest/Work/WorkLocation"]),
    ("public_wr", ["WorkRequest/Organisation/Names", "WorkRequest/Work/WorkTasks/Assets/mRID"]),
], ids=["interval read", "blocks and names", "work location", "organisation and task assets"])
def test_every_document_of_the_trimmed_profile_is_one_of_the_full_profile(full, paths, request, tmp_path):
    full_path = request.getfixturevalue(full)
    noun = full_path.stem
    out = tmp_path / "compact.xsd"
    write_trimmed(full_path, paths, out)
    full_schema, compact = compiled(full_path), compiled(out)
    fullest = fullest_document(out, noun)  # every optional part of the compact profile, twice where it repeats
    smallest = sample(SchemaSet.load(str(out)), noun).element
    for document in (fullest, smallest):
        assert compact.validate(document), compact.error_log
        assert full_schema.validate(document), full_schema.error_log
    # and what the full profile says, carried by the compact one, is a document of both
    carried = project(fullest_document(full_path, noun), out)
    assert compact.validate(carried) and full_schema.validate(carried)


def test_required_children_come_along_and_a_required_choice_keeps_a_branch(tmp_path):
    out = tmp_path / "controls.xsd"
    schema = write_trimmed(xsd_dir() / "EndDeviceControls.xsd", ["EndDeviceControl/reason"], out)
    # the control type is required (through a choice of two sequences): its first branch is kept
    assert declared(schema, "EndDeviceControl")[:3] == ["reason", "EndDeviceAction", "EndDeviceControlType"]
    document = sample(SchemaSet.load(str(out)), "EndDeviceControls").element
    assert compiled(xsd_dir() / "EndDeviceControls.xsd").validate(document)


def test_required_parts_of_the_2015_work_come_with_any_path_into_it(public_wr):
    schema = trim(public_wr, ["WorkRequest/Work/kind"])
    assert declared(schema, "Work") == ["kind", "statusKind"]  # statusKind is required in the 2015 profile
    assert declared(schema, "WorkRequest") == ["Work"]


def test_a_type_cut_two_ways_is_written_twice(public_mr):
    schema = trim(public_mr, ["MeterReading/Meter/Names", "MeterReading/UsagePoint/Names/name"])
    names = sorted(t.get("name") for t in schema.findall(f"{XS}complexType") if t.get("name").startswith("Name"))
    assert names == ["Name", "NameType", "NameTypeAuthority", "Name_2"]
    assert declared(schema, "Name") == ["name", "NameType"] and declared(schema, "Name_2") == ["name"]


def test_documentation_and_model_references_are_left_out(public_wr):
    text = etree.tostring(trim(public_wr, ["WorkRequest/Work/kind"]))
    assert b"documentation" not in text and b"sawsdl" not in text
    assert b'value="connect"' in text  # the rules stay


@pytest.mark.parametrize(("paths", "message"), [
    (["MeterReading/Metre"], "MeterReading has no element 'Metre'; it has: EndDeviceEvents, IntervalBlocks, Meter"),
    (["MeterReading/Readings/ReadingType/@rf"], "has no attribute @rf; it has: @ref"),
    (["MeterReading/@ref/value"], "the attribute @ref must come last"),
    (["MeterReadings"], "names no element below MeterReadings"),
    ([], "give at least one --keep PATH"),
])
def test_a_path_the_full_profile_does_not_have_is_refused_naming_what_is_there(public_mr, paths, message):
    with pytest.raises(TrimError) as refused:
        trim(public_mr, paths)
    assert message in str(refused.value)


def test_a_profile_with_several_document_elements_needs_the_root_named(tmp_path):
    two = tmp_path / "two.xsd"
    two.write_text('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" '
                   'xmlns:t="urn:t" elementFormDefault="qualified"><xs:element name="A" type="t:A"/>'
                   '<xs:element name="B" type="t:A"/><xs:complexType name="A"><xs:sequence>'
                   '<xs:element name="x" type="xs:string" minOccurs="0"/><xs:element name="y" type="xs:int"/>'
                   '</xs:sequence></xs:complexType></xs:schema>')
    with pytest.raises(TrimError, match=r"2 global elements \(A, B\); say which"):
        trim(two, ["x"])
    kept = trim(two, ["x"], root="B")
    assert [e.get("name") for e in kept.findall(f"{XS}element")] == ["B"] and declared(kept, "A") == ["x", "y"]


# ---------------------------------------------------------------- measuring


def test_the_fullest_public_document_as_each_shipped_profile_carries_it(public_mr, public_wr, public_dir):
    """The numbers docs/profiles.md quotes: the same documents, measured the same way."""
    page = (xsd_dir().parent / "docs" / "profiles.md").read_text(encoding="utf-8")
    cases = [(public_mr, "MeterReadings", "MeterReadings.xsd"), (public_wr, "WorkRequests", "2015/WorkRequests.xsd"),
             (public_dir / "profiles-61968-9" / "EndDeviceEvents.xsd", "EndDeviceEvents", "EndDeviceEvents.xsd")]
    for full, noun, ours in cases:
        measured = measure(fullest_document(full, noun), xsd_dir() / ours, noun)
        assert measured.compact_valid
        row = f"| {noun} | {measured.full_bytes} | {measured.compact_bytes} | {measured.reduction:.1%} |"
        assert row in page, f"docs/profiles.md should hold {row}"


def test_a_trimmed_profile_saves_what_compact_profiles_are_for(public_mr, tmp_path):
    out = tmp_path / "interval.xsd"
    write_trimmed(public_mr, INTERVAL_READ, out)
    measured = measure(fullest_document(public_mr, "MeterReadings"), out, "interval read")
    assert measured.reduction > 0.9 and measured.compact_valid
    assert measured.compact_gzip < measured.full_gzip
    page = (xsd_dir().parent / "docs" / "profiles.md").read_text(encoding="utf-8")
    assert f"| interval read | {measured.full_bytes} | {measured.compact_bytes} | {measured.reduction:.1%} |" in page


# ---------------------------------------------------------------- the command


def soapbus(*args) -> subprocess.CompletedProcess:
    """The command in a process of its own, as a person runs it."""
    return subprocess.run([sys.executable, "-m", "soapbus", "profiles", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def soapbus_here(*args):
    """The same command in this process (the CLI's own code, without a second interpreter's start-up)."""
    from click.testing import CliRunner

    from soapbus.cli import cli

    return CliRunner().invoke(cli, ["profiles", *map(str, args)])


def test_the_commands_trim_and_measure(public_mr, public_dir, tmp_path):
    out = tmp_path / "interval.xsd"
    args = [arg for path in INTERVAL_READ for arg in ("--keep", path)]
    done = soapbus("trim", public_mr, *args, "--out", out)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {out}: 5 types, {out.stat().st_size} bytes (the full profile: ")
    measured = soapbus_here("measure", "--full", public_mr, "--compact", out)
    assert measured.exit_code == 0, measured.output
    [header, row] = measured.output.splitlines()
    assert header.split()[:4] == ["document", "full", "compact", "saved"]
    assert row.startswith("fullest MeterReadings of MeterReadings.xsd") and row.endswith("yes")
    shipped = soapbus_here("measure", "--shipped", "--public-dir", public_dir)
    assert shipped.exit_code == 0, shipped.output
    labels = [line.split(":")[0] for line in shipped.output.splitlines()[1:]]
    assert sorted(labels) == ["EndDeviceEvents 2011", "MeterReadings 2011", "WorkRequests 2015"]


def test_the_commands_say_what_is_wrong_without_a_traceback(public_mr, tmp_path):
    wrong = soapbus("trim", public_mr, "--keep", "MeterReading/Metre", "--out", tmp_path / "x.xsd")
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
    assert "Error: MeterReading has no element 'Metre'" in wrong.stderr and not (tmp_path / "x.xsd").exists()
    missing = soapbus_here("measure", "--compact", public_mr)
    assert missing.exit_code == 2 and "give --full FULL.xsd and --compact COMPACT.xsd, or --shipped" in missing.output
    other = tmp_path / "doc.xml"
    other.write_text('<EndDeviceEvents xmlns="http://iec.ch/TC57/2011/EndDeviceEvents#"/>')
    mismatch = soapbus_here("measure", "--full", public_mr, "--compact", xsd_dir() / "MeterReadings.xsd", other)
    assert mismatch.exit_code == 1 and "declares no document element 'EndDeviceEvents'" in mismatch.output
    no_public = soapbus_here("measure", "--shipped", "--public-dir", tmp_path)
    assert no_public.exit_code == 1 and "no public profile under" in no_public.output
