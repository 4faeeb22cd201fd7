"""A minimal valid instance of any noun, generated from its schema: soapbus's own profiles, the public
profiles, and a vendor's schema carried inline in a WSDL (with an imported file beside it)."""
from __future__ import annotations

import uuid

import pytest
from lxml import etree

from soapbus.profiles import NOUNS, xsd_dir
from soapbus.profiles.samples import SampleError, root_candidates, sample
from soapbus.profiles.schemaset import SchemaSet, SchemaSetError

VENDOR_NS = "http://vendor.example.com/der/2016/DERGroups#"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"


@pytest.mark.parametrize("noun", sorted(NOUNS))
def test_every_soapbus_profile_gives_a_valid_object_with_the_mrid_asked_for(noun):
    schemas = SchemaSet.load(str(xsd_dir() / NOUNS[noun].profile_xsd))
    mrid = str(uuid.uuid4())
    made = sample(schemas, noun, mrid=mrid)
    assert etree.QName(made.element).localname == noun and made.mrid == mrid
    assert schemas.validate(made.element) == []
    item = made.element[0]
    assert etree.QName(item).localname == NOUNS[noun].item  # the object, not a catalogue entry beside it
    assert item.findtext(f"{{{etree.QName(item).namespace}}}mRID") == mrid


def test_the_public_profiles_give_valid_documents(public_dir):
    folder = public_dir
    found = sorted(folder.glob("profiles-*/*.xsd"))
    assert found, f"no public profiles under {folder}"
    for path in found:
        schemas = SchemaSet.load(str(path))
        noun = path.stem
        made = sample(schemas, noun, mrid=str(uuid.uuid4()))  # 2015 profiles restrict mRID to a UUID pattern
        assert schemas.validate(made.element) == [], path


def _vendor_wsdl(tmp_path):
    """A vendor's WSDL: its profile inline under wsdl:types (QNames using prefixes declared on the WSDL),
    importing a file of shared types beside it."""
    (tmp_path / "common.xsd").write_text(f"""<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="http://vendor.example.com/common#"
           xmlns:c="http://vendor.example.com/common#" elementFormDefault="qualified">
  <xs:simpleType name="Code"><xs:restriction base="xs:string"><xs:pattern value="[A-Z]{{3}}-[0-9]+"/>
  </xs:restriction></xs:simpleType>
  <xs:complexType name="Quantity"><xs:simpleContent><xs:extension base="xs:decimal">
    <xs:attribute name="unit" use="required"><xs:simpleType><xs:restriction base="xs:string">
      <xs:enumeration value="kW"/><xs:enumeration value="kVAr"/></xs:restriction></xs:simpleType></xs:attribute>
  </xs:extension></xs:simpleContent></xs:complexType>
</xs:schema>""")
    wsdl = tmp_path / "DERGroups.wsdl"
    wsdl.write_text(f"""<?xml version="1.0"?>
<wsdl:definitions xmlns:wsdl="{WSDL_NS}" xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:d="{VENDOR_NS}" xmlns:c="http://vendor.example.com/common#" targetNamespace="http://vendor.example.com/svc">
  <wsdl:types>
    <xs:schema targetNamespace="{VENDOR_NS}" elementFormDefault="qualified">
      <xs:import namespace="http://vendor.example.com/common#" schemaLocation="common.xsd"/>
      <xs:element name="DERGroups" type="d:DERGroups"/>
      <xs:complexType name="DERGroups"><xs:sequence>
        <xs:element name="Note" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element name="EndDeviceGroup" type="d:EndDeviceGroup" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence></xs:complexType>
      <xs:complexType name="IdentifiedObject"><xs:sequence>
        <xs:element name="mRID" type="xs:string" minOccurs="0"/>
        <xs:element name="name" type="xs:string" minOccurs="0"/>
      </xs:sequence></xs:complexType>
      <xs:complexType name="EndDeviceGroup"><xs:complexContent><xs:extension base="d:IdentifiedObject">
        <xs:sequence>
          <xs:element name="created" type="xs:dateTime"/>
          <xs:element name="enabled" type="xs:boolean"/>
          <xs:element name="kind"><xs:simpleType><xs:restriction base="xs:string">
            <xs:enumeration value="dispatch"/><xs:enumeration value="forecast"/></xs:restriction></xs:simpleType>
          </xs:element>
          <xs:element name="code" type="c:Code"/>
          <xs:choice>
            <xs:element name="capacity" type="c:Quantity"/>
            <xs:element name="share" type="xs:decimal"/>
          </xs:choice>
        </xs:sequence>
        <xs:attribute name="version" type="xs:positiveInteger" use="required"/>
      </xs:extension></xs:complexContent></xs:complexType>
    </xs:schema>
  </wsdl:types>
</wsdl:definitions>""")
    return wsdl


def test_a_vendor_schema_inline_in_a_wsdl_gives_a_valid_object(tmp_path):
    schemas = SchemaSet.load(str(_vendor_wsdl(tmp_path)))
    assert root_candidates(schemas, "DERGroups") == [f"{{{VENDOR_NS}}}DERGroups"]
    mrid = str(uuid.uuid4())
    made = sample(schemas, "DERGroups", mrid=mrid)
    assert schemas.validate(made.element) == []
    group = made.element[0]
    assert etree.QName(group).localname == "EndDeviceGroup"  # the object with an mRID, not the Note before it
    d = f"{{{VENDOR_NS}}}"
    assert group.findtext(f"{d}mRID") == mrid and group.get("version") == "1"
    assert group.findtext(f"{d}enabled") == "true" and group.findtext(f"{d}kind") == "dispatch"
    assert group.find(f"{d}capacity").get("unit") == "kW"  # the choice's first branch, the enumeration's first
    assert group.findtext(f"{d}code") == "AAA-0"  # a value built from the pattern
    assert "T" in group.findtext(f"{d}created") and group.findtext(f"{d}created").endswith("Z")
    assert group.find(f"{d}name") is None  # optional: left out


def test_what_cannot_be_generated_is_refused_with_the_reason(tmp_path):
    schemas = SchemaSet.load(str(_vendor_wsdl(tmp_path)))
    with pytest.raises(SampleError, match="no global element NoSuchNoun"):
        sample(schemas, "NoSuchNoun")
    strict = tmp_path / "strict.xsd"
    strict.write_text("""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:x#"
        elementFormDefault="qualified"><xs:element name="Things"><xs:complexType><xs:sequence>
        <xs:element name="Thing"><xs:complexType><xs:sequence><xs:element name="mRID" type="xs:string"/>
        <xs:any namespace="##other" processContents="strict"/></xs:sequence></xs:complexType></xs:element>
        </xs:sequence></xs:complexType></xs:element></xs:schema>""")
    with pytest.raises(SampleError, match="does not validate against its schema"):
        sample(SchemaSet.load(str(strict)), "Things")
    with pytest.raises(SchemaSetError, match="cannot read it"):
        SchemaSet.load(str(tmp_path / "missing.wsdl"))
    (tmp_path / "page.html").write_text("<html><body>not a schema</body></html>")
    with pytest.raises(SchemaSetError, match="neither a WSDL nor an XML Schema"):
        SchemaSet.load(str(tmp_path / "page.html"))


def test_imports_that_cannot_be_read_are_noted_not_fatal(tmp_path):
    wsdl = _vendor_wsdl(tmp_path)
    (tmp_path / "common.xsd").unlink()
    schemas = SchemaSet.load(str(wsdl))
    assert any("common.xsd" in p for p in schemas.problems)
    with pytest.raises(SampleError):  # the types it needed are missing: said, not guessed
        sample(schemas, "DERGroups")
