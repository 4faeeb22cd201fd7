"""Profile documents as plain Python data (dicts, lists, values), for callers who want no XML.

Children become keys, attributes `@name`, text `#text` where it sits beside children. Where soapbus
has the document's profile (profiles.datashape), an element the profile lets repeat is always a
list (one MeterReading is `[{...}]`, as two are) and simple values are typed as the profile says:
integers int, decimal Decimal, float/double float, boolean bool, dateTime datetime, date date;
anything else, and every value of a document soapbus has no profile for, is a string, and there
only elements that did repeat are lists.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

_INTEGERS = {"integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger", "unsignedLong",
             "unsignedInt", "unsignedShort", "unsignedByte", "negativeInteger", "nonPositiveInteger"}


def to_data(element: etree._Element, shape=None):
    """The element as data; `shape` (profiles.datashape.Shape) types it, None reads it untyped."""
    children = [c for c in element if isinstance(c.tag, str)]
    if not children and not element.attrib:
        return typed((element.text or "").strip(), shape.builtin if shape is not None else None)
    data: dict = {f"@{etree.QName(k).localname}": v for k, v in element.attrib.items()}
    text = (element.text or "").strip()
    if text:
        data["#text"] = typed(text, shape.builtin if shape is not None else None)
    for child in children:
        name = etree.QName(child).localname
        child_shape = shape.child(name) if shape is not None else None
        value = to_data(child, child_shape)
        if child_shape is not None and child_shape.repeated:
            data.setdefault(name, []).append(value)
        elif name in data:
            if not isinstance(data[name], list):
                data[name] = [data[name]]
            data[name].append(value)
        else:
            data[name] = value
    return data


def document_data(document: etree._Element):
    """A profile document as data, typed by its profile where soapbus has it."""
    from ..profiles.datashape import shape_of

    return to_data(document, shape_of(document))


def typed(text: str, builtin: str | None):
    """A simple value as the built-in type says; the text itself when it does not parse as one (what the
    sender wrote is kept rather than lost)."""
    try:
        if builtin in _INTEGERS:
            return int(text)
        if builtin == "decimal":
            return Decimal(text)
        if builtin in ("float", "double"):
            return float(text)
        if builtin == "boolean" and text in ("true", "false", "1", "0"):
            return text in ("true", "1")
        if builtin == "dateTime":
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        if builtin == "date":
            return date.fromisoformat(text)
    except (ValueError, InvalidOperation):
        return text
    return text
