"""The 61968-100 message envelope as plain data (its XML form: build.py and parse.py).

Parsing accepts both spellings of the message namespace and the strongly typed carriers
(`<CreateMeterReadings>` whose Header/Request/Payload children sit in the per-noun message
namespace); building always emits the standard namespace, every field in the schema's order.
Profile documents inside a Payload stay lxml elements: they are never mapped to objects here.
"""
from __future__ import annotations

import base64
import gzip
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lxml import etree

from . import codes
from .errors import MessageError
from .namespaces import ABSTRACT, MSG_ACCEPTED, SOAP11_ENV

_ENVELOPE_NAMESPACES = (*MSG_ACCEPTED, SOAP11_ENV, ABSTRACT)

E = etree.Element
SE = etree.SubElement


DEFAULT_MAX_INFLATED = 32 * 1024 * 1024  # bytes a Compressed payload may inflate to


def inflate(gz: bytes, max_bytes: int) -> bytes:
    """Gunzip `gz` (one or more members) as a stream, refusing (3.1) more than `max_bytes` of output."""
    return b"".join(inflated_chunks(gz, max_bytes))


INFLATE_CHUNK = 256 * 1024  # bytes of output per step of `inflated_chunks`


def inflated_chunks(gz: bytes, max_bytes: int, chunk: int = INFLATE_CHUNK):
    """Gunzip `gz` (one or more members) piece by piece: pieces of at most `chunk` bytes, never
    more than `max_bytes` in all (3.1 beyond), so that a reader of the pieces keeps none of them
    whole. A gzip stream cut short or not gzip at all: 1.8, raised where it is found."""
    if not gz:
        raise MessageError("1.8", "Payload/Compressed is empty", xpath="Payload/Compressed")
    total = 0
    rest = gz
    while rest:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing only, as 61968-100 says
        pending = rest
        while True:
            try:
                piece = inflater.decompress(pending, min(chunk, max_bytes + 1 - total))
            except zlib.error as exc:
                raise MessageError("1.8", f"Payload/Compressed is not base64 of gzip: {exc}",
                                   xpath="Payload/Compressed") from None
            total += len(piece)
            if total > max_bytes:
                raise MessageError("3.1", f"Payload/Compressed inflates to more than {max_bytes} bytes, this "
                                          "endpoint's limit; send fewer objects per message",
                                   xpath="Payload/Compressed")
            if piece:
                yield piece
            pending = inflater.unconsumed_tail
            if inflater.eof:
                break
            if not pending and not piece:
                raise MessageError("1.8", "Payload/Compressed is not base64 of gzip: the gzip stream is cut short",
                                   xpath="Payload/Compressed")
        rest = inflater.unused_data.lstrip(b"\0")  # members may follow; gzip(1) pads with zeros


def new_message_id() -> str:
    return str(uuid.uuid4())


def now() -> datetime:
    return datetime.now(timezone.utc)


def format_time(t: datetime) -> str:
    if t.tzinfo is None:
        raise ValueError("61968 timestamps carry a zone; got a naive datetime")
    return t.isoformat()


def parse_time(text: str, where: str) -> datetime:
    value = (text or "").strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MessageError("1.8", f"{where} is not an xs:dateTime: {value!r}", xpath=where) from None
    if parsed.tzinfo is None:  # xs:dateTime allows no zone; 61968 systems mean UTC when they omit it
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


def _parse_bool(text: str, where: str) -> bool:
    value = (text or "").strip()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise MessageError("1.8", f"{where} is not an xs:boolean: {value!r}", xpath=where)


# ---------------------------------------------------------------- data


@dataclass
class ID:
    value: str
    id_type: str | None = None
    id_authority: str | None = None
    kind: str | None = None  # name | uuid | transaction | other
    object_type: str | None = None


@dataclass
class ReplayDetection:
    nonce: str
    created: datetime


@dataclass
class User:
    user_id: str
    organization: str | None = None


@dataclass
class Header:
    verb: str
    noun: str
    revision: str | None = None
    replay_detection: ReplayDetection | None = None
    context: str | None = None
    timestamp: datetime | None = None
    source: str | None = None
    async_reply_flag: bool | None = None
    reply_address: str | None = None
    ack_required: bool | None = None
    user: User | None = None
    message_id: str | None = None
    correlation_id: str | None = None
    comment: str | None = None
    properties: list[tuple[str, str | None]] = field(default_factory=list)
    extensions: list[etree._Element] = field(default_factory=list)


