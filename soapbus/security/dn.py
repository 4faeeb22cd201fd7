"""Distinguished names as ds:X509IssuerName carries them: RFC 4514, and the way Java writes them.

Java signers (Apache Santuario, WSS4J) write an issuer with javax.security.auth.x500.X500Principal:
in RFC 2253 form, where an attribute type without a keyword there is a dotted OID and its
value '#' and the hex of its DER (`1.2.840.113549.1.9.1=#16106f7073406578616d706c652e6f7267`),
or in RFC 1779 form, with keywords such as EMAILADDRESS, spaces after the commas, quoted
values. cryptography's RFC 4514 parser knows none of those keywords and keeps a '#' value's
DER tag and length in the string. So a name is parsed here into its RDNs of (OID, value) and
compared with a certificate's issuer as X.500 matches names: RDN by RDN in the order written
(most specific first, the reverse of the DER), each attribute's value compared without case
and with runs of spaces as one (RFC 4518's string preparation, for the strings in use).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

_KEYWORDS = {
    "CN": NameOID.COMMON_NAME, "C": NameOID.COUNTRY_NAME, "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME, "S": NameOID.STATE_OR_PROVINCE_NAME, "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "STREET": NameOID.STREET_ADDRESS, "DC": NameOID.DOMAIN_COMPONENT,
    "UID": NameOID.USER_ID, "EMAILADDRESS": NameOID.EMAIL_ADDRESS, "E": NameOID.EMAIL_ADDRESS,
    "EMAIL": NameOID.EMAIL_ADDRESS, "SERIALNUMBER": NameOID.SERIAL_NUMBER, "T": NameOID.TITLE,
    "TITLE": NameOID.TITLE, "GIVENNAME": NameOID.GIVEN_NAME, "SURNAME": NameOID.SURNAME, "SN": NameOID.SURNAME,
    "INITIALS": NameOID.INITIALS, "GENERATION": NameOID.GENERATION_QUALIFIER,
    "DNQUALIFIER": NameOID.DN_QUALIFIER, "PSEUDONYM": NameOID.PSEUDONYM, "POSTALCODE": NameOID.POSTAL_CODE,
}
_OID = re.compile(r"(?:OID\.)?([0-2](?:\.[0-9]+)+)\Z", re.IGNORECASE)
# ASN.1 string types a DER value may hold: universal tag -> Python codec
_STRING_TAGS = {12: "utf-8", 18: "ascii", 19: "ascii", 20: "latin-1", 22: "ascii", 26: "ascii",
                28: "utf-32-be", 30: "utf-16-be"}
_SEPARATORS = ",;+"


class Unreadable(ValueError):
    """The text is not a distinguished name in any form read here."""


@dataclass(frozen=True)
class DistinguishedName:
    text: str  # as written
    rdns: tuple[frozenset[tuple[str, str]], ...]  # most specific first; (dotted OID, value as compared)

    def matches(self, name: x509.Name) -> bool:
        """Whether `name` (a certificate's issuer, say) is this name, however either was written."""
        return self.rdns == tuple(frozenset((a.oid.dotted_string, _comparable(a.value)) for a in rdn)
                                  for rdn in reversed(name.rdns))


def parse(text: str) -> DistinguishedName:
    """Read a distinguished name written as RFC 4514, RFC 2253 or RFC 1779 (Java) have it, or Unreadable."""
    reader = _Reader(text)
    rdns: list[frozenset[tuple[str, str]]] = []
    if text.strip():
        current: set[tuple[str, str]] = set()
        while True:
            oid = reader.attribute_type()
            current.add((oid, _comparable(reader.value())))
            separator = reader.separator()
            if separator != "+":
                rdns.append(frozenset(current))
                current = set()
            if separator is None:
                break
    return DistinguishedName(text, tuple(rdns))


def _comparable(value: str) -> str:
    return " ".join(value.split()).casefold()


class _Reader:
    def __init__(self, text: str):
        self.text = text
        self.at = 0

    def _spaces(self) -> None:
        while self.at < len(self.text) and self.text[self.at] == " ":
            self.at += 1

    def attribute_type(self) -> str:
        self._spaces()
        end = self.text.find("=", self.at)
        if end < 0:
            raise Unreadable(f"no '=' after position {self.at}")
        name = self.text[self.at:end].strip()
        self.at = end + 1
        oid = _KEYWORDS.get(name.upper())
        if oid is not None:
            return oid.dotted_string
        numeric = _OID.match(name)
        if numeric is None:
            raise Unreadable(f"unknown attribute type {name!r}")
        return numeric.group(1)

    def separator(self) -> str | None:
        self._spaces()
        if self.at == len(self.text):
            return None
        char = self.text[self.at]
        if char not in _SEPARATORS:
            raise Unreadable(f"expected ',' or '+' at position {self.at}, found {char!r}")
        self.at += 1
        return "+" if char == "+" else ","

    def value(self) -> str:
        self._spaces()
        if self.text.startswith("#", self.at):
            return self._der_value()
        if self.text.startswith('"', self.at):
            return self._quoted_value()
        return self._plain_value()

    def _der_value(self) -> str:
        start = self.at = self.at + 1
        while self.at < len(self.text) and self.text[self.at] in "0123456789abcdefABCDEF":
            self.at += 1
        try:
            return _der_string(bytes.fromhex(self.text[start:self.at]))
        except ValueError as exc:
            raise Unreadable(f"the value at position {start} is not the DER of a string: {exc}") from None

    def _quoted_value(self) -> str:
        self.at += 1
        out = bytearray()
        while self.at < len(self.text) and self.text[self.at] != '"':
            self._character(out)
        if self.at == len(self.text):
            raise Unreadable("a quoted value is not closed")
        self.at += 1
        return _utf8(out)

    def _plain_value(self) -> str:
        out = bytearray()
        significant = 0  # length of `out` up to the last character that is not an unescaped space
        while self.at < len(self.text) and self.text[self.at] not in _SEPARATORS:
            escaped = self.text[self.at] == "\\"
            self._character(out)
            if escaped or out[-1:] != b" ":
                significant = len(out)
        return _utf8(out[:significant])

    def _character(self, out: bytearray) -> None:
        """One character of a value, an escape (\\, and a special character, or two hex digits) resolved."""
        char = self.text[self.at]
        if char != "\\":
            out += char.encode("utf-8")
            self.at += 1
            return
        pair = self.text[self.at + 1:self.at + 3]
        if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
            out.append(int(pair, 16))
            self.at += 3
        elif self.at + 1 < len(self.text):
            out += self.text[self.at + 1].encode("utf-8")
            self.at += 2
        else:
            raise Unreadable("the name ends in a lone backslash")


def _utf8(octets: bytearray) -> str:
    try:
        return octets.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable("an escaped value is not UTF-8") from None


def _der_string(der: bytes) -> str:
    """The text of a DER-encoded ASN.1 string (tag, length, content)."""
    if len(der) < 2 or der[0] not in _STRING_TAGS:
        raise ValueError("not an ASN.1 string type")
    length, content = der[1], 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4 or len(der) < 2 + count:
            raise ValueError("bad length")
        length, content = int.from_bytes(der[2:2 + count], "big"), 2 + count
    if len(der) != content + length:
        raise ValueError("the length does not match the content")
    return der[content:].decode(_STRING_TAGS[der[0]])
