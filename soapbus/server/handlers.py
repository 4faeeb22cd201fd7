"""The one interface a DMS implements to put its own business logic behind soapbus.

A handler is any callable taking a `HandlerRequest` and returning a `HandlerResult`:

    from soapbus.server.handlers import HandlerRequest, HandlerResult, registry
    from soapbus.message import ok

    @registry.handles("EndDeviceControls", "create")
    def send_to_head_end(req: HandlerRequest) -> HandlerResult:
        for doc in req.documents:
            head_end.submit(doc)            # the DMS's own code
        return HandlerResult(ok())

soapbus has already parsed the envelope, checked the header, refused duplicates and
validated the payload against the noun's profile before a handler runs; the handler's
reply is journaled and stored for idempotent re-delivery in the same database transaction
as anything it does through `req.uow`. A handler that raises gets a FAILED 5.3 reply and
its transaction is rolled back.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from lxml import etree

from ..message import EventMessage, Payload, Reply, RequestMessage
from ..profiles import Noun

ANY = "*"


@dataclass
class HandlerRequest:
    message: RequestMessage | EventMessage
    noun: Noun
    verb: str  # normalised (update -> change)
    documents: list[etree._Element]  # the payload's profile documents, Compressed already inflated
    uow: Any  # the request's soapbus.store UnitOfWork: work done through it commits with the reply
    peer: str | None = None
    context: dict = field(default_factory=dict)  # free for middleware and handlers to share


@dataclass
class HandlerResult:
    reply: Reply
    payload: Payload | None = None


class Handler(Protocol):
    def __call__(self, request: HandlerRequest) -> HandlerResult: ...


class HandlerRegistry:
    """Handlers keyed by (noun, verb); `*` in either place is a fallback."""

    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str], Handler] = {}

    def register(self, noun: str, verb: str, handler: Handler) -> None:
        self._handlers[(noun, verb)] = handler

    def handles(self, noun: str = ANY, verb: str = ANY) -> Callable[[Handler], Handler]:
        def decorate(fn: Handler) -> Handler:
            self.register(noun, verb, fn)
            return fn
        return decorate

    def lookup(self, noun: str, verb: str) -> Handler | None:
        for key in ((noun, verb), (noun, ANY), (ANY, verb), (ANY, ANY)):
            if key in self._handlers:
                return self._handlers[key]
        return None

    def copy(self) -> "HandlerRegistry":
        clone = HandlerRegistry()
        clone._handlers = dict(self._handlers)
        return clone


# Handlers a DMS registers at import time; the server starts from a copy of this.
registry = HandlerRegistry()
