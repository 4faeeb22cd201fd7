"""The wsse:Security header sign_envelope writes, prebuilt once per thread and shape.

A shape is what repeats from one signature to the next: the algorithms, the key's token, the
references and their InclusiveNamespaces, the actor, the prefix the envelope gives SOAP. What
each message fills in is a handful of texts: the Timestamp's Id, Created and Expires, the
token's Id, each Reference's URI and DigestValue, the SignatureValue and the token reference.

Besides the tree (copied whole, one C call, for every signature made as a tree), a shape keeps
three byte strings cut in pieces where those texts go: the exclusive C14N of its Timestamp and
of its ds:SignedInfo, which a signature digests and signs, and the serialisation of the whole
header in a soap:Header. Our texts are identifiers, times and base64, which C14N and lxml's
serialiser write as they are (a URI made from an Id the caller set is checked, `escaped`), so
the pieces joined with them are, byte for byte, what libxml2 writes for the filled-in tree;
libxml2 wrote the rest, once. Placed in an envelope, the copy keeps the prefixes it was built
with unless the soap:Header has one of its namespaces in scope already (lxml then points it
at that declaration), which `keeps_prefixes` tells.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import NamedTuple

from lxml import etree

from . import crypto, ns, template, timestamp, tokens
from .keys import SigningKey


class Key(NamedTuple):
    """What makes two signatures' Security headers the same but for the texts each message fills in."""
    key: SigningKey
    key_reference: str
    method: str
    stamp_at: int | None  # where the Timestamp's Reference goes among the parts', or None
    prefixes: tuple[tuple[str, ...], ...]  # each part's InclusiveNamespaces, in order
    actor: str | None
    soap_prefix: str  # the envelope's prefix for the SOAP namespace, which soapenv:mustUnderstand takes


class Shape(NamedTuple):
    security: etree._Element  # the wsse:Security, inside a soap:Header of its own
    stamp: tuple[bytes, ...]  # the Timestamp's C14N, cut where its Id, Created and Expires go
    signed_info: tuple[bytes, ...]  # ds:SignedInfo's C14N, cut where each Reference's URI and DigestValue go
    header: tuple[bytes, ...]  # the Security header as serialised in the soap:Header, cut at every text (`Filled`)


class Filled(NamedTuple):
    """The texts one message fills into a shape."""
    stamp: timestamp.Filled
    token_id: str | None  # the BinarySecurityToken's wsu:Id, for key_reference "bst"
    uris: list[str]  # each Reference's URI
    digests: list[str]  # each Reference's DigestValue
    signature_value: str

    def in_header(self) -> list[str]:
        """The texts in the order they stand in the serialised header (`Shape.header`)."""
        texts = [*self.stamp] + ([self.token_id] if self.token_id is not None else [])
        for uri, value in zip(self.uris, self.digests, strict=True):
            texts += (uri, value)
        texts.append(self.signature_value)
        if self.token_id is not None:
            texts.append("#" + self.token_id)
        return texts

    def in_signed_info(self) -> list[str]:
        texts = []
        for uri, value in zip(self.uris, self.digests, strict=True):
            texts += (uri, value)
        return texts


_NAMESPACES = frozenset({ns.WSSE, ns.WSU, ns.DS, ns.EXC_C14N_NS})
_ESCAPED = re.compile(r'[&<>"\t\n\r]')  # what C14N or the serialiser would not write as it is
_SLOT = re.compile(rb"soapbus-slot-(\d+)")
_SHAPES = 64  # shapes kept per thread
_built = threading.local()  # lxml trees are not shared between threads


def keeps_prefixes(in_scope: dict[str | None, str]) -> bool:
    """Whether a Security header appended to a soap:Header with `in_scope` (its nsmap) keeps the shape's prefixes."""
    return not _NAMESPACES.intersection(in_scope.values())


def escaped(texts: Sequence[str]) -> bool:
    """Whether some text would be escaped by C14N or the serialiser, so that pieces cannot take it."""
    return _ESCAPED.search("".join(texts)) is not None


