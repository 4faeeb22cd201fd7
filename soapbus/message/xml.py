"""Hardened XML parsing: no DTDs, no entities, no network, bounded depth and size.

A DOCTYPE is refused before the document is parsed: by the time a full parse has finished,
libxml2 may already have read an external subset from a local file, or a parameter entity
naming /dev/zero (which never ends). So the prolog is read first, by a pull parser that
stops at the root element's start tag and loads nothing.

Most messages skip that pull parser: when the bytes are provably in an encoding where markup
is plain ASCII (UTF-8, or a declared ASCII superset; see `_proven_without_doctype`), a DOCTYPE
could only be the literal bytes `<!DOCTYPE`, and their absence is proof enough. Other
encodings (UTF-16, UTF-32, UTF-7, EBCDIC ...) always go through the pull parser.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

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

_UTF8_BOM = b"\xef\xbb\xbf"
# The XMLDecl production of XML 1.0 (section 2.8), nothing looser.
_XML_DECL = re.compile(
    rb"<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:\"1\.[0-9]+\"|'1\.[0-9]+')"
    rb"(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?:\"([A-Za-z][A-Za-z0-9._-]*)\"|'([A-Za-z][A-Za-z0-9._-]*)'))?"
    rb"(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(?:\"(?:yes|no)\"|'(?:yes|no)'))?"
    rb"[ \t\r\n]*\?>")
# Encodings in which every ASCII character is its own single byte and no byte sequence
# (shift state, base64 run, multi-byte form) can stand for '<', '!' or a letter otherwise.
# Not UTF-7: there `<+ACE-DOCTYPE` is a DOCTYPE (libxml2 decodes it through iconv).
_ASCII_MARKUP_ENCODINGS = frozenset({b"utf-8", b"us-ascii", b"ascii", b"iso-8859-1", b"latin1"})
_SPACE_THEN_MARKUP = re.compile(rb"[ \t\r\n]*<")


def _proven_without_doctype(data: bytes) -> bool:
    """True when `data` provably holds no DOCTYPE, without parsing it.

    Only for bytes libxml2 will read in an encoding where markup is the ASCII bytes themselves:
    no NUL byte (so not UTF-16 or UTF-32, which libxml2 detects from '<' then NUL), an optional
    UTF-8 byte order mark, then either an XML declaration exactly as the grammar has it, whose
    encoding (if named) is UTF-8, US-ASCII or ISO-8859-1, or no declaration and '<' after
    optional whitespace (libxml2 then reads UTF-8); and no other '<?xml' in any letter case.
    In such bytes a DOCTYPE can only be the literal '<!DOCTYPE' (XML is case-sensitive; any
    letter case is looked for all the same), so its absence anywhere proves there is none.
    Anything else answers False, and the pull parser decides.
    """
    if b"\x00" in data:
        return False
    start = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    declaration = _XML_DECL.match(data, start)
    if declaration is not None:
        encoding = declaration.group(1) or declaration.group(2)
        if encoding is not None and encoding.lower() not in _ASCII_MARKUP_ENCODINGS:
            return False
        rest = declaration.end()
    else:
        rest = start
    if _SPACE_THEN_MARKUP.match(data, rest) is None:
        return False
    return not _markup_in_any_case(data, b"?", b"xml", rest) and not _markup_in_any_case(data, b"!", b"doctype", rest)


def _markup_in_any_case(data: bytes, mark: bytes, word: bytes, start: int) -> bool:
    """Whether '<', `mark`, then `word` in any letter case occur in data[start:].

    Looks for the rare `mark` byte ('?' or '!') rather than the common '<'.
    """
    found = data.find(mark, start)
    while found >= 0:
        if data[found - 1:found] == b"<" and data[found + 1:found + 1 + len(word)].lower() == word:
            return True
        found = data.find(mark, found + 1)
    return False


def doctype_of(data: bytes) -> str:
    """The document's DOCTYPE declaration, read from the prolog only ('' when there is none)."""
    if _proven_without_doctype(data):
        return ""
    return _doctype_by_parsing(data)


def _doctype_by_parsing(data: bytes) -> str:
    """The pull parser's answer, for any encoding libxml2 reads: stops at the root's start tag."""
    parser = etree.XMLPullParser(events=("start",), resolve_entities=False, no_network=True, load_dtd=False)
    for offset in range(0, len(data), _PROLOG_CHUNK):
        parser.feed(data[offset:offset + _PROLOG_CHUNK])
        for _, element in parser.read_events():
            return element.getroottree().docinfo.doctype or ""
    parser.close()
    return ""


@dataclass(frozen=True)
class ParseLimits:
    """What one document may cost to parse, beyond its size in bytes.

    A tree costs about 100 bytes of memory per element whatever the element's size in the
    text, so 8 MB of `<a/>` would become some 200 MB of tree: the element count is bounded
    before the tree is built. The depth bound keeps recursive readers (C14N, copies, our own
    walkers) far from any stack limit; libxml2's own is 256.
    """

    max_elements: int = 100_000
    max_depth: int = 100


DEFAULT_LIMITS = ParseLimits()


