"""Binding a signer to the 61968 identities it may claim (Source, User, Organization).

A valid signature proves who signed, not that the signer may speak for the Source its
message names: MDMS must not send messages as OMS with MDMS's own certificate.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from . import faults
from .identity import of_accepted


@dataclass(frozen=True)
class Allowed:
    """What one certificate subject may claim; None leaves that field unchecked."""
    sources: frozenset[str]
    users: frozenset[str] | None = None
    organizations: frozenset[str] | None = None

    @classmethod
    def of(cls, value: "Allowed | str | Iterable[str]") -> "Allowed":
        if isinstance(value, Allowed):
            return value
        if isinstance(value, str):
            return cls(frozenset({value}))
        return cls(frozenset(value))


Binding = Mapping[str, "Allowed | str | Iterable[str]"]


def check_source_binding(verified, source: str | None, user: str | None = None,
                         organization: str | None = None, binding: Binding | None = None,
                         via_tls: bool = False) -> None:
    """Refuse (wsse:FailedAuthentication) claims the signer's certificate does not back.

    Default binding: the certificate's CN equals the Source, and a claimed Organization equals
    the certificate's O. With `binding`, keys are subject names (a CN, a SAN URI or DNS name,
    or the full RFC 4514 subject) and values say which Sources (and Users, Organizations)
    that subject may claim. `verified` is a Verified or Verified62325, or (`via_tls`) the client
    certificate a TLS handshake verified (server.tls.PeerCertificate): the same rules, other words.
    """
    who = of_accepted(verified.certificate).subject  # verified: its certificate was accepted
    if not source:
        holder = "TLS client certificate" if via_tls else "signer"
        raise faults.not_authenticated(f"the message names no Source, so its {holder} cannot be bound to one")
    if binding is None:
        _default_binding(verified, who, source, organization, via_tls)
        return
    allowed = _allowed_for(verified, who, binding)
    _claim("Source", source, [a.sources for a in allowed], who)
    if user is not None:
        _claim("User", user, [a.users for a in allowed], who)
    if organization is not None:
        _claim("Organization", organization, [a.organizations for a in allowed], who)


def _default_binding(verified, who: str, source: str, organization: str | None, via_tls: bool = False) -> None:
    names = of_accepted(verified.certificate)
    if source not in names.common_names:
        came = "arrived over TLS with client certificate" if via_tls else "is signed with certificate"
        raise faults.not_authenticated(
            f"the message claims Source {source!r} but {came} {who}, whose CN differs")
    if organization is not None and organization not in names.organizations:
        raise faults.not_authenticated(
            f"the message claims Organization {organization!r} but certificate {who} names another")


def _allowed_for(verified, who: str, binding: Binding) -> list[Allowed]:
    names = (who, *verified.subject_names)
    allowed = [Allowed.of(binding[name]) for name in names if name in binding]
    if not allowed:
        raise faults.not_authenticated(f"certificate {who} is not bound to any Source in this receiver's binding")
    return allowed


def _claim(field: str, value: str, allowed_sets: list[frozenset[str] | None], who: str) -> None:
    checked = [s for s in allowed_sets if s is not None]
    if not checked:
        return
    if not any(value in s for s in checked):
        permitted = sorted(set().union(*checked))
        raise faults.not_authenticated(
            f"the message claims {field} {value!r} but certificate {who} may only claim {permitted}")
