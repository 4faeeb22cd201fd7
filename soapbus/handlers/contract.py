"""What a handler receives, what it may use, and what it answers: the types of the DMS contract.

Everything here is data or a Protocol; nothing runs a request. The server (soapbus.server)
builds a `HandlerRequest` from the one parsed message of each request, runs the middleware
and the handler inside the request's transaction, and turns what they return or raise into
the 61968 answer. See docs/handlers.md.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from lxml import etree
from sqlalchemy import Result
from sqlalchemy.sql import Executable

from ..message import ID, Error, EventMessage, Payload, Reply, RequestMessage, ResponseMessage, codes
from ..profiles import Noun, objects
from ..profiles.stream import StreamedDocument
from ..store import ObjectName, StoredObject

# Reply codes that say "nothing was done, send the same message again later": an answer made only
# of them is not kept as the message's answer (see docs/handlers.md, "Errors").
TRY_AGAIN_CODES = frozenset({"3.2", "4.1", "5.1", "5.2"})


# ---------------------------------------------------------------- who is asking


@dataclass(frozen=True)
class Identity:
    """Who sent the request, as soapbus established it before any handler ran."""

    source: str | None  # Header/Source, as sent (bound to the signer where the request was signed)
    signer: str | None  # RFC 4514 subject of the verified signing certificate; None: not signed
    interface: str | None  # the noun's 61968 interface (I1 ... I9); signed ones are I1 and I9 by default
    peer: str | None  # the caller's network address; for a request a middleware submitted, the name it gave

    @property
    def signed(self) -> bool:
        return self.signer is not None


# ---------------------------------------------------------------- the unit of work


class UnitOfWork(Protocol):
    """The store operations a handler (or middleware) may use. All of them run in the request's
    one database transaction: committed together with the journal, the idempotency claim and
    the reply, rolled back with them (and with a HandlerError, or with a failed Operation of an
    OperationSet). Keys are the object's mRID, else `name:<NameType>:<name>`."""

    def object_get(self, noun: str, key: str) -> StoredObject | None:
        """The stored object of `noun` under `key`, or None."""

    def object_find_by_name(self, noun: str, name: str, name_type: str | None = None) -> list[StoredObject]:
        """The objects of `noun` carrying Names/name `name` (of NameType `name_type` when given)."""

    def object_insert(self, noun: str, key: str, item_type: str, xml: bytes,
                      names: Iterable[ObjectName] = ()) -> StoredObject:
        """Store a new object; raises DuplicateObject when (noun, key) exists (the transaction goes on)."""

    def object_update(self, noun: str, key: str, xml: bytes, names: Iterable[ObjectName] | None = None,
                      item_type: str | None = None) -> StoredObject:
        """Replace an object's XML (and names, when given); raises UnknownObject when absent."""

    def object_set_status(self, noun: str, key: str, status: str) -> StoredObject:
        """Set status: active, canceled, closed or executed; raises UnknownObject when absent."""

    def object_delete(self, noun: str, key: str) -> bool:
        """Remove an object; False when there was none."""

    def object_list(self, noun: str, keys: Sequence[str] | None = None, since: datetime | None = None,
                    until: datetime | None = None, limit: int | None = None) -> list[StoredObject]:
        """Objects ordered by key, filtered by keys and by since <= last change < until."""

    def execute(self, statement: Executable | str,
                parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None) -> Result:
        """One SQL statement on your own tables (registered with `registry.add_tables`), in this
        transaction: a SQLAlchemy Core statement, or a string of SQL with :name parameters."""

    def savepoint(self) -> AbstractContextManager[UnitOfWork]:
        """A nested transaction: what is done inside is undone alone when an exception leaves it."""


# ---------------------------------------------------------------- the request


class StreamedDocuments(Sequence):
    """The `documents` of a request whose large Compressed payload was validated as a stream
    (profiles/stream.py): a sequence of one document, made a tree only when a reader asks for it
    by index or iteration. `HandlerRequest.items` reads it without a tree as long as nobody has."""

    def __init__(self, stream: StreamedDocument):
        self.stream = stream
        self._tree: list[etree._Element] | None = None

    @property
    def is_tree(self) -> bool:
        return self._tree is not None

    def _documents(self) -> list[etree._Element]:
        if self._tree is None:
            self._tree = [self.stream.document()]
        return self._tree

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index):
        return self._documents()[index]

    def __iter__(self):
        return iter(self._documents())


@dataclass(frozen=True)
class HandlerRequest:
    """One request for one handler: a whole message, or one Operation of an OperationSet."""

    message: RequestMessage | EventMessage | ResponseMessage  # the parsed message (for an Operation, its own)
    noun: Noun  # the noun's entry in the noun table (name, item, interface, editions, ...)
    verb: str  # normalised: lower case, `update` arrives as `change`
    documents: Sequence[etree._Element]  # the payload's documents, each valid against its edition's profile
    identity: Identity
    uow: UnitOfWork
    operation_id: int | None = None  # the Operation of an OperationSet this is, else None
    element_operation: bool = False  # an Operation with elementOperation=true (documents name parts)
    context: dict[str, Any] = field(default_factory=dict)  # yours: middleware and handler share it
    submitter: Callable[[RequestMessage, str], Reply] | None = field(default=None, repr=False, compare=False)

    @property
    def peer(self) -> str | None:
        return self.identity.peer

    def items(self) -> Iterator[tuple[int, etree._Element]]:
        """(position in its document, from 1; item) of every item of the payload (each MeterReading of
        a MeterReadings document), document after document. A large Compressed payload is read as
        a stream here, never as one tree: each item is usable only until the next is asked for, so
        keep values or copies (`copy.deepcopy(item)`), not the element."""
        if isinstance(self.documents, StreamedDocuments) and not self.documents.is_tree:
            yield from self.documents.stream.items()
            return
        for document in self.documents:
            yield from enumerate(objects.items(self.noun, document), start=1)

    @property
    def named_ids(self) -> list[ID]:
        """The IDs the message names: Request/ID, then Payload/ID (what get, cancel, close, delete
        and execute usually name their objects by)."""
        request = getattr(self.message, "request", None)
        named = list(request.ids) if request is not None else []
        payload = getattr(self.message, "payload", None)
        if payload is not None:
            named.extend(payload.ids)
        return named

    def submit(self, message: RequestMessage, peer: str) -> Reply:
        """Run a further request through this system's handlers and middleware, inside this
        transaction; it is journaled with `peer` as its caller, and publishes its own event."""
        if self.submitter is None:
            raise RuntimeError("this request was not built by the soapbus pipeline: it cannot submit requests")
        return self.submitter(message, peer)