@dataclass
class Request:
    start_time: datetime | None = None
    end_time: datetime | None = None
    options: list[tuple[str, str | None]] = field(default_factory=list)
    ids: list[ID] = field(default_factory=list)
    # A Get<Noun> query element (or other extension); overrides the simple filters.
    queries: list[etree._Element] = field(default_factory=list)


@dataclass
class Location:
    node: str | None = None
    pipeline: str | None = None
    stage: str | None = None


@dataclass
class Error:
    code: str
    level: str | None = None
    reason: str | None = None
    details: str | None = None
    xpath: str | None = None  # an xs:QName (prefix:local); the full path goes in details
    xpath_ns: dict[str, str] = field(default_factory=dict)  # prefix bindings for xpath
    stack_trace: str | None = None
    location: Location | None = None
    id: ID | None = None
    related_id: ID | None = None
    operation_id: int | None = None


@dataclass
class Reply:
    result: str
    errors: list[Error] = field(default_factory=list)
    ids: list[ID] = field(default_factory=list)
    extensions: list[etree._Element] = field(default_factory=list)
    operation_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.result == codes.OK


@dataclass
class Payload:
    documents: list[etree._Element] = field(default_factory=list)
    operation_set: etree._Element | None = None
    compressed: str | None = None  # base64 text of a gzip stream
    ids: list[ID] = field(default_factory=list)
    format: str | None = None

    @classmethod
    def compress(cls, document: etree._Element, fmt: str | None = "XML") -> "Payload":
        raw = etree.tostring(document, encoding="utf-8")
        return cls(compressed=base64.b64encode(gzip.compress(raw)).decode("ascii"), format=fmt)

    def expanded_documents(self, max_inflated: int = DEFAULT_MAX_INFLATED, limits=None) -> list[etree._Element]:
        """The profile documents, inflating a Compressed payload where there is one.

        Inflation stops at `max_inflated` bytes (3.1 beyond): a 1 MB gzip stream can hold a
        gigabyte. The inflated document is parsed under the same `limits` as any message.
        """
        if self.compressed is None:
            return list(self.documents)
        from .xml import DEFAULT_LIMITS, parse_bytes  # local: xml imports envelope-free helpers only

        try:
            gz = base64.b64decode(self.compressed, validate=False)
        except ValueError as exc:
            raise MessageError("1.8", f"Payload/Compressed is not base64: {exc}", xpath="Payload/Compressed") from None
        raw = inflate(gz, max_inflated)
        return [parse_bytes(raw, what="Payload/Compressed", limits=limits or DEFAULT_LIMITS)]


@dataclass
class RequestMessage:
    header: Header
    request: Request | None = None
    payload: Payload | None = None
    kind = "RequestMessage"


@dataclass
class ResponseMessage:
    header: Header
    reply: Reply
    payload: Payload | None = None
    kind = "ResponseMessage"


@dataclass
class EventMessage:
    header: Header
    payload: Payload | None = None
    kind = "EventMessage"


@dataclass
class FaultMessage:
    reply: Reply
    kind = "FaultMessage"


Message = RequestMessage | ResponseMessage | EventMessage | FaultMessage
KINDS = ("RequestMessage", "ResponseMessage", "EventMessage", "FaultMessage")


# Header element names as the schema spells them -> Header attribute names.
HEADER_FIELDS = {
    "Verb": "verb", "Noun": "noun", "Revision": "revision", "ReplayDetection": "replay_detection",
    "Context": "context", "Timestamp": "timestamp", "Source": "source", "AsyncReplyFlag": "async_reply_flag",
    "ReplyAddress": "reply_address", "AckRequired": "ack_required", "User": "user", "MessageID": "message_id",
    "CorrelationID": "correlation_id", "Comment": "comment",
}


# Building and parsing live in their own modules; they are re-exported here, where callers
# have always found them.
from .build import build_header, build_payload, build_reply, build_request, to_bytes, to_element  # noqa: E402
from .parse import (kind_of, parse, parse_header, parse_payload, parse_reply,  # noqa: E402
                    parse_request)

__all__ = ["ID", "KINDS", "HEADER_FIELDS", "Error", "EventMessage", "FaultMessage", "Header", "Location", "Message",
           "Payload", "ReplayDetection", "Reply", "Request", "RequestMessage", "ResponseMessage", "User",
           "format_time", "new_message_id", "now", "parse_time", "build_header", "build_payload", "build_reply",
           "build_request", "to_bytes", "to_element", "kind_of", "parse", "parse_header", "parse_payload",
           "parse_reply", "parse_request"]
