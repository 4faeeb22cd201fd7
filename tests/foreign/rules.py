"""The 61968-100 rules a careful vendor follows, shared by the foreign servers behind their wire formats.

The servers differ in everything a client sees (framework, WSDL, namespaces, element names,
dispatch, defects). Behind that they keep objects and choose reply codes the same way, so a
check that fails against a defective variant and passes against its twin can only be about
what the variant deliberately does differently on the wire.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, TypeVar

OK, FAILED = "OK", "FAILED"
CARRY_PAYLOAD = ("create", "change", "created")  # operation verbs whose request must hold objects

T = TypeVar("T")


@dataclass(frozen=True)
class Inbound:
    """One request as a server read it off the wire."""

    operation_verb: str  # the verb the called operation serves: create, change, delete, get, created
    verb: str  # Header/Verb as sent ('' when absent)
    noun: str  # Header/Noun as sent
    message_id: str
    source: str
    ids: tuple[str, ...] = ()  # the objects a get or delete names (Request/ID, a query)
    items: tuple[tuple[str, object], ...] = ()  # (key, object) for every object of the Payload
    payload_problem: str | None = None  # why the Payload does not validate; None when it does


@dataclass(frozen=True)
class Answer:
    result: str  # OK | FAILED
    code: str
    reason: str = ""
    items: tuple[object, ...] = ()  # what a get returns, in the order asked


def failed(code: str, reason: str) -> Answer:
    return Answer(FAILED, code, reason)


class NounStore:
    """The objects of one noun by key (an mRID, or what the server keys them by), and the rules for each verb.

    merge: how a create for a key already held adds to it (readings accumulate per meter);
    None means such a create is refused as a duplicate (6.1), as the EPRI 61968-6 script wants.
    """

    def __init__(self, noun: str, merge: Callable[[object, object], object] | None = None):
        self.noun = noun
        self.merge = merge
        self.objects: dict[str, object] = {}
        self._lock = threading.Lock()

    def answer(self, request: Inbound) -> Answer:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        with self._lock:
            return getattr(self, f"_{request.operation_verb}")(request)

    def add(self, key: str, obj: object) -> None:
        """Load an object as if it had been created (a fixture seeding what the system already holds)."""
        with self._lock:
            self._put(key, obj)

    def _refusal(self, r: Inbound) -> Answer | None:
        if not r.message_id:
            return failed("1.5", "mandatory Header/MessageID is missing: each (Source, MessageID) is acted on once")
        if not r.verb:
            return failed("1.5", "mandatory Header/Verb is missing")
        if r.verb.lower() != r.operation_verb:
            return failed("2.9", f"Header/Verb {r.verb!r} is not {r.operation_verb}, the verb of this operation")
        if r.noun != self.noun:
            return failed("2.5", f"Header/Noun {r.noun!r}: this operation serves {self.noun}")
        if r.operation_verb in CARRY_PAYLOAD:
            if r.payload_problem:
                return failed("1.8", r.payload_problem)
            if not r.items:
                return failed("1.7", f"the Payload holds no {self.noun}")
        elif not r.ids:
            return failed("1.6", f"Request/ID names no {self.noun}")
        return None

    def _put(self, key: str, obj: object) -> None:
        held = self.objects.get(key)
        self.objects[key] = obj if held is None or self.merge is None else self.merge(held, obj)

    def _missing(self, keys) -> Answer | None:
        unknown = [k for k in keys if k not in self.objects]
        return failed("2.15", f"no {self.noun} {unknown[0]} is held here") if unknown else None

    def _create(self, r: Inbound) -> Answer:
        held = [key for key, _ in r.items if key in self.objects]
        if held and self.merge is None:
            return failed("6.1", f"{self.noun} {held[0]} already exists: a create of it again is a duplicate")
        for key, obj in r.items:
            self._put(key, obj)
        return Answer(OK, "0.0")

    def _created(self, r: Inbound) -> Answer:
        """An event reports what happened elsewhere: it is recorded whatever was held before."""
        for key, obj in r.items:
            self._put(key, obj)
        return Answer(OK, "0.0")

    def _change(self, r: Inbound) -> Answer:
        missing = self._missing(key for key, _ in r.items)
        if missing:
            return missing
        for key, obj in r.items:
            self.objects[key] = obj
        return Answer(OK, "0.0")

    def _delete(self, r: Inbound) -> Answer:
        missing = self._missing(r.ids)
        if missing:
            return missing
        for key in r.ids:
            del self.objects[key]
        return Answer(OK, "0.0")

    def _get(self, r: Inbound) -> Answer:
        missing = self._missing(r.ids)
        if missing:
            return missing
        return Answer(OK, "0.0", items=tuple(self.objects[key] for key in dict.fromkeys(r.ids)))


class AnswerMemory:
    """The answer given to each (Source, MessageID): a re-delivery gets it again and acts on nothing."""

    def __init__(self):
        self._answers: dict[tuple[str, str], object] = {}
        self._lock = threading.Lock()

    def once(self, source: str, message_id: str, compute: Callable[[], T]) -> T:
        if not message_id:
            return compute()  # nothing to remember it by; the rules refuse it (1.5)
        with self._lock:  # one at a time: a test server, not a scalable one
            key = (source, message_id)
            if key not in self._answers:
                self._answers[key] = compute()
            return self._answers[key]