# ---------------------------------------------------------------- the answer


@dataclass
class HandlerResult:
    """The reply (Result, Errors, IDs) and, for a get, the payload answered."""

    reply: Reply
    payload: Payload | None = None

    @property
    def ok(self) -> bool:
        return self.reply.result == codes.OK


def _as_id(ident: ID | str) -> ID:
    return ident if isinstance(ident, ID) else ID(str(ident))


def _check_code(code: str, *, success: bool) -> str:
    if code not in codes.CODES:
        raise ValueError(f"{code!r} is not a 61968 reply code (see soapbus.message.codes.CODES)")
    if codes.is_success(code) != success:
        kind = "a success (0.x)" if success else "a failure (not 0.x)"
        raise ValueError(f"reply code {code} ({codes.describe(code)}) is not {kind} code")
    return code


def warning(reason: str, ident: ID | str | None = None) -> Error:
    """A note on a successful answer (level WARNING, code 0.0), about one object when `ident` is given."""
    return Error(code="0.0", level="WARNING", reason=reason, id=_as_id(ident) if ident is not None else None)


def failure(ident: ID | str | None, code: str, reason: str, details: str | None = None) -> Error:
    """Why one object failed (level FATAL), for `partial`."""
    return Error(code=_check_code(code, success=False), level="FATAL", reason=reason, details=details,
                 id=_as_id(ident) if ident is not None else None)


def _payload(documents: Iterable[etree._Element]) -> Payload | None:
    documents = list(documents)
    return Payload(documents=documents, format="XML") if documents else None


def ok(*ids: ID | str, documents: Iterable[etree._Element] = (), warnings: Iterable[Error | str] = ()) -> HandlerResult:
    """Result OK (code 0.0): `ids` name the objects acted on (Reply/ID), `documents` are a get's
    payload (profile documents), `warnings` notes (strings or `warning(...)`)."""
    notes = [w if isinstance(w, Error) else warning(w) for w in warnings]
    return HandlerResult(Reply(result=codes.OK, errors=[Error(code="0.0"), *notes], ids=[_as_id(i) for i in ids]),
                         _payload(documents))


def partial(done: Iterable[ID | str], failures: Iterable[Error], *, documents: Iterable[etree._Element] = (),
            warnings: Iterable[Error | str] = ()) -> HandlerResult:
    """Some objects done, some not: PARTIAL with one `failure(...)` per object that failed. With
    nothing done it is FAILED, with nothing failed OK: the Result always says what happened."""
    done_ids = [_as_id(i) for i in done]
    failed = list(failures)
    if not failed:
        return ok(*done_ids, documents=documents, warnings=warnings)
    notes = [w if isinstance(w, Error) else warning(w) for w in warnings]
    result = codes.PARTIAL if done_ids else codes.FAILED
    return HandlerResult(Reply(result=result, errors=[*failed, *notes], ids=done_ids), _payload(documents))


class HandlerError(Exception):
    """Raise it to answer FAILED with this 61968 code; what the raising handler (or hook) did in
    the database is undone. `details` goes to Error/details; `ident` names the object concerned."""

    def __init__(self, code: str, reason: str, details: str | None = None, *, ident: ID | str | None = None):
        super().__init__(f"{code}: {reason}")
        self.code = _check_code(code, success=False)
        self.reason = reason
        self.details = details
        self.ident = _as_id(ident) if ident is not None else None

    @property
    def error(self) -> Error:
        return Error(code=self.code, level="FATAL", reason=self.reason, details=self.details, id=self.ident)

    def result(self) -> HandlerResult:
        return HandlerResult(Reply(result=codes.FAILED, errors=[self.error]))


# ---------------------------------------------------------------- handlers and middleware


@runtime_checkable
class Handler(Protocol):
    def __call__(self, request: HandlerRequest) -> HandlerResult: ...


class Middleware:
    """A hook around every handler call, in the shape of zeep's plugins: `ingress` sees the
    request before the handler (and may refuse it by raising HandlerError), `egress` sees the
    answer after it and returns the answer to send (the same one, or another). Both run inside
    the request's transaction. Subclass and override either; register an instance with
    `registry.use(...)`."""

    name: str = ""  # how logs name it; the class name when empty

    def ingress(self, request: HandlerRequest) -> None:
        return None

    def egress(self, request: HandlerRequest, result: HandlerResult) -> HandlerResult:
        return result

    def __str__(self) -> str:
        return self.name or type(self).__name__


__all__ = ["TRY_AGAIN_CODES", "Identity", "UnitOfWork", "HandlerRequest", "StreamedDocuments", "HandlerResult", "HandlerError",
           "Handler", "Middleware", "ok", "partial", "failure", "warning"]
