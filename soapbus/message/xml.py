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


def parse_bytes(data: bytes, what: str = "message") -> etree._Element:
    """Parse untrusted bytes; a DOCTYPE is refused outright (XXE, billion laughs)."""
    if not data or data.isspace():
        raise MessageError("1.8", f"the {what} is empty")
    try:
        if doctype_of(data):
            raise MessageError("1.8", f"the {what} carries a DOCTYPE, which is not accepted")
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise MessageError("1.8", f"the {what} is not well-formed XML: {exc}") from None
