"""Objects inside a profile document: which elements they are and what identifies them.

A profile document (`<MeterReadings>`) holds objects (`<MeterReading>`); each is identified by
its mRID, or, where it has none, by its Names (name within a NameType), as IEC 61968-100
allows. Keys made from names are prefixed so that they can never collide with an mRID.
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from .nouns import Noun


@dataclass(frozen=True)
class ObjectRef:
    key: str
    mrid: str | None
    names: tuple[tuple[str, str | None], ...]  # (name, NameType/name)


def name_key(name: str, name_type: str | None) -> str:
    return f"name:{name_type or ''}:{name}"


def items(noun: Noun, document: etree._Element) -> list[etree._Element]:
    return document.findall(f"{{{noun.profile_ns}}}{noun.item}")


def identify(noun: Noun, item: etree._Element) -> ObjectRef | None:
    """The object's key, or None when it carries neither mRID nor a Name."""
    ns = noun.profile_ns
    mrid = (item.findtext(f"{{{ns}}}mRID") or "").strip() or None
    names = []
    for n in item.findall(f"{{{ns}}}Names"):
        name = (n.findtext(f"{{{ns}}}name") or "").strip()
        if name:
            name_type = (n.findtext(f"{{{ns}}}NameType/{{{ns}}}name") or "").strip() or None
            names.append((name, name_type))
    if mrid:
        return ObjectRef(mrid, mrid, tuple(names))
    if names:
        return ObjectRef(name_key(*names[0]), None, tuple(names))
    return None


def document(noun: Noun, object_xml: list[bytes]) -> etree._Element:
    """A profile document holding the given serialized objects, in order."""
    root = etree.Element(f"{{{noun.profile_ns}}}{noun.name}", nsmap={None: noun.profile_ns})
    for raw in object_xml:
        root.append(etree.fromstring(raw))
    return root


def serialize(item: etree._Element) -> bytes:
    return etree.tostring(item, encoding="utf-8")
