"""What the operator console shows, read from the store: journal search, one conversation, the outbox,
subscriptions and routes, conformance reports. Plain data for the Jinja2 templates (which escape it);
runs in the thread pool. The pages and the access rules are in console.py.
"""
from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography import x509
from lxml import etree

from ..message import MessageError, parse_bytes
from ..security import ns as wss_ns
from ..store import JournalQuery

SHOWN_BYTES = 256 * 1024  # a message longer than this is shown cut, with a note
SEARCH_FIELDS = ("message_id", "correlation_id", "source", "noun", "verb", "outcome", "reply_code", "direction")
OUTCOMES = ("processed", "rejected", "duplicate", "failed", "replied", "busy")
DSIG = "http://www.w3.org/2000/09/xmldsig#"


class FormError(ValueError):
    """A console form or query field that cannot be used; the message names it."""


# ---------------------------------------------------------------- journal


def journal_query(args: dict[str, str]) -> JournalQuery:
    """The search form's fields (empty ones ignored) as a JournalQuery; times are UTC."""
    values = {name: args.get(name, "").strip() or None for name in SEARCH_FIELDS}
    if values["direction"] not in (None, "in", "out"):
        raise FormError("direction must be in or out")
    limit_text = args.get("limit", "").strip() or "100"
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= 1000:
        raise FormError("limit must be a number from 1 to 1000")
    return JournalQuery(**values, since=_utc_time(args.get("since"), "since"),
                        until=_utc_time(args.get("until"), "until"), limit=int(limit_text))


def _utc_time(text: str | None, field: str) -> datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FormError(f"{field}: {text!r} is not a time; write 2026-11-26T10:00 (UTC)") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


@dataclass
class ShownMessage:
    """One journal entry as the conversation page shows it."""

    entry: object  # store.JournalEntry, with raw
    pretty: str
    cut: bool
    signature: str  # what the signature status is, in words
    signature_state: str  # css class: signed, refused, unsigned


def shown(entry) -> ShownMessage:
    raw = entry.raw or b""
    text, cut = pretty_xml(raw[:SHOWN_BYTES]), len(raw) > SHOWN_BYTES
    state, words = signature_status(entry)
    return ShownMessage(entry, text, cut, words, state)


def pretty_xml(raw: bytes) -> str:
    """Indented XML when the bytes parse (with the hardened parser), else the bytes as text."""
    try:
        root = parse_bytes(raw, "journal entry")
    except MessageError:
        return raw.decode("utf-8", "replace")
    root = etree.fromstring(etree.tostring(root), etree.XMLParser(remove_blank_text=True, resolve_entities=False,
                                                                  no_network=True))
    return etree.tostring(root, pretty_print=True, encoding="unicode")


def signature_status(entry) -> tuple[str, str]:
    """(state, words): whether the message was signed, by whom, and what became of the signature.

    An inbound signed message that was not refused for its security was verified on receipt (the
    server processes nothing else); a refusal's reason is the verifier's."""
    signer, signed = _signer(entry.raw or b"")
    security_refusal = (entry.direction == "in" and entry.outcome == "rejected"
                        and (entry.reply_code or "").startswith("wsse:"))
    if security_refusal:
        return "refused", f"refused: {entry.reason or entry.reply_code}"
    if not signed:
        return "unsigned", "unsigned"
    who = f" by {signer}" if signer else ""
    if entry.direction == "in":
        return "signed", f"signed{who}; verified on receipt"
    return "signed", f"signed{who} (this server's answer)"


def _signer(raw: bytes) -> tuple[str | None, bool]:
    try:
        root = parse_bytes(raw, "journal entry")
    except MessageError:
        return None, False
    if not root.findall(f".//{{{DSIG}}}Signature"):
        return None, False
    token = root.find(f".//{{{wss_ns.WSSE}}}BinarySecurityToken")
    certificate = token if token is not None else root.find(f".//{{{DSIG}}}X509Certificate")
    if certificate is None or not (certificate.text or "").strip():
        return None, True
    try:
        import base64

        cert = x509.load_der_x509_certificate(base64.b64decode("".join(certificate.text.split())))
    except ValueError:
        return None, True
    return cert.subject.rfc4514_string(), True


# ---------------------------------------------------------------- outbox, subscriptions, routes


def outbox_view(store, status: str) -> dict:
    if status not in ("pending", "dead", "delivered"):
        raise FormError("status must be pending, dead or delivered")
    return {"which": status, "counts": store.outbox_counts(), "items": store.outbox_list(status, 200),
            "oldest": store.outbox_oldest_pending()}


def endpoint_field(form: dict[str, str], broker_ok: bool) -> str:
    endpoint = form.get("endpoint", "").strip()
    schemes = ("http://", "https://", "queue:", "topic:") if broker_ok else ("http://", "https://")
    if not endpoint.startswith(schemes):
        raise FormError(f"endpoint must start with {', '.join(schemes)}")
    return endpoint


def optional(form: dict[str, str], name: str) -> str | None:
    return form.get(name, "").strip() or None


def style_field(form: dict[str, str]) -> str:
    style = form.get("style", "generic")
    if style not in ("generic", "typed"):
        raise FormError("style must be generic or typed")
    return style


def id_field(form: dict[str, str], name: str = "id") -> int:
    text = form.get(name, "").strip()
    if not text.isdigit():
        raise FormError(f"{name} must be a number")
    return int(text)


# ---------------------------------------------------------------- conformance reports


@dataclass
class ReportEntry:
    name: str
    written: datetime
    tests: int
    failures: int
    errors: int
    skipped: int

    @property
    def verdict(self) -> str:
        return "failed" if self.failures or self.errors else "passed"


def reports(folder: Path | None) -> list[ReportEntry]:
    """Report folders (each with report.html) under `folder`, newest first, counted from their junit.xml."""
    if folder is None or not folder.is_dir():
        return []
    found = []
    for report in folder.glob("*/report.html"):
        counts = _junit_counts(report.parent / "junit.xml")
        found.append(ReportEntry(report.parent.name, datetime.fromtimestamp(report.stat().st_mtime, timezone.utc),
                                 *counts))
    if (folder / "report.html").is_file():  # a --report folder used directly
        counts = _junit_counts(folder / "junit.xml")
        found.append(ReportEntry(".", datetime.fromtimestamp((folder / "report.html").stat().st_mtime,
                                                             timezone.utc), *counts))
    return sorted(found, key=lambda r: r.written, reverse=True)


def _junit_counts(path: Path) -> tuple[int, int, int, int]:
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        return 0, 0, 0, 0
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    total = [0, 0, 0, 0]
    for suite in suites:
        for i, name in enumerate(("tests", "failures", "errors", "skipped")):
            value = suite.get(name, "0")
            total[i] += int(value) if value.isdigit() else 0
    return tuple(total)


def report_file(folder: Path | None, name: str, file_name: str) -> Path | None:
    """A report's file, only by the names a report folder holds and never outside `folder`."""
    if folder is None or file_name not in ("report.html", "junit.xml") or "/" in name or "\\" in name \
            or name in ("", ".."):
        return None
    path = (folder / name / file_name).resolve() if name != "." else (folder / file_name).resolve()
    if folder.resolve() not in path.parents or not path.is_file():
        return None
    return path


__all__ = ["journal_query", "shown", "pretty_xml", "signature_status", "outbox_view", "reports", "report_file",
           "FormError", "OUTCOMES", "endpoint_field", "optional", "style_field", "id_field"]
