"""Turning untrusted bytes into a tree: size limit, then the shared hardened parser.

soapbus.message.xml.parse_bytes refuses a DOCTYPE from the prolog, before parsing anything
that could read a file or expand an entity.
"""
from __future__ import annotations

from lxml import etree

from soapbus.message.errors import MessageError
from soapbus.message.xml import parse_bytes

from . import faults


def load(data: bytes, max_bytes: int, what: str) -> etree._Element:
    if len(data) > max_bytes:
        raise faults.invalid(f"the {what} is {len(data)} bytes; at most {max_bytes} are accepted")
    try:
        return parse_bytes(data, what)
    except MessageError as exc:
        raise faults.invalid(exc.reason) from None
