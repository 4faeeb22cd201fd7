"""Hardened XML parsing: no DTDs, no entities, no network, bounded depth and size."""
from __future__ import annotations

from lxml import etree

from .errors import MessageError

# One parser per thread would be the lxml rule for shared parsers under concurrent use;
# lxml already keeps a per-thread context for a parser object, so a module-level one is safe.
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=False,
    collect_ids=False,
)


def parse_bytes(data: bytes, what: str = "message") -> etree._Element:
    """Parse untrusted bytes; a DOCTYPE is refused outright (XXE, billion laughs)."""
    if not data or not data.strip():
        raise MessageError("1.8", f"the {what} is empty")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise MessageError("1.8", f"the {what} is not well-formed XML: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise MessageError("1.8", f"the {what} carries a DOCTYPE, which is not accepted")
    return root
