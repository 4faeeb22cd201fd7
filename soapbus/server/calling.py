"""Running one handler call: the middleware around it, the handler, and what either raises.

Each layer (every middleware, then the handler) runs in a savepoint of the request's unit of
work. A `HandlerError` undoes what the layer that raised it did (and everything it wrapped)
and becomes FAILED with its code; the layers outside see that answer. Any other exception is
a bug: it is logged with its traceback under a fresh reference, and `HandlerCrashed` carries
only that reference and where it happened to the caller's answer (5.3); the exception's text
never reaches the wire. `StoreUnavailable` (the database went away) passes through untouched:
it is answered 5.2 elsewhere (server/outage.py).
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from ..handlers import HandlerError, HandlerRequest, HandlerResult, Middleware
from ..handlers.registry import Registration, describe
from ..message import codes
from ..store import StoreUnavailable

log = logging.getLogger(__name__)


class HandlerCrashed(Exception):
    """A handler or middleware raised something other than HandlerError; logged under `reference`."""

    def __init__(self, reference: str, reason: str):
        super().__init__(reason)
        self.reference = reference
        self.reason = reason


def new_reference() -> str:
    return uuid.uuid4().hex[:12]


def _what(request: HandlerRequest) -> str:
    operation = f" (operation {request.operation_id})" if request.operation_id is not None else ""
    return f"the {request.verb} handler for {request.noun.name}{operation}"


def _checked(result: object, producer: str) -> HandlerResult:
    """A handler's or hook's answer, if it is one; a TypeError (a bug, logged) otherwise."""
    if not isinstance(result, HandlerResult):
        raise TypeError(f"{producer} returned {type(result).__name__}, not a HandlerResult "
                        "(build one with soapbus.handlers.ok(...), partial(...) or raise HandlerError)")
    if result.reply.result not in codes.RESULTS:
        raise TypeError(f"{producer} answered Result {result.reply.result!r}; it must be one of {codes.RESULTS}")
    return result


def _crash(request: HandlerRequest, culprit: str, exc: BaseException) -> HandlerCrashed:
    reference = new_reference()
    log.error("[ref %s] %s failed in %s (Source %s, MessageID %s): %s: %s", reference, _what(request), culprit,
              request.identity.source, request.message.header.message_id, type(exc).__name__, exc, exc_info=exc)
    return HandlerCrashed(reference, f"{_what(request)} failed (reference {reference}); the details are in "
                                     "the server's log under that reference")


def _innermost(request: HandlerRequest, registration: Registration) -> HandlerResult:
    return _checked(registration.handler(request), f"handler {registration.where}")


def _layer(request: HandlerRequest, registration: Registration, middleware: Sequence[Middleware],
           index: int) -> HandlerResult:
    culprit = describe(middleware[index]) if index < len(middleware) else registration.where
    try:
        with request.uow.savepoint():
            if index == len(middleware):
                return _innermost(request, registration)
            hook = middleware[index]
            hook.ingress(request)
            inner = _layer(request, registration, middleware, index + 1)
            return _checked(hook.egress(request, inner), f"the egress of middleware {culprit}")
    except HandlerError as refusal:  # its layer's work is undone; the answer says the code it chose
        return refusal.result()
    except (StoreUnavailable, HandlerCrashed):
        raise
    except Exception as exc:  # a bug in a handler or hook: 5.3 with a reference, never its text
        raise _crash(request, culprit, exc) from exc


def invoke(request: HandlerRequest, registration: Registration, middleware: Sequence[Middleware]) -> HandlerResult:
    """The answer of one handler call with its middleware; raises HandlerCrashed or StoreUnavailable."""
    return _layer(request, registration, tuple(middleware), 0)


__all__ = ["HandlerCrashed", "invoke", "new_reference"]
