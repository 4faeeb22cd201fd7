"""Which XML-DSig algorithms soapbus signs with and accepts; python-xmlsec handles for the shapes left to it."""
from __future__ import annotations

import xmlsec

from . import ns

# The names sign_envelope() and sign_62325() take, and the SignatureMethod URI each one means.
SIGNING = {"rsa-sha256": ns.RSA_SHA256, "ecdsa-sha256": ns.ECDSA_SHA256}

STRONG_SIGNATURE_METHODS = frozenset({ns.RSA_SHA256, ns.ECDSA_SHA256})
SHA1_SIGNATURE_METHODS = frozenset({ns.RSA_SHA1, ns.ECDSA_SHA1})

# Canonical XML 1.0 in its four forms: algorithm URI -> (exclusive?, keeps comments?).
# Which of them a signature may use is a policy's choice (signedinfo.Rules), not this table's.
C14N_FORMS = {
    ns.EXC_C14N: (True, False),
    ns.EXC_C14N_WITH_COMMENTS: (True, True),
    ns.C14N10: (False, False),
    ns.C14N10_WITH_COMMENTS: (False, True),
}
EXCLUSIVE_C14N = frozenset(uri for uri, (exclusive, _) in C14N_FORMS.items() if exclusive)

_TRANSFORMS = {
    ns.EXC_C14N: xmlsec.Transform.EXCL_C14N,
    ns.EXC_C14N_WITH_COMMENTS: xmlsec.Transform.EXCL_C14N_COMMENTS,
    ns.C14N10: xmlsec.Transform.C14N,
    ns.C14N10_WITH_COMMENTS: xmlsec.Transform.C14N_COMMENTS,
    ns.ENVELOPED: xmlsec.Transform.ENVELOPED,
    ns.RSA_SHA256: xmlsec.Transform.RSA_SHA256,
    ns.ECDSA_SHA256: xmlsec.Transform.ECDSA_SHA256,
    ns.RSA_SHA1: xmlsec.Transform.RSA_SHA1,
    ns.ECDSA_SHA1: xmlsec.Transform.ECDSA_SHA1,
    ns.SHA256: xmlsec.Transform.SHA256,
    ns.SHA1: xmlsec.Transform.SHA1,
}


_SIGNATURE_METHODS = {False: STRONG_SIGNATURE_METHODS, True: STRONG_SIGNATURE_METHODS | SHA1_SIGNATURE_METHODS}
_DIGEST_METHODS = {False: frozenset({ns.SHA256}), True: frozenset({ns.SHA256, ns.SHA1})}


def signature_methods(allow_sha1: bool) -> frozenset[str]:
    return _SIGNATURE_METHODS[bool(allow_sha1)]


def digest_methods(allow_sha1: bool) -> frozenset[str]:
    return _DIGEST_METHODS[bool(allow_sha1)]


def xmlsec_transform(uri: str):
    """The xmlsec transform for an algorithm URI that a policy has already allowed."""
    return _TRANSFORMS[uri]
