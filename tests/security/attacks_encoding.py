"""Attack builders for two classes of the attack table (test_attacks.py): a signature value written
anew to pass a replay memory, and the namespace context around signed parts.

Each builder takes (lab, verifier) and returns the bytes an attacker sends, as in test_attacks.py.
`UNTOUCHED` builds the namespace shapes as their signer sent them: the positive controls,
which the Verifier must accept (the #default one was refused before soapbus honoured #default).
"""
from __future__ import annotations

from lxml import etree

from soapbus.security import ns, sign_envelope

from .support import (PROFILE_NS, base64_rewrapped, base64_spare_bits_set, ecdsa_negated_s, envelope, resign,
                      signature, signed, wire, with_signature_value)

QNAMES = "urn:example:qnames"  # the namespace of a QName written as text: no element name uses it


# ---------------------------------------------------------------- a signature value written anew


def _accepted_then_rewritten(verifier, key, source: str, rewrite) -> bytes:
    data = wire(signed(key, source=source, with_nonce=False))  # no Nonce: only the signature memory can tell
    verifier.verify(data)
    return with_signature_value(data, rewrite)


def replayed_ecdsa_negated_s(lab, v):
    return _accepted_then_rewritten(v, lab.keys.ecdsa, "SCADA", ecdsa_negated_s)


def replayed_base64_spare_bits(lab, v):
    return _accepted_then_rewritten(v, lab.keys.mdms, "MDMS", base64_spare_bits_set)


def replayed_base64_rewrapped(lab, v):
    return _accepted_then_rewritten(v, lab.keys.mdms, "MDMS", base64_rewrapped)


# ---------------------------------------------------------------- namespaces around signed parts


def _command_in_default_namespace() -> bytes:
    """A signed message whose command element is unprefixed, its default namespace declared on the Envelope."""
    data = wire(envelope())
    data = data.replace(b"<soapenv:Envelope ", f'<soapenv:Envelope xmlns="{PROFILE_NS}" '.encode(), 1)
    data = data.replace(b"<edc:command>", b"<command>").replace(b"</edc:command>", b"</command>")
    return data


def _signed_command_in_default_namespace(lab) -> bytes:
    return wire(sign_envelope(etree.fromstring(_command_in_default_namespace()), lab.keys.mdms,
                              sign_parts=("Body", "Timestamp", "Header")))


def default_namespace_rebound_outside(lab, v):
    """The Envelope's default namespace changed: the signed, unprefixed command now means another element."""
    return _signed_command_in_default_namespace(lab).replace(f'xmlns="{PROFILE_NS}"'.encode(),
                                                             b'xmlns="urn:attacker"', 1)


def undeclaration_injected(lab, v):
    """xmlns="" put on the signed command: the same text, now an element in no namespace."""
    return _signed_command_in_default_namespace(lab).replace(b"<command>", b'<command xmlns="">', 1)


def _qname_in_default_namespace(lab) -> bytes:
    """The command's text is a QName in the default namespace, which only the Envelope declares (no element
    uses it); the Body reference lists #default so that the declaration is signed, as WSS4J does for QNames."""
    data = wire(envelope(command="Disconnect"))
    data = data.replace(b"<soapenv:Envelope ", f'<soapenv:Envelope xmlns="{QNAMES}" '.encode(), 1)
    env = etree.fromstring(data)
    env = sign_envelope(env, lab.keys.mdms, sign_parts=("Body", "Timestamp", "Header"))
    body_id = env.find(ns.SOAP_BODY).get(ns.WSU_ID)
    reference = signature(env).find(f".//{{{ns.DS}}}Reference[@URI='#{body_id}']")
    transform = reference.find(f"{{{ns.DS}}}Transforms/{{{ns.DS}}}Transform")
    etree.SubElement(transform, ns.tag(ns.EXC_C14N_NS, "InclusiveNamespaces"), PrefixList="#default",
                     nsmap={"ec": ns.EXC_C14N_NS})
    return wire(resign(env, lab.keys.mdms))


def default_namespace_listed_then_rebound(lab, v):
    """The default namespace of a signed QName (listed as #default) rebound on the Envelope."""
    return _qname_in_default_namespace(lab).replace(f'xmlns="{QNAMES}"'.encode(), b'xmlns="urn:attacker"', 1)


UNTOUCHED = {
    "command-in-default-namespace": _signed_command_in_default_namespace,
    "qname-in-default-namespace-listed": _qname_in_default_namespace,
}
