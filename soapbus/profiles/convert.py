"""Objects read in another edition than the one they were stored in: converted where nothing is lost.

An object is kept as it came, in its edition's namespace. A `get` that asks for another edition
(by the namespace of its Get<Noun> query or of its payload) gets each object converted when
- both namespaces are of one edition (a 2016 document read as 2017 under the 2015 profile):
  only the namespace changes; or
- the editions differ and soapbus knows how the profile changed (MAPPINGS), or the structure is
  the same (a plain change of namespace), and the conversion loses nothing: converting back
  gives the object as stored, element for element, and the result validates against the
  asked edition's profile.
Otherwise `convert` answers None and the caller answers the object in its stored edition,
saying so. Nothing is invented to fill a field the asked edition requires.
"""
from __future__ import annotations

import copy
from typing import Callable

from lxml import etree

from .nouns import Noun
from .objects import document_of
from .series import child, children, fingerprint
from .validate import compiled_schema, in_namespace

# (noun, from year, to year) -> the item rebuilt in the other edition's namespace.
Mapping = Callable[[etree._Element, str], etree._Element]


def _moved(el: etree._Element, namespace: str) -> etree._Element:
    return in_namespace(el, namespace)


def _append(parent: etree._Element, source: etree._Element | None, names: tuple[str, ...], namespace: str) -> None:
    """Copy source's children of these names, in this order, into parent (in `namespace`)."""
    if source is None:
        return
    for name in names:
        for el in children(source, name):
            parent.append(_moved(el, namespace))


def work_request_2011_to_2015(item: etree._Element, namespace: str) -> etree._Element:
    """2011: a WorkRequest is the Work itself. 2015: the request (mRID, Names) holds its Work."""
    request = etree.Element(f"{{{namespace}}}WorkRequest", nsmap={None: namespace})
    _append(request, item, ("mRID", "Names"), namespace)
    work = etree.SubElement(request, f"{{{namespace}}}Work")
    _append(work, item, ("kind", "requestDateTime", "statusKind", "priority", "WorkLocation"), namespace)
    return request


def work_request_2015_to_2011(item: etree._Element, namespace: str) -> etree._Element:
    """The request and its one Work as one 2011 WorkRequest (a second Work would be lost: no conversion)."""
    request = etree.Element(f"{{{namespace}}}WorkRequest", nsmap={None: namespace})
    work = child(item, "Work")
    _append(request, item, ("mRID",), namespace)
    _append(request, work, ("kind", "requestDateTime", "statusKind"), namespace)
    _append(request, item, ("Names",), namespace)
    _append(request, work, ("priority", "WorkLocation"), namespace)
    return request


MAPPINGS: dict[tuple[str, int, int], Mapping] = {
    ("WorkRequests", 2011, 2015): work_request_2011_to_2015,
    ("WorkRequests", 2015, 2011): work_request_2015_to_2011,
}


def _rename(item: etree._Element, namespace: str) -> etree._Element:
    return _moved(item, namespace)


def convert(noun: Noun, item: etree._Element, namespace: str) -> etree._Element | None:
    """The stored item as an object of the edition of `namespace`, or None where that would lose something."""
    stored_namespace = etree.QName(item).namespace
    if stored_namespace == namespace:
        return copy.deepcopy(item)
    source, target = noun.edition_for(stored_namespace), noun.edition_for(namespace)
    if source is None or target is None:
        return None
    if source == target:  # one profile, two years' namespaces
        return _moved(item, namespace)
    forward = MAPPINGS.get((noun.name, source.year, target.year), _rename)
    back = MAPPINGS.get((noun.name, target.year, source.year), _rename)
    as_stored = _moved(item, source.namespace)
    converted = forward(as_stored, target.namespace)
    if fingerprint(back(converted, source.namespace)) != fingerprint(as_stored):
        return None  # something of the stored object has no place in the asked edition
    if not compiled_schema(target.profile_xsd).validate(document_of(noun, [copy.deepcopy(converted)])):
        return None  # the asked edition requires what the stored object does not say
    return _moved(converted, namespace)


__all__ = ["convert", "MAPPINGS", "work_request_2011_to_2015", "work_request_2015_to_2011"]
