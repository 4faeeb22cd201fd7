"""A large Compressed profile document read as a stream of its items, never as one tree.

An lxml tree costs 5 to 15 times its document's size (a 50 MB MeterReadings document of
interval readings builds a tree of 400 MB and more), so a Compressed payload that would inflate
to more than STREAM_FROM_BYTES is read piece by piece instead: inflated 256 KiB at a time,
parsed by a pull parser that validates against the profile as it goes (libxml2's streaming
XML Schema validation, the same schema `validate_documents` uses), each item handed out whole
and dropped once its reader moves on. Memory then follows one piece and one item, whatever the
document's size.

The same checks hold as for a tree: the inflation cap (3.1), the element and depth limits, the
profile. A document only the tree path can read (another edition's namespace, whose check
renames it first; markup not plain ASCII; a DOCTYPE) is not streamed: `StreamedDocument.of`
answers None and the caller parses it whole, as before.

Where the streaming validation finds a problem, its place is found by reading the stream again
and validating each item alone in a one-item document (bounded like everything here); the
Errors then name the item by its position, exactly as `validate_documents` would. A problem no
single item shows (what the document as a whole lacks) is reported with libxml2's message.
"""
from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from ..message import Error, MessageError
from ..message.envelope import inflated_chunks
from ..message.xml import STREAM_PROLOG_LIMIT, ParseLimits, SchemaViolation, parse_bytes, stream_elements, streamable
from .editions import Edition
from .nouns import Noun
from .validate import SCHEMA_ERROR_CODE, compiled_schema, validate_documents

# A Compressed payload that says it inflates to this many bytes or more is read as a stream;
# smaller ones as a tree (faster, and a tree of 4 MiB costs some 40 to 60 MiB at most).
STREAM_FROM_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class StreamedDocument:
    """One profile document inside a Payload/Compressed, read as a stream each time it is read."""

    noun: Noun
    edition: Edition
    gz: bytes  # the gzip stream, as the base64 text carried it
    max_inflated: int
    limits: ParseLimits

    @classmethod
    def of(cls, noun: Noun, compressed: str, max_inflated: int, limits: ParseLimits,
           threshold: int = STREAM_FROM_BYTES) -> StreamedDocument | None:
        """The payload's document as a stream, or None when it is read as a tree (small, or a
        document only the tree path reads). Base64 or gzip that is broken raises MessageError 1.8.

        Small is judged by the size the gzip trailer states (ISIZE, the last member's size modulo
        2**32): a sender can misstate it, which only chooses the path; the caps hold on both."""
        try:
            gz = base64.b64decode(compressed, validate=False)
        except (ValueError, binascii.Error) as exc:
            raise MessageError("1.8", f"Payload/Compressed is not base64: {exc}", xpath="Payload/Compressed") from None
        if max(len(gz), int.from_bytes(gz[-4:], "little")) < threshold:
            return None
        first = _prolog(gz, max_inflated)
        if not streamable(first):
            return None
        root = _root_of(first)
        if root is None:
            return None
        namespace, local = root
        edition = noun.edition_for(namespace) if local == noun.name else None
        if edition is None or edition.namespace != namespace:  # wrong root, or checked after renaming: a tree
            return None
        return cls(noun, edition, gz, max_inflated, limits)

    @property
    def item_tag(self) -> str:
        return f"{{{self.edition.namespace}}}{self.noun.item}"

    def _chunks(self):
        return inflated_chunks(self.gz, self.max_inflated)

    def check(self) -> list[Error]:
        """Read the whole document once against its profile; the Errors (1.8) if it does not
        validate, [] if it does. Inflation and parse limits raise MessageError."""
        try:
            for _item in stream_elements(self._chunks(), "Payload/Compressed", self.limits, self.item_tag,
                                         compiled_schema(self.edition.profile_xsd)):
                pass
        except SchemaViolation as violation:
            return self._located(violation)
        return []

    def items(self) -> Iterator[tuple[int, etree._Element]]:
        """(position from 1, item) of every item, in document order, for a document `check` passed.
        Each item is usable until the next is asked for (keep copies or values, not the element)."""
        stream = stream_elements(self._chunks(), "Payload/Compressed", self.limits, self.item_tag)
        return enumerate(stream, start=1)

    def document(self) -> etree._Element:
        """The whole document as one tree, for a reader that needs it so (a DMS handler taking
        `documents`): what a smaller payload gets, at a tree's cost."""
        return parse_bytes(b"".join(self._chunks()), "Payload/Compressed", self.limits)

    def _located(self, violation: SchemaViolation) -> list[Error]:
        """The Errors of a document the stream found invalid: each item validated alone until one
        fails, named by its position; else libxml2's own messages about the document."""
        shell = None
        for position, item in self.items():
            if shell is None:
                root = item.getparent()
                shell = etree.Element(root.tag, dict(root.attrib), nsmap=root.nsmap)
            alone = copy.copy(shell)
            alone.append(copy.deepcopy(item))
            errors = validate_documents(self.noun.name, [alone])
            if errors:
                return [_at_position(error, self.noun, position) for error in errors]
        return [Error(code=SCHEMA_ERROR_CODE, level="FATAL", details=f"at /{self.noun.name}: {message}",
                      reason=f"The {self.noun.name} payload does not validate against {self.edition.profile_xsd}: "
                             f"{message}") for message in violation.messages[:10]]


# What counting the items of a Compressed document may read: any size (an answer this system made).
_COUNTING_LIMITS = ParseLimits(max_elements=2**62, max_depth=250)


def compressed_item_count(noun: Noun, compressed: str) -> int:
    """The items (`noun.item` elements under the root, in any namespace) of a Compressed profile
    document, counted as a stream: what a get's answer holds, for its limit on items."""
    try:
        gz = base64.b64decode(compressed, validate=False)
    except (ValueError, binascii.Error) as exc:
        raise MessageError("1.8", f"Payload/Compressed is not base64: {exc}", xpath="Payload/Compressed") from None
    items = stream_elements(inflated_chunks(gz, 2**62), "Payload/Compressed", _COUNTING_LIMITS, f"{{*}}{noun.item}")
    return sum(1 for _item in items)


def _at_position(error: Error, noun: Noun, position: int) -> Error:
    """An Error found in a one-item document, naming the item by its place in the whole one."""
    alone, whole = f"/{noun.name}/{noun.item}[1]", f"/{noun.name}/{noun.item}[{position}]"
    error.reason = (error.reason or "").replace(alone, whole)
    error.details = (error.details or "").replace(alone, whole)
    return error


def _prolog(gz: bytes, max_inflated: int) -> bytes:
    """The first inflated bytes, up to STREAM_PROLOG_LIMIT: enough to hold the root's start tag."""
    first = b""
    for piece in inflated_chunks(gz, max_inflated):
        first += piece
        if len(first) >= STREAM_PROLOG_LIMIT:
            break
    return first


def _root_of(first: bytes) -> tuple[str | None, str] | None:
    """(namespace, local name) of the root element, read from the first bytes; None when they do
    not reach its start tag or are not XML (the tree path then says what is wrong)."""
    parser = etree.XMLPullParser(events=("start",), resolve_entities=False, no_network=True, load_dtd=False)
    try:
        parser.feed(first)
        for _event, element in parser.read_events():
            qname = etree.QName(element)
            return qname.namespace, qname.localname
    except etree.XMLSyntaxError:
        return None
    return None


__all__ = ["STREAM_FROM_BYTES", "StreamedDocument", "compressed_item_count"]
