"""Schema validation: profile documents against their noun's profile, messages against Message.xsd.

A payload that does not validate is answered with code 1.8; each Error names the failing
element twice: as a QName in `xpath` (what the schema of Error allows) and as a full path in
`details`, with libxml2's own message, so that the sender can find it in its document.
"""
from __future__ import annotations

import copy
import re
import threading

from lxml import etree

from ..message import Error, namespaces
from .locations import wsdl_dir, xsd_dir
from .editions import Edition, namespace_year
from .nouns import NOUNS, Noun

SCHEMA_ERROR_CODE = "1.8"
# A badly broken document can yield thousands of libxml2 errors; a reply needs the first few.
DEFAULT_ERROR_LIMIT = 50

_SCHEMA_PARSER = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
_ELEMENT_IN_MESSAGE = re.compile(r"^Element '(\{(?P<ns>[^}]*)\})?(?P<local>[^']+)'")
# A namespace URI in braces (`{http://...}`, `{urn:...}`), not a pattern's quantifier (`{8}`).
_NAMESPACE_IN_MESSAGE = re.compile(r"\{[A-Za-z][A-Za-z0-9+.-]*:[^}]*\}")
_SUBJECT_OF_MESSAGE = re.compile(r"^Element '[^']*'(, attribute '[^']*')?: ")

# lxml collects a validation's errors in the XMLSchema object's own error_log, and releases the
# GIL while libxml2 validates, so two threads sharing one object would read each other's errors.
# Each thread therefore compiles its own, once, and keeps it for the life of the process.
_per_thread = threading.local()


def compiled_schema(filename: str) -> etree.XMLSchema:
    """The compiled schema xsd/<filename>, cached for the calling thread."""
    cache: dict[str, etree.XMLSchema] = _per_thread.__dict__.setdefault("schemas", {})
    if filename not in cache:
        path = xsd_dir() / filename
        cache[filename] = etree.XMLSchema(etree.parse(str(path), _SCHEMA_PARSER))
    return cache[filename]


# ---------------------------------------------------------------- locating the failing element


def _prefixes_in(root: etree._Element) -> dict[str, str]:
    """Every prefix the document binds: libxml2 writes its error paths with them."""
    bound: dict[str, str] = {}
    for el in root.iter(tag=etree.Element):
        bound.update((prefix, uri) for prefix, uri in el.nsmap.items() if prefix)
    return bound


def _failing_element(root: etree._Element, entry) -> etree._Element | None:
    """The element a libxml2 error entry is about, found by evaluating the entry's path."""
    if not entry.path:
        return None
    try:
        found = root.getroottree().xpath(entry.path, namespaces=_prefixes_in(root))
    except etree.XPathError:
        return None
    if not isinstance(found, list) or len(found) != 1:
        return None
    node = found[0]
    return node if isinstance(node, etree._Element) else None


def _step(el: etree._Element, always_index: bool) -> str:
    """One step of a readable path: the local name, with a position among same-named siblings."""
    name = etree.QName(el).localname
    parent = el.getparent()
    if parent is None:
        return name
    same = [sibling for sibling in parent if sibling.tag == el.tag]
    if always_index or len(same) > 1:
        return f"{name}[{same.index(el) + 1}]"
    return name


def readable_path(el: etree._Element, indexed_items: str | None = None) -> str:
    """`/MeterReadings/MeterReading[1]/mRID`: local names from the root down.

    Elements named `indexed_items` directly under the root always carry their position, so the
    caller can tell which object failed; deeper steps only where the name repeats.
    """
    steps = []
    node = el
    while node is not None:
        parent = node.getparent()
        is_item = parent is not None and parent.getparent() is None and etree.QName(node).localname == indexed_items
        steps.append(_step(node, always_index=is_item))
        node = parent
    return "/" + "/".join(reversed(steps))


def _qname_of(el: etree._Element | None, message: str) -> tuple[str, dict[str, str]]:
    """`p:localname` and {'p': namespace} for the failing element; bare local name if it has no namespace."""
    if el is not None:
        qname = etree.QName(el)
        namespace, local = qname.namespace, qname.localname
    else:
        match = _ELEMENT_IN_MESSAGE.match(message)
        if match is None:
            return "", {}
        namespace, local = match.group("ns"), match.group("local")
    if not namespace:
        return local, {}
    return f"p:{local}", {"p": namespace}


def _plain(message: str) -> str:
    """libxml2's message for a person: no namespace URIs, and no leading "Element '...': ",
    since the reason names the element by its path already."""
    return _NAMESPACE_IN_MESSAGE.sub("", _SUBJECT_OF_MESSAGE.sub("", message)).strip()


# ---------------------------------------------------------------- payload documents


def accepted_namespaces(noun: Noun) -> str:
    """The namespaces a noun's documents may come in, for a person reading a refusal."""
    editions = ", ".join(f"{e.year} ({e.namespace}, xsd/{e.profile_xsd})" for e in noun.editions)
    return (f"http://iec.ch/TC57/<year>/{noun.name}# for a year from {noun.base_edition.year} on, each checked "
            f"against the latest of soapbus's editions at or before its year: {editions}")


def _wrong_root(noun: Noun, document: etree._Element, which: str) -> Error:
    found = etree.QName(document)
    found_where = f"namespace {found.namespace}" if found.namespace else "no namespace"
    xpath, xpath_ns = _qname_of(document, "")
    return Error(
        code=SCHEMA_ERROR_CODE, level="FATAL",
        reason=(f"The {noun.name} payload{which} must be a {noun.name} document in namespace "
                f"{accepted_namespaces(noun)}; but its root element is {found.localname} in {found_where}."),
        details=f"at /{found.localname}: expected root element {{{noun.profile_ns}}}{noun.name} "
                f"(or the namespace of another edition), found {document.tag}",
        xpath=xpath, xpath_ns=xpath_ns)


