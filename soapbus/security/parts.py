"""Finding THE parts of a SOAP 1.1 envelope that a WS-Security signature must cover.

Each part is found by its position, never by a search through the document: the Body is the
one soap:Body child of the Envelope root, the Timestamp and Signature are children of the one
wsse:Security header addressed to us. An element of the same name anywhere else is not it.
"""
from __future__ import annotations

from typing import NamedTuple

from lxml import etree

from soapbus.message import soap

from . import faults, ns


class Parts(NamedTuple):
    envelope: etree._Element
    header: etree._Element
    body: etree._Element
    security: etree._Element
    timestamp: etree._Element
    signature: etree._Element


def _children(parent: etree._Element, tag: str) -> list[etree._Element]:
    return list(parent.iterchildren(tag))  # element children with exactly this tag, matched by lxml


def targets_us(header: etree._Element, actor: str | None) -> bool:
    """Whether a SOAP 1.1 header block is addressed to a receiver acting as `actor`."""
    value = header.get(ns.ACTOR) or None
    return value == ns.ACTOR_NEXT or value == actor


def _exactly_one(found: list[etree._Element], what: str) -> etree._Element:
    if len(found) != 1:
        raise faults.invalid(f"the message must hold exactly one {what}; it holds {len(found)}")
    return found[0]


def locate(root: etree._Element, actor: str | None) -> Parts:
    if root.tag != ns.ENVELOPE:
        raise faults.invalid(f"the message is not a SOAP 1.1 Envelope (root element {root.tag})")
    header = _exactly_one(_children(root, ns.SOAP_HEADER), "soap:Header (carrying wsse:Security)")
    body = _exactly_one(_children(root, ns.SOAP_BODY), "soap:Body directly under the Envelope")
    whom = f"actor {actor}" if actor else "the ultimate receiver"
    securities = [h for h in _children(header, ns.SECURITY) if targets_us(h, actor)]
    security = _exactly_one(securities, f"wsse:Security header for {whom}")
    stamp = _exactly_one(_children(security, ns.TIMESTAMP), "wsu:Timestamp in wsse:Security")
    signature = _exactly_one(_children(security, ns.SIGNATURE), "ds:Signature in wsse:Security")
    return Parts(root, header, body, security, stamp, signature)


def message_header(body: etree._Element) -> etree._Element | None:
    """The 61968 Header of the message carried in a soap:Body, if there is exactly one."""
    entries = list(body.iterchildren(etree.Element))
    if len(entries) != 1:
        return None
    message = soap.unwrap_generic(entries[0])
    headers = list(message.iterchildren("{*}Header"))  # local name Header, in any namespace or none
    return headers[0] if len(headers) == 1 else None
