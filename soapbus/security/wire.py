"""Turning untrusted bytes into a tree: size limit, DOCTYPE refusal, then the shared hardened parser.

soapbus.message.xml.parse_bytes refuses a DOCTYPE only after parsing it, and by then libxml2
may already have read an external subset from a local file, or a parameter entity naming
/dev/zero (which never ends). So the prolog is looked at first, by a pull parser that stops
at the root element's start tag and loads nothing.
"""
from __future__ import annotations

from lxml import etree

from soapbus.message.errors import MessageError
from soapbus.message.xml import parse_bytes

from . import faults

_PROLOG_CHUNK = 4096


def _doctype(data: bytes) -> str:
    # Without load_dtd this parser reads neither the external subset nor external parameter
    # entities, and it is dropped as soon as the root element starts.
    parser = etree.XMLPullParser(events=("start",), resolve_entities=False, no_network=True, load_dtd=False)
    try:
        for offset in range(0, len(data), _PROLOG_CHUNK):
            parser.feed(data[offset:offset + _PROLOG_CHUNK])
            for _, element in parser.read_events():
                return element.getroottree().docinfo.doctype or ""
        parser.close()
    except etree.XMLSyntaxError as exc:
        raise faults.invalid(f"the message is not well-formed XML: {exc}") from None
    return ""


def load(data: bytes, max_bytes: int, what: str) -> etree._Element:
    if len(data) > max_bytes:
        raise faults.invalid(f"the {what} is {len(data)} bytes; at most {max_bytes} are accepted")
    if _doctype(data):
        raise faults.invalid(f"the {what} carries a DOCTYPE, which is not accepted (XXE and entity expansion)")
    try:
        return parse_bytes(data, what)
    except MessageError as exc:
        raise faults.invalid(exc.reason) from None