def in_namespace(element: etree._Element, namespace: str) -> etree._Element:
    """A copy of an element with every element of its namespace moved to `namespace` (others kept)."""
    source = etree.QName(element).namespace
    if source == namespace:
        return copy.deepcopy(element)

    def rebuilt(el: etree._Element, parent: etree._Element | None) -> etree._Element:
        qname = etree.QName(el)
        tag = f"{{{namespace}}}{qname.localname}" if qname.namespace == source else el.tag
        new = (etree.Element(tag, dict(el.attrib), nsmap={None: namespace}) if parent is None
               else etree.SubElement(parent, tag, dict(el.attrib)))
        new.text, new.tail = el.text, el.tail
        for node in el:
            if isinstance(node.tag, str):
                rebuilt(node, new)
            else:  # comments and processing instructions travel as they are
                new.append(copy.copy(node))
        return new

    return rebuilt(element, None)


def _schema_errors(noun: Noun, edition: Edition, document: etree._Element, which: str, limit: int) -> list[Error]:
    # A detached copy (libxml2's paths then start at the document, not at the enclosing message), in
    # the namespace of the edition that checks it: a 2017 document is checked by the 2015 profile.
    standalone = in_namespace(document, edition.namespace)
    schema = compiled_schema(edition.profile_xsd)
    if schema.validate(standalone):
        return []
    year = namespace_year(etree.QName(document).namespace, noun.name)
    checked_by = (edition.profile_xsd if edition.year == year else
                  f"{edition.profile_xsd} (the {edition.year} edition, the latest soapbus has at or before {year})")
    errors = []
    for entry in list(schema.error_log)[:limit]:
        failing = _failing_element(standalone, entry)
        path = readable_path(failing, noun.item) if failing is not None else (entry.path or f"/{noun.name}")
        xpath, xpath_ns = _qname_of(failing, entry.message)
        if xpath_ns.get("p") == edition.namespace:  # name the element in the namespace it was sent in
            xpath_ns = {"p": etree.QName(document).namespace}
        errors.append(Error(
            code=SCHEMA_ERROR_CODE, level="FATAL",
            reason=f"The {noun.name} payload{which} does not validate against {checked_by} "
                   f"at {path}: {_plain(entry.message)}",
            details=f"at {path}: {entry.message}",
            xpath=xpath or None, xpath_ns=xpath_ns))
    return errors


def validate_documents(noun_name: str, documents: list[etree._Element], *,
                       limit: int = DEFAULT_ERROR_LIMIT) -> list[Error]:
    """Check profile documents against the profile of their edition; an empty list means valid.

    Each document is checked by the edition its root's namespace names (see editions.py): a
    2015 WorkRequests document by xsd/2015/WorkRequests.xsd, a 2011 one by xsd/WorkRequests.xsd.
    Each problem is an Error with code 1.8; a document whose root is not the noun's profile
    element in one of its namespaces (an EndDeviceEvents document sent as MeterReadings) is one
    such problem. At most `limit` errors are returned. A noun outside the table is the caller's
    mistake: ValueError.
    """
    noun = NOUNS.get(noun_name)
    if noun is None:
        raise ValueError(f"no profile for noun {noun_name!r}; known nouns: {', '.join(NOUNS)}")
    errors: list[Error] = []
    for position, document in enumerate(documents, start=1):
        which = f" (document {position} of {len(documents)})" if len(documents) > 1 else ""
        edition = noun.edition_of(document)
        if edition is None:
            errors.append(_wrong_root(noun, document, which))
        else:
            errors.extend(_schema_errors(noun, edition, document, which, limit - len(errors)))
        if len(errors) >= limit:
            break
    return errors[:limit]


# ---------------------------------------------------------------- whole messages


def edition_of(noun_name: str, document: etree._Element) -> Edition | None:
    """The edition of a noun's profile document (by its root's namespace); None if it is not one."""
    noun = NOUNS.get(noun_name)
    return noun.edition_of(document) if noun is not None else None


def message_schema_for(root: etree._Element) -> str | None:
    """Which file under xsd/ declares this message element: Message.xsd or a per-noun carrier schema."""
    namespace = etree.QName(root).namespace
    if namespace == namespaces.MSG:
        return "Message.xsd"
    for noun in NOUNS.values():
        if namespace == noun.message_ns:
            return noun.message_xsd
    return None


def validate_message(element: etree._Element) -> list[str]:
    """Problems of a whole 61968 message element against our schemas; empty when it is valid.

    Plain messages (RequestMessage, ...) are checked against xsd/Message.xsd, strongly typed
    carriers (`{...MeterReadingsMessage}CreateMeterReadings`) against their noun's message
    schema, which also checks the profile documents in their Payload.
    """
    filename = message_schema_for(element)
    if filename is None:
        return [f"at /{etree.QName(element).localname}: {element.tag} is not a 61968 message element "
                f"in a namespace soapbus has a schema for"]
    standalone = copy.deepcopy(element)
    schema = compiled_schema(filename)
    if schema.validate(standalone):
        return []
    problems = []
    for entry in schema.error_log:
        failing = _failing_element(standalone, entry)
        path = readable_path(failing) if failing is not None else entry.path
        problems.append(f"at {path}: {entry.message}")
    return problems


__all__ = ["validate_documents", "validate_message", "edition_of", "in_namespace", "accepted_namespaces", "message_schema_for", "compiled_schema", "readable_path",
           "xsd_dir", "wsdl_dir", "SCHEMA_ERROR_CODE", "DEFAULT_ERROR_LIMIT"]
