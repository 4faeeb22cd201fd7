"""The documents a get answers with, in the edition it asked for.

A get asks for an edition by the namespace of its Get<Noun> query or of its payload (see
query.asked_namespace). Each object is answered in that edition where profiles/convert.py can
convert it without loss; an object that cannot be is answered in the edition it was stored in,
in a document of its own, and the reply says so with a WARNING (code 0.0) naming the object.
A get that asks for no edition gets each object in the edition it was stored in.
"""
from __future__ import annotations

from lxml import etree

from ..message import ID, Error
from ..profiles import Noun, objects
from ..profiles.convert import convert
from ..profiles.validate import compiled_schema


def _not_converted(noun: Noun, item: etree._Element, asked: str) -> Error:
    ref = objects.identify(noun, item)
    ident = None
    if ref is not None:
        ident = (ID(ref.mrid, kind="uuid", object_type=noun.name) if ref.mrid
                 else ID(ref.names[0][0], kind="name", id_type=ref.names[0][1], object_type=noun.name))
    stored = etree.QName(item).namespace
    return Error(code="0.0", level="WARNING", id=ident,
                 reason=(f"{noun.item} {ident.value if ident else '(unnamed)'} is answered in the edition it was "
                         f"stored in ({stored}), not in the one asked for ({asked}): it does not convert without "
                         f"losing or inventing content"))


def _empty_document(noun: Noun, namespace: str) -> list[etree._Element]:
    """An empty document where the edition allows one (2011 does; 2015 WorkRequests needs one request)."""
    edition = noun.edition_for(namespace) or noun.base_edition
    allowed = compiled_schema(edition.profile_xsd).validate(objects.document_of(noun, [], edition.namespace))
    return [objects.document_of(noun, [], namespace)] if allowed else []


def in_asked_edition(noun: Noun, items: list[etree._Element], asked: str | None) -> tuple[list[etree._Element],
                                                                                          list[Error]]:
    """(documents, notes): the items as documents, converted to `asked` where possible."""
    if asked is None:
        return (objects.documents(noun, items) if items else _empty_document(noun, noun.profile_ns)), []
    converted, kept, notes = [], [], []
    for item in items:
        in_asked = convert(noun, item, asked)
        if in_asked is None:
            kept.append(item)
            notes.append(_not_converted(noun, item, asked))
        else:
            converted.append(in_asked)
    documents = [objects.document_of(noun, converted, asked)] if converted else []
    documents = objects.by_edition(noun, documents + objects.documents(noun, kept))
    return (documents or _empty_document(noun, asked)), notes


__all__ = ["in_asked_edition"]
