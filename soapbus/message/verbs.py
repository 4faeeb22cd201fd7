"""The 61968-100 verb table: request verb, reply, past-tense event and which parts each carries."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verb:
    name: str
    event: str | None  # past-tense event verb published after success, None for queries
    kind: str  # "query" or "transaction"
    carries_payload: bool  # the request carries a Payload
    carries_request: bool  # the request carries a Request part (filters, IDs)
    reply_has_payload: bool  # a successful reply carries a Payload


REQUEST_VERBS: dict[str, Verb] = {
    v.name: v
    for v in (
        Verb("get", None, "query", False, True, True),
        Verb("create", "created", "transaction", True, False, False),
        Verb("change", "changed", "transaction", True, False, False),
        Verb("cancel", "canceled", "transaction", False, True, False),
        Verb("close", "closed", "transaction", False, True, False),
        Verb("delete", "deleted", "transaction", False, True, False),
        Verb("execute", "executed", "transaction", True, False, False),
    )
}

EVENT_VERBS: dict[str, str] = {v.event: v.name for v in REQUEST_VERBS.values() if v.event}
REPLY_VERB = "reply"

# Old spellings still seen in deployed systems, mapped onto the Ed.1 verbs.
SYNONYMS = {"update": "change", "updated": "changed", "show": "reply"}

ALL_VERBS = frozenset(REQUEST_VERBS) | frozenset(EVENT_VERBS) | {REPLY_VERB}


def normalize(verb: str) -> str:
    """Lower-cased verb with old synonyms mapped; the result may still be unknown."""
    v = (verb or "").strip().lower()
    return SYNONYMS.get(v, v)


def is_known(verb: str) -> bool:
    return normalize(verb) in ALL_VERBS


def event_for(request_verb: str) -> str | None:
    spec = REQUEST_VERBS.get(normalize(request_verb))
    return spec.event if spec else None