def parse_bytes(data: bytes, what: str = "message", limits: ParseLimits = DEFAULT_LIMITS) -> etree._Element:
    """Parse untrusted bytes; a DOCTYPE is refused outright (XXE, billion laughs), and so is a
    document with more elements or deeper nesting than `limits` allow (before its tree exists)."""
    if not data or data.isspace():
        raise MessageError("1.8", f"the {what} is empty")
    try:
        ascii_markup = _proven_without_doctype(data)
        if not ascii_markup and _doctype_by_parsing(data):
            raise MessageError("1.8", f"the {what} carries a DOCTYPE, which is not accepted")
        if not (ascii_markup and _elements_at_most(data, limits.max_elements) <= limits.max_elements):
            _count_by_parsing(data, what, limits.max_elements)
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise MessageError("1.8", f"the {what} is not well-formed XML: {exc}") from None
    if _deeper_than(limits.max_depth)(root):
        raise MessageError("1.8", f"the {what} nests elements deeper than {limits.max_depth} levels, "
                                  "this endpoint's limit")
    return root


def _elements_at_most(data: bytes, limit: int) -> int:
    """An upper bound of the elements in bytes whose markup is ASCII, at memchr speed.

    Every element has a start tag: a '<' not followed by '/', '!' or '?'. Most messages are
    judged by the first count alone; '<' inside comments and CDATA can only raise the bound.
    """
    upper = data.count(b"<")
    if upper > limit:
        upper -= data.count(b"</") + data.count(b"<!") + data.count(b"<?")
    return upper


@lru_cache(maxsize=8)
def _deeper_than(limit: int) -> etree.XPath:
    # One step per level: libxml2 walks the tree once, in C, and stops at the first hit.
    return etree.XPath("boolean(/" + "*/" * limit + "*)")


def _too_many(what: str, limit: int) -> MessageError:
    return MessageError("3.1", f"the {what} has more than {limit} elements, this endpoint's limit; "
                               "send fewer objects per message")


def _count_by_parsing(data: bytes, what: str, limit: int) -> None:
    """Count the elements exactly, for bytes the upper bound cannot clear (or another encoding).

    A target parser keeps no tree, so memory stays flat however many elements arrive, and it
    stops at the first element over the limit."""
    parser = etree.XMLParser(target=_Counter(), resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False)
    for offset in range(0, len(data), 64 * 1024):
        parser.feed(data[offset:offset + 64 * 1024])
        if parser.target.count > limit:
            raise _too_many(what, limit)
    parser.close()


class _Counter:
    def __init__(self):
        self.count = 0

    def start(self, tag, attrib, nsmap=None):
        self.count += 1

    def close(self):
        return self.count


# ---------------------------------------------------------------- a document read as a stream


class SchemaViolation(MessageError):
    """A streamed document broke its schema; `messages` are libxml2's, in the order found."""

    def __init__(self, what: str, messages: list[str]):
        super().__init__("1.8", f"the {what} does not validate against its schema: {messages[0]}")
        self.messages = messages


STREAM_PROLOG_LIMIT = 64 * 1024  # bytes before the root element's start tag a streamed document may have


def streamable(first: bytes) -> bool:
    """Whether a document starting with `first` may be read as a stream: its markup is plain ASCII
    and there is no DOCTYPE (`_proven_without_doctype`), so that the element bound below holds.
    Anything else is parsed whole by `parse_bytes`, which decides."""
    return _proven_without_doctype(first)


def stream_elements(chunks, what: str, limits: ParseLimits, tag: str, schema: etree.XMLSchema | None = None):
    """The `tag` elements directly under the root of a document arriving in `chunks` (bytes), one by
    one, each whole when yielded; the tree never holds more than the elements of one chunk.

    For documents `streamable` admits (the caller checks the first chunk). An element stays
    usable until the consumer asks for the next one; then it is cleared and dropped, so a
    consumer keeps what it needs as values or copies. Checked as `parse_bytes` checks a whole
    document: not well-formed 1.8; more elements than `limits.max_elements` 3.1 (counted as
    start tags at memchr speed, a '<' in a comment or CDATA section counting as one, before the
    chunk is parsed); deeper than `limits.max_depth` 1.8. With a `schema`, libxml2 validates while
    it parses; what it finds is reported when the parse ends (SchemaViolation), after
    the last element was yielded: a consumer acts on elements inside a transaction that a
    violation undoes."""
    parser = etree.XMLPullParser(events=("end",), tag=tag, schema=schema, resolve_entities=False,
                                 no_network=True, load_dtd=False, huge_tree=False, collect_ids=False)
    deeper = _deeper_than(limits.max_depth)
    elements = 0
    root = None
    try:
        for chunk in chunks:
            elements += _elements_at_most(chunk, 0)
            if elements > limits.max_elements:
                raise _too_many(what, limits.max_elements)
            parser.feed(chunk)
            events = parser.read_events()
            for _event, element in events:
                if root is None:
                    root = element.getroottree().getroot()
                if element.getparent() is not root:  # the tag deeper down: not one of the root's children
                    continue
                if deeper(element):
                    raise MessageError("1.8", f"the {what} nests elements deeper than {limits.max_depth} levels, "
                                              "this endpoint's limit")
                yield element
                element.clear()
                while element.getprevious() is not None:  # comments, other children: already read
                    del root[0]
                root.remove(element)
        parser.close()
    except etree.XMLSyntaxError as exc:
        # libxml2 reports what the schema found when the parse ends, with the syntax errors if any
        violations = [entry.message for entry in exc.error_log if entry.domain_name == "SCHEMASV"]
        if violations:
            raise SchemaViolation(what, violations) from None
        raise MessageError("1.8", f"the {what} is not well-formed XML: {exc}") from None
