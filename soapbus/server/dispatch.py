"""Who answers a checked message: the OperationSet runner, or the handler registered for its
(noun, verb) with the middleware around it; and the requests a handler or middleware submits.

Runs inside the request's unit of work (the pipeline opens it, claims the message and
journals the answer); nothing here commits.
"""
from __future__ import annotations

import functools
import logging

from lxml import etree

from ..handlers import HandlerRegistry, HandlerRequest, HandlerResult, Identity, UnitOfWork
from ..message import Error, Reply, RequestMessage, ResponseMessage, codes, reply_to, verbs
from ..message import envelope as env
from ..profiles import Noun, validate_documents, verb_allowed
from ..profiles import get as get_noun
from . import operationset, patterns
from .calling import invoke

log = logging.getLogger(__name__)

# Requests submitted from inside requests (a rule's action causing events that match rules
# again) stop here: the deeper one is answered 5.2, not attempted.
MAX_SUBMIT_DEPTH = 3


def _failed(code: str, reason: str) -> HandlerResult:
    return HandlerResult(Reply(result=codes.FAILED, errors=[Error(code=code, level="FATAL", reason=reason)]))


class Dispatcher:
    def __init__(self, registry: HandlerRegistry, source: str, pattern_config: patterns.PatternConfig):
        self.registry = registry
        self.source = source
        self.patterns = pattern_config

    def respond(self, uow: UnitOfWork, identity: Identity, msg, noun: Noun | None,
                documents: list[etree._Element], depth: int = 0) -> HandlerResult:
        """The answer to a message that passed the pipeline's checks."""
        submitter = functools.partial(self._submit, uow, depth=depth + 1)
        payload = getattr(msg, "payload", None)
        if payload is not None and payload.operation_set is not None:  # the core runs sets, for every handler
            return operationset.execute(operationset.SetRun(msg, noun, uow, identity, self.registry.lookup,
                                                            self.registry.middleware, submitter))
        verb = verbs.normalize(msg.header.verb)
        registration = self.registry.lookup(noun.name, verb) if noun is not None else None
        if registration is None:
            if isinstance(msg, ResponseMessage):  # an asynchronous reply nobody waits for: journaled, acknowledged
                return HandlerResult(Reply(result=codes.OK, errors=[Error(code="0.0")]))
            return _failed("2.9", f"verb {verb!r} is not handled for noun {msg.header.noun!r} by this system")
        request = HandlerRequest(message=msg, noun=noun, verb=verb, documents=documents, identity=identity, uow=uow,
                                 submitter=submitter)
        return invoke(request, registration, self.registry.middleware)

    # ------------------------------------------------------------ submitted requests

    def _submit(self, uow: UnitOfWork, request: RequestMessage, peer: str, *, depth: int) -> Reply:
        """A request a handler or middleware made: checked, handled, journaled and followed up like any other."""
        header = request.header
        noun = get_noun(header.noun)
        documents = list(request.payload.documents) if request.payload is not None else []
        refusal = self._refusal(request, noun, documents, depth)
        if refusal is None:
            identity = Identity(source=header.source, signer=None, interface=noun.interface, peer=peer)
            reply = self.respond(uow, identity, request, noun, documents, depth).reply
        else:
            reply = refusal.reply
        answer = reply_to(header, reply, source=self.source)
        code = _first_code(reply)
        in_id = uow.journal("in", env.to_bytes(request), header=header, kind=request.kind, peer=peer,
                            outcome="processed", reply_code=code)
        uow.journal("out", env.to_bytes(answer), header=answer.header, kind=answer.kind, peer=peer,
                    outcome="replied", reply_code=code, related_id=in_id)
        if reply.result != codes.OK:
            log.warning("request %s %s submitted by %s failed: %s", header.verb, header.noun, peer,
                        "; ".join(f"{e.code} {e.reason}" for e in reply.errors))
        patterns.publish_follow_up_event(uow, request, reply, self.source, self.patterns)
        return reply

    @staticmethod
    def _refusal(request: RequestMessage, noun: Noun | None, documents, depth: int) -> HandlerResult | None:
        verb = verbs.normalize(request.header.verb)
        if depth > MAX_SUBMIT_DEPTH:
            return _failed("5.2", f"not attempted: requests submitted from inside requests nest at most "
                                  f"{MAX_SUBMIT_DEPTH} deep")
        if noun is None:
            return _failed("2.5", f"noun {request.header.noun!r} is not served here")
        if verb not in verbs.REQUEST_VERBS or not verb_allowed(noun, verb):
            return _failed("2.9", f"verb {request.header.verb!r} is not offered for noun {noun.name!r}")
        errors = validate_documents(noun.name, documents) if documents else []
        return HandlerResult(Reply(result=codes.FAILED, errors=errors)) if errors else None


def _first_code(reply: Reply) -> str | None:
    if reply.errors:
        return reply.errors[0].code
    return "0.0" if reply.result == codes.OK else None


__all__ = ["Dispatcher", "MAX_SUBMIT_DEPTH"]
