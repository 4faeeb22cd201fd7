"""Hardened XML parsing: no DTDs, no entities, no network, bounded depth and size.

A DOCTYPE is refused before the document is parsed: by the time a full parse has finished,
libxml2 may already have read an external subset from a local file, or a parameter entity
naming /dev/zero (which never ends). So the prolog is read first, by a pull parser that
stops at the root element's start tag and loads nothing.
"""
from __future__ import annotations

from lxml import etree

from .errors import MessageError

# lxml keeps a per-thread context for a parser object, so one module-level parser is safe.
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=False,
    collect_ids=False,
)
_PROLOG_CHUNK = 4096


def doctype_of(data: bytes) -> str:
    """The document's DOCTYPE declaration, read from the prolog only ('' when there is none)."""
    parser = etree.XMLPullParser(events=("start",), resolve_entities=False, no_network=True, load_dtd=False)
    for offset in range(0, len(data), _PROLOG_CHUNK):
        parser.feed(data[offset:offset + _PROLOG_CHUNK])
        for _, element in parser.read_events():
            return element.getroottree().docinfo.doctype or ""
    parser.close()
    return ""


def parse_bytes(data: bytes, what: str = "message") -> etree._Element:
    """Parse untrusted bytes; a DOCTYPE is refused outright (XXE, billion laughs)."""
    if not data or not data.strip():
        raise MessageError("1.8", f"the {what} is empty")
    try:
        if doctype_of(data):
            raise MessageError("1.8", f"the {what} carries a DOCTYPE, which is not accepted")
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise MessageError("1.8", f"the {what} is not well-formed XML: {exc}") from None
