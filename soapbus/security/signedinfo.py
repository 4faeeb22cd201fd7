"""Reading a ds:Signature before any cryptography: only the algorithms and shapes we allow.

A general XML-DSig engine would happily run XPath or XSLT transforms, follow external URIs,
or check SHA-1; each of those is an avenue to make a signature "valid" over something other
than what the application reads. So the SignedInfo is inspected first, and the cryptography
(soapbus.security.crypto, or xmlsec for the shapes it leaves to xmlsec) later runs only
algorithms from the same list.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from lxml import etree

from . import algorithms, faults, ns

_DS = {name: ns.tag(ns.DS, name) for name in (
    "SignedInfo", "SignatureValue", "KeyInfo", "CanonicalizationMethod", "SignatureMethod", "Reference",
    "Transforms", "Transform", "DigestMethod", "DigestValue")}
_INCLUSIVE_NAMESPACES = ns.tag(ns.EXC_C14N_NS, "InclusiveNamespaces")


class Reference(NamedTuple):
    uri: str | None
    transforms: tuple[str, ...]
    digest_method: str
    # PrefixList of an exclusive-C14N transform, which changes what the digest covered.
    inclusive_prefixes: tuple[str, ...] = ()
    digest_value: str = ""  # the DigestValue text, whitespace removed


class SignedInfo(NamedTuple):
    c14n_method: str
    signature_method: str
    references: tuple[Reference, ...]
    signature_value: str
    # PrefixList of an exclusive CanonicalizationMethod; None when the method carries
    # parameters soapbus.security.crypto does not compute (xmlsec then decides).
    c14n_prefixes: tuple[str, ...] | None = ()

    def algorithms(self) -> set[str]:
        """Every algorithm URI the check will run for this signature."""
        used = {self.c14n_method, self.signature_method}
        for ref in self.references:
            used.update(ref.transforms)
            used.add(ref.digest_method)
        return used


@dataclass(frozen=True)
class Rules:
    c14n_methods: frozenset[str]
    transforms: frozenset[str]
    allow_sha1: bool


def _children(parent: etree._Element) -> list[etree._Element]:
    # len() counts every child node: none at all needs no closer look (the common case)
    return list(parent.iterchildren(etree.Element)) if len(parent) else []


def _algorithm(element: etree._Element, allowed: frozenset[str], what: str) -> str:
    uri = element.get("Algorithm")
    if uri not in allowed:
        raise faults.invalid(f"{what} {uri!r} is not accepted; allowed: {', '.join(sorted(allowed))}")
    return uri


def read(signature: etree._Element, rules: Rules) -> SignedInfo:
    children = _children(signature)
    names = [c.tag for c in children]
    if names[:2] != [_DS["SignedInfo"], _DS["SignatureValue"]] or any(t != _DS["KeyInfo"] for t in names[2:]):
        raise faults.invalid("ds:Signature must hold SignedInfo, SignatureValue and optionally KeyInfo, in "
                             "that order (ds:Object and other content are not accepted)")
    signed_info, value = children[0], children[1]
    parts = _children(signed_info)
    if len(parts) < 3 or parts[0].tag != _DS["CanonicalizationMethod"] or parts[1].tag != _DS["SignatureMethod"]:
        raise faults.invalid("ds:SignedInfo must hold CanonicalizationMethod, SignatureMethod and references")
    c14n = _algorithm(parts[0], rules.c14n_methods, "CanonicalizationMethod")
    method = _algorithm(parts[1], algorithms.signature_methods(rules.allow_sha1), "SignatureMethod")
    if _children(parts[1]):
        raise faults.invalid("ds:SignatureMethod parameters (such as HMACOutputLength) are not accepted")
    digests = algorithms.digest_methods(rules.allow_sha1)
    references = tuple([_reference(r, rules, digests) for r in parts[2:]])
    return SignedInfo(c14n, method, references, "".join((value.text or "").split()), _c14n_prefixes(parts[0], c14n))


def _c14n_prefixes(method: etree._Element, uri: str) -> tuple[str, ...] | None:
    """No parameters, or (exclusive C14N only) one InclusiveNamespaces: its PrefixList; else None."""
    params = _children(method)
    if not params:
        return ()
    if uri in algorithms.EXCLUSIVE_C14N and len(params) == 1 and params[0].tag == _INCLUSIVE_NAMESPACES:
        return tuple((params[0].get("PrefixList") or "").split())
    return None


_TRANSFORMS, _DIGEST_METHOD, _DIGEST_VALUE = _DS["Transforms"], _DS["DigestMethod"], _DS["DigestValue"]


def _reference(reference: etree._Element, rules: Rules, digests: frozenset[str]) -> Reference:
    if reference.tag != _DS["Reference"]:
        raise faults.invalid(f"ds:SignedInfo holds an unexpected {reference.tag}")
    parts = _children(reference)
    transforms: list[str] = []
    prefixes: tuple[str, ...] = ()
    if parts and parts[0].tag == _TRANSFORMS:
        for transform in _children(parts.pop(0)):
            uri, found = _transform(transform, rules)
            transforms.append(uri)
            prefixes = prefixes or found
    if len(parts) != 2 or parts[0].tag != _DIGEST_METHOD or parts[1].tag != _DIGEST_VALUE:
        raise faults.invalid("ds:Reference must hold Transforms?, DigestMethod and DigestValue")
    digest = _algorithm(parts[0], digests, "DigestMethod")
    value = "".join((parts[1].text or "").split())
    return Reference(reference.get("URI"), tuple(transforms), digest, prefixes, value)


def _transform(transform: etree._Element, rules: Rules) -> tuple[str, tuple[str, ...]]:
    if transform.tag != _DS["Transform"]:
        raise faults.invalid(f"ds:Transforms holds an unexpected {transform.tag}")
    uri = _algorithm(transform, rules.transforms, "Transform")
    params = _children(transform)
    if not params:
        return uri, ()
    if uri in algorithms.EXCLUSIVE_C14N and len(params) == 1 and params[0].tag == _INCLUSIVE_NAMESPACES:
        return uri, tuple((params[0].get("PrefixList") or "").split())
    raise faults.invalid(f"Transform {uri} carries parameters that are not accepted")
