"""ds:Signature templates built with lxml, for soapbus.security.crypto (or python-xmlsec) to fill in.

xmlsec's own template helpers create some nodes (ds:Transforms) whose names lxml did not
intern, and lxml's find() then silently misses them in the caller's tree; nodes built here
behave like any other element. Signing only writes the DigestValue, SignatureValue and
X509Certificate texts.

A template's shape (algorithms, transforms, prefix lists) repeats from one signature to the
next, so each shape is built once per thread and deep-copied (one C call) for every signature;
only the Reference URIs differ.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from . import ns

_DS = {"ds": ns.DS}
REFERENCE = ns.tag(ns.DS, "Reference")
_SHAPES = 64  # templates kept per thread
_built = threading.local()  # lxml trees are not shared between threads


@dataclass(frozen=True)
class Ref:
    uri: str
    transforms: Sequence[str]
    inclusive_prefixes: Sequence[str] = ()  # PrefixList for an exclusive C14N transform


def _sub(parent: etree._Element, name: str, **attrib: str) -> etree._Element:
    return etree.SubElement(parent, ns.tag(ns.DS, name), attrib)


def signature(c14n: str, method: str, refs: Sequence[Ref], digest: str = ns.SHA256,
              token_uri: str | None = None) -> etree._Element:
    """A ds:Signature template, as `build` makes it, from a copy of the same shape built earlier."""
    shape = (c14n, method, digest, tuple((tuple(r.transforms), tuple(r.inclusive_prefixes)) for r in refs),
             token_uri is not None)
    cache = getattr(_built, "shapes", None)
    if cache is None:
        cache = _built.shapes = OrderedDict()
    prebuilt = cache.get(shape)
    if prebuilt is None:
        prebuilt = cache[shape] = build(c14n, method, [Ref("", r.transforms, r.inclusive_prefixes) for r in refs],
                                        digest, None if token_uri is None else "")
        if len(cache) > _SHAPES:
            cache.popitem(last=False)
    else:
        cache.move_to_end(shape)
    sig = prebuilt.__deepcopy__(None)  # copy.deepcopy without its Python-level dispatch
    for reference, ref in zip(sig[0].iterchildren(REFERENCE), refs, strict=True):
        reference.set("URI", ref.uri)
    if token_uri is not None:
        sig[2][0][0].set("URI", token_uri)  # KeyInfo/SecurityTokenReference/Reference
    return sig


def build(c14n: str, method: str, refs: Sequence[Ref], digest: str = ns.SHA256,
          token_uri: str | None = None) -> etree._Element:
    """A ds:Signature template made element by element.

    With `token_uri`, ds:KeyInfo holds a wsse:SecurityTokenReference to that BinarySecurityToken
    (KeyInfo is not signed content, so it may be there before signing). The wsse prefix is then
    declared on ds:Signature, where it disappears once the Signature is placed inside the
    wsse:Security header that declares it too.
    """
    sig = etree.Element(ns.SIGNATURE, nsmap=_DS if token_uri is None else {**_DS, "wsse": ns.WSSE})
    info = _sub(sig, "SignedInfo")
    _sub(info, "CanonicalizationMethod", Algorithm=c14n)
    _sub(info, "SignatureMethod", Algorithm=method)
    for ref in refs:
        reference = _sub(info, "Reference", URI=ref.uri)
        transforms = _sub(reference, "Transforms")
        for uri in ref.transforms:
            transform = _sub(transforms, "Transform", Algorithm=uri)
            if uri == ns.EXC_C14N and ref.inclusive_prefixes:
                etree.SubElement(transform, ns.tag(ns.EXC_C14N_NS, "InclusiveNamespaces"),
                                 PrefixList=" ".join(ref.inclusive_prefixes), nsmap={"ec": ns.EXC_C14N_NS})
        _sub(reference, "DigestMethod", Algorithm=digest)
        _sub(reference, "DigestValue")
    _sub(sig, "SignatureValue")
    if token_uri is not None:
        token_reference = etree.SubElement(key_info(sig), ns.STR)
        etree.SubElement(token_reference, ns.WSSE_REFERENCE, URI=token_uri, ValueType=ns.X509V3)
    return sig


def key_info(sig: etree._Element) -> etree._Element:
    return _sub(sig, "KeyInfo")


def x509_certificate_slot(sig: etree._Element) -> etree._Element:
    """KeyInfo/X509Data/X509Certificate, left empty for the signer to write the certificate into."""
    return _sub(_sub(key_info(sig), "X509Data"), "X509Certificate")
