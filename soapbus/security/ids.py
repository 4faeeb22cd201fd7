"""Element identifiers: giving signed parts a wsu:Id, and resolving `#id` references safely.

Signature wrapping lives on ambiguity between what a reference points at and what the
application reads. So resolution counts every attribute whose local name is Id, ID or id, in
any namespace (what xmlsec, signxml and other verifiers may treat as an identifier), and a
referenced value that names more than one element is refused rather than resolved.
"""
from __future__ import annotations

import os
import re
from typing import NamedTuple

from lxml import etree

from . import faults, ns

# A bare-name XPointer (`#` then an NCName): the only reference form WS-Security uses.
_BARE_NAME = re.compile(r"^#([^\W\d][\w.\-]*)$")


class Target(NamedTuple):
    """A referenced element and the attribute that carried its identifier."""
    element: etree._Element
    attribute: str  # Clark notation, e.g. {wsu-ns}Id


def new_id(prefix: str = "id") -> str:
    """A fresh identifier: the prefix, then 128 random bits in hex (as a uuid4's hex)."""
    return f"{prefix}-{os.urandom(16).hex()}"


def ensure_id(element: etree._Element, prefix: str = "id") -> str:
    """The element's wsu:Id, adding a fresh one where it has none."""
    value = element.get(ns.WSU_ID)
    if not value:
        value = new_id(prefix)
        element.set(ns.WSU_ID, value)
    return value


def fragment(uri: str | None) -> str:
    """The identifier of a `#id` reference; any other URI form is refused."""
    match = _BARE_NAME.match(uri or "")
    if not match:
        raise faults.invalid(
            f"Reference URI {uri!r} is not a same-document '#id' reference; XPointer expressions, "
            "the whole document (\"\") and external URIs are not accepted")
    return match.group(1)


# Every attribute whose local name is Id, ID or id, on the context element and its descendants,
# in document order. XPath's local-name() is libxml2's own, so no attribute name can hide from it.
# (The length test first only spares comparing longer names three times.)
_ID_ATTRIBUTES = etree.XPath("descendant-or-self::*/@*[string-length(local-name())=2]"
                             "[local-name()='Id' or local-name()='ID' or local-name()='id']")


class IdIndex:
    """Every identifier-like attribute value of a document, mapped to the elements carrying it."""

    def __init__(self, root: etree._Element):
        self._found: dict[str, list[Target]] = {}
        for attribute in _ID_ATTRIBUTES(root):
            self._found.setdefault(str(attribute), []).append(Target(attribute.getparent(), attribute.attrname))

    def resolve(self, identifier: str) -> Target:
        """The one element an identifier names; none, or several, is refused."""
        targets = self._found.get(identifier, [])
        elements = {id(t.element) for t in targets}
        if not targets:
            raise faults.invalid(f"Reference #{identifier} names no element in the message")
        if len(elements) > 1:
            raise faults.invalid(
                f"the identifier {identifier!r} is carried by {len(elements)} elements; duplicate Ids are "
                "refused because a reference to them is ambiguous")
        return targets[0]