def joined(pieces: tuple[bytes, ...], texts: Sequence[str]) -> bytes:
    """The pieces of a cut with the texts between them."""
    if len(texts) != len(pieces) - 1:
        raise ValueError(f"{len(pieces) - 1} texts go between these pieces, not {len(texts)}")
    out = [b""] * (2 * len(pieces) - 1)
    out[::2] = pieces
    out[1::2] = [text.encode() for text in texts]
    return b"".join(out)


def shape(wanted: Key) -> Shape:
    """The shape for `wanted`, built on first use in this thread."""
    cache = getattr(_built, "shapes", None)
    if cache is None:
        cache = _built.shapes = OrderedDict()
    found = cache.get(wanted)
    if found is None:
        found = cache[wanted] = _build(wanted)
        if len(cache) > _SHAPES:
            cache.popitem(last=False)
    else:
        cache.move_to_end(wanted)
    return found


def _build(wanted: Key) -> Shape:
    """The Security header as the builders make it: Timestamp, the key's token (for "bst"), the Signature template.

    One Reference per part (`prefixes`), the Timestamp's at `stamp_at`, and the KeyInfo. Attributes
    set on a copy later keep the places they have here.
    """
    soap_header = etree.Element(ns.SOAP_HEADER, nsmap={wanted.soap_prefix: ns.SOAP11_ENV})
    security = etree.SubElement(soap_header, ns.SECURITY, nsmap=ns.NSMAP)
    security.set(ns.MUST_UNDERSTAND, "1")
    if wanted.actor:
        security.set(ns.ACTOR, wanted.actor)
    stamp = timestamp.build(datetime.now(timezone.utc), 0, security)
    bst = wanted.key_reference == "bst"
    token = tokens.binary_security_token(wanted.key, security) if bst else None
    refs = [template.Ref("", [ns.EXC_C14N], p) for p in wanted.prefixes]
    if wanted.stamp_at is not None:
        refs.insert(wanted.stamp_at, template.Ref("", [ns.EXC_C14N]))
    signature = template.build(ns.EXC_C14N, wanted.method, refs, token_uri="" if bst else None)
    if not bst:
        template.key_info(signature).append(tokens.token_reference(wanted.key_reference, wanted.key, None))
    security.append(signature)
    stamp_slots = [(stamp, ns.WSU_ID), (stamp[0], None), (stamp[1], None)]
    reference_slots = []
    for reference in signature[0][2:]:  # after CanonicalizationMethod and SignatureMethod
        reference_slots += ((reference, "URI"), (reference[-1], None))  # and its DigestValue
    header_slots = [*stamp_slots, *([(token, ns.WSU_ID)] if bst else []), *reference_slots, (signature[1], None)]
    if bst:
        header_slots.append((signature[2][0][0], "URI"))  # KeyInfo/SecurityTokenReference/Reference
    return Shape(security,
                 _cut(stamp_slots, lambda: crypto.canonical(stamp, ns.EXC_C14N)),
                 _cut(reference_slots, lambda: crypto.canonical(signature[0], ns.EXC_C14N)),
                 _cut(header_slots, lambda: _inside(soap_header)))


def _inside(parent: etree._Element) -> bytes:
    """`parent`'s content as lxml serialises it in place: between its start and end tags."""
    data = etree.tostring(parent, encoding="utf-8")
    return data[data.index(b">") + 1:data.rindex(b"</")]


def _cut(slots: list[tuple[etree._Element, str | None]], write: Callable[[], bytes]) -> tuple[bytes, ...]:
    """What `write` makes, in pieces cut where each slot (an attribute, or with None the text) goes."""
    for number, (node, attribute) in enumerate(slots):
        marker = f"soapbus-slot-{number}"
        if attribute is None:
            node.text = marker
        else:
            node.set(attribute, marker)
    pieces = _SLOT.split(write())
    if [int(n) for n in pieces[1::2]] != list(range(len(slots))):
        raise RuntimeError(f"the serialisation does not hold its {len(slots)} slots in order")
    return tuple(pieces[::2])
