"""Objects inside a profile document: which elements they are and what identifies them.

A profile document (`<MeterReadings>`) holds objects (`<MeterReading>`); each is identified by
its mRID, or, where it has none, by its Names (name within a NameType), as IEC 61968-100
allows. Keys made from names are prefixed so that they can never collide with an mRID.
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from .editions import namespace_year
from .nouns import Noun


@dataclass(frozen=True)
class ObjectRef:
    key: str
    mrid: str | None
    names: tuple[tuple[str, str | None], ...]  # (name, NameType/name)


def name_key(name: str, name_type: str | None) -> str:
    return f"name:{name_type or ''}:{name}"


def items(noun: Noun, document: etree._Element) -> list[etree._Element]:
    """The objects of a profile document, in whichever edition's namespace the document is."""
    return document.findall(f"{{{etree.QName(document).namespace}}}{noun.item}")


def identify(noun: Noun, item: etree._Element) -> ObjectRef | None:
    """The object's key, or None when it carries neither mRID nor a Name."""
    ns = etree.QName(item).namespace
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


def document(noun: Noun, object_xml: list[bytes], namespace: str | None = None) -> etree._Element:
    """A profile document holding the given serialized objects, in order.

    Its namespace is `namespace`, else that of the objects (all of one edition: see `documents`
    for a mix), else the 2011 edition's.
    """
    return document_of(noun, [etree.fromstring(raw) for raw in object_xml], namespace)


def document_of(noun: Noun, elements: list[etree._Element], namespace: str | None = None) -> etree._Element:
    """A profile document holding these item elements (moved into it), in order."""
    namespace = namespace or (etree.QName(elements[0]).namespace if elements else noun.profile_ns)
    root = etree.Element(f"{{{namespace}}}{noun.name}", nsmap={None: namespace})
    for element in elements:
        root.append(element)
    return root


def documents(noun: Noun, elements: list[etree._Element]) -> list[etree._Element]:
    """One profile document per namespace among the items (editions kept apart), oldest edition first,
    as the per-noun message schemas list them."""
    by_namespace: dict[str, list[etree._Element]] = {}
    for element in elements:
        by_namespace.setdefault(etree.QName(element).namespace, []).append(element)
    return by_edition(noun, [document_of(noun, group, namespace) for namespace, group in by_namespace.items()])


def by_edition(noun: Noun, docs: list[etree._Element]) -> list[etree._Element]:
    """Documents ordered by the year of their namespace, oldest first (stable otherwise)."""
    def year(doc: etree._Element) -> int:
        found = namespace_year(etree.QName(doc).namespace, noun.name)
        return found if found is not None else 10_000
    return sorted(docs, key=year)


def serialize(item: etree._Element) -> bytes:
    return etree.tostring(item, encoding="utf-8")
