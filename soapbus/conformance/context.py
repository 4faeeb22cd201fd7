"""What every suite of a run shares: the target, keys, listener, payload sources, and what was learnt
about the target along the way (which nouns it offers, which operations it answered "not offered",
whether a standard request is accepted at all)."""
from __future__ import annotations

from dataclasses import dataclass, field

import requests

from .. import message as m
from ..message import codes as reply_codes
from ..message import verbs
from ..profiles import NOUNS
from . import messages
from .errors import ConformanceError, Skip
from .exchange import Exchange, post
from .keys import KeyMaterial
from .listener import Listener
from .model import BLOCKED, ERROR, FAIL, PASS, SKIPPED, CheckResult, CheckSpec, Outcome
from .payloads import Payloads
from .targets import Targets
from .templating import Scope

# FAILED with one of these to a valid request for an operation the WSDLs list: the target does not offer it.
NOT_OFFERED_CODES = {"2.9": "invalid Verb", "2.5": "invalid Noun"}
# Codes that refuse a request as such (its envelope, header, payload, verb, noun or sender), not an object in it.
REFUSAL_PREFIXES = ("1.",)
REFUSAL_CODES = {"2.5", "2.9", "2.14", "5.1", "5.2"}
# WS-Security 1.1 fault codes (OASIS WSS SOAP Message Security, 12 Error Handling).
WSSE_FAULTS = {"UnsupportedSecurityToken", "UnsupportedAlgorithm", "InvalidSecurity", "InvalidSecurityToken",
               "FailedAuthentication", "FailedCheck", "SecurityTokenUnavailable", "MessageExpired"}
# The verbs the prerequisite tries, in order, for a noun: the first the target offers is sent.
PROBE_VERBS = ("create", "get", "created", "changed")

PREREQUISITE = CheckSpec(
    "prerequisite.accepted",
    "A valid standard request for the noun (create with a payload valid against its schema; get where create is "
    "not offered; the created event where only events are) is accepted: a readable 61968 reply, OK for a "
    "transaction or an event, and for a get no refusal of the request as such (codes 1.x, 2.5, 2.9, 2.14, 5.1, 5.2)",
    "IEC 61968-100 Ed.1, Verbs and Replies and codes (every other check of the noun needs this first)")


@dataclass
class StepRecord:
    exchanges: list[Exchange] = field(default_factory=list)
    verdict: str | None = None  # None: it ran and was judged; else why it was not (not applicable, blocked ...)
    reason: str | None = None
    mark: int = 0  # listener position when the step ran
    gate: str = PASS  # the worst verdict of the step's own expectations: what steps that need it go by
    gate_reason: str | None = None

    @property
    def skipped(self) -> str | None:
        """Why the step sent nothing (None when it sent or collected something)."""
        return self.reason if self.verdict is not None and not self.exchanges else None


@dataclass
class RunContext:
    targets: Targets
    keys: KeyMaterial
    listener: Listener | None
    subscribed: bool
    source: str
    timeout: float
    variables: dict
    payloads: Payloads = field(default_factory=Payloads)
    message_ids: dict = field(default_factory=dict)
    probes: dict = field(default_factory=dict)
    records: dict = field(default_factory=dict)
    session: requests.Session = field(default_factory=requests.Session)
    not_offered: dict = field(default_factory=dict)  # (verb, noun) -> the evidence that the target does not offer it
    prerequisite: CheckResult = field(default_factory=lambda: CheckResult(PREREQUISITE, "prerequisites"))
    accepted: dict = field(default_factory=dict)  # noun -> None (accepted) or Skip (why its steps do not run)

    def exchange_of(self, step_id: str) -> Exchange | None:
        record = self.records.get(step_id)
        return record.exchanges[0] if record and record.exchanges else None

    # ------------------------------------------------------------ what the target offers

    def offers(self, verb: str, noun: str) -> bool:
        return self.targets.offers(verb, noun) and (verbs.normalize(verb), noun) not in self.not_offered

    def why_not_offered(self, verb: str, noun: str) -> str:
        said = self.not_offered.get((verbs.normalize(verb), noun))
        return said or f"the target's WSDLs do not offer {verbs.normalize(verb)} {noun}"

    def mark_not_offered(self, verb: str, noun: str, evidence: str) -> None:
        self.not_offered.setdefault((verbs.normalize(verb), noun), evidence)

    def nouns(self) -> list[str]:
        """The nouns to run the noun-independent suites on: every noun with typed operations, and where a
        generic service takes any noun, the nouns the user gave payloads for and those soapbus knows (a noun
        the generic service does not serve is answered 2.5 and becomes not applicable). Payload nouns
        first, then soapbus's in its table's order, then the rest alphabetically."""
        found = set(self.targets.typed_nouns())
        if self.targets.generic:
            found |= set(self.payloads.files) | set(NOUNS)
        return sorted(found, key=self._preference)

    def _preference(self, noun: str):
        order = list(NOUNS)
        if noun in self.payloads.files:
            return (0, 0, noun)
        return (1, order.index(noun), noun) if noun in order else (2, 0, noun)

    def best_noun(self, *wanted: str) -> str:
        """The noun the target offers most of these verbs for (ties: the preference order of `nouns`)."""
        best, score = None, 0
        for noun in self.nouns():
            offered = sum(1 for verb in wanted if self.offers(verb, noun))
            if offered > score:
                best, score = noun, offered
                if score == len(wanted):
                    break
        if best is None:
            raise Skip(f"the target offers {' or '.join(wanted)} for no noun")
        return best

    # ------------------------------------------------------------ the prerequisite

    def require_accepted(self, noun: str, scope: Scope) -> None:
        """Raise Skip (blocked, or not applicable) unless a standard request for the noun is accepted."""
        if noun not in self.accepted:
            self.accepted[noun] = self._probe(noun, scope)
        problem = self.accepted[noun]
        if problem is not None:
            raise problem

    def _probe(self, noun: str, scope: Scope) -> Skip | None:
        said_not_offered, cannot_build = [], []
        for verb in PROBE_VERBS:
            if not self.offers(verb, noun):
                continue
            try:
                exchange = self._probe_exchange(verb, noun, scope)
            except Skip as skip:
                if skip.verdict == "skipped":
                    return skip
                continue
            except ConformanceError as exc:  # no payload for the noun: a get may still show the way
                cannot_build.append(f"the harness could not build a {verb} {noun}: {exc}")
                continue
            codes = exchange.codes()
            if exchange.reply is not None and exchange.reply.result == reply_codes.FAILED and codes \
                    and codes[0] in NOT_OFFERED_CODES:
                evidence = (f"the target answered a valid {verb} {noun} with FAILED {codes[0]} "
                            f"({NOT_OFFERED_CODES[codes[0]]}): it does not offer {verb} {noun}")
                self.mark_not_offered(verb, noun, evidence)
                said_not_offered.append(evidence)
                continue
            refusal = _refusal(verb, exchange)
            if refusal and self.keys.client is None and _security_fault(exchange):
                reason = (f"the target refuses unsigned requests for {noun} ({exchange.summary()}): give "
                          "--client-cert and --client-key to judge it")
                self._record(Outcome(SKIPPED, f"{noun}: {reason}", step=f"prerequisite {noun}", exchange=exchange))
                return Skip(reason, verdict=SKIPPED)
            outcome = Outcome(FAIL if refusal else PASS, f"{noun}: " + (refusal or f"{verb} {noun} accepted: "
                                                                                  f"{exchange.summary()}"),
                              step=f"prerequisite {noun}", exchange=exchange,
                              evidence={"found": exchange.summary()})
            self._record(outcome)
            if refusal:
                hint = self._hint(exchange, noun)
                return Skip(f"prerequisite.accepted failed for {noun}: {refusal}{hint}", verdict=BLOCKED)
            return None
        if cannot_build:
            self._record(Outcome(ERROR, f"{noun}: {cannot_build[0]}", step=f"prerequisite {noun}"))
            return Skip(f"prerequisite.accepted could not be run for {noun}: {cannot_build[0]}", verdict=BLOCKED)
        if said_not_offered:
            return Skip(said_not_offered[0])
        return Skip(f"the target offers none of {', '.join(PROBE_VERBS)} for {noun}")

    def _probe_exchange(self, verb: str, noun: str, scope: Scope) -> Exchange:
        route = self.targets.route(verb, noun)
        head = messages.header(verb, noun, None, self.source)
        request, payload, origin = None, None, None
        if verb == "get":
            request = m.Request(ids=[m.ID(m.new_message_id())])
        else:
            mrid = m.new_message_id()
            found = self.payloads.document(noun, mrid, scope.child(mrid=mrid, meter=m.new_message_id()))
            payload, origin = m.Payload(documents=[found.element], format="XML"), found.origin
        msg = messages.build(verb, noun, head, request, payload)
        env, _ = messages.envelope_bytes(route, msg, None)
        mode = "client" if self.keys.client is not None else "none"
        body, how = messages.signed(env, mode, self.keys)
        exchange = post(route.address, body, route.soap_action, self.timeout, f"prerequisite {noun}", self.session)
        exchange.request_message = msg
        exchange.notes = [how, f"sent to {route.operation} at {route.address}"] + ([f"payload: {origin}"]
                                                                                  if origin else [])
        return exchange

    def _record(self, outcome: Outcome) -> None:
        self.prerequisite.outcomes.append(outcome)

    def _hint(self, exchange: Exchange, noun: str) -> str:
        if exchange.codes()[:1] == ["1.8"]:
            return f" (if the harness's {noun} document is what the target dislikes, give --payload {noun}=FILE)"
        return ""


def _security_fault(exchange: Exchange) -> bool:
    """A SOAP fault of WS-Security (wsse:InvalidSecurity, FailedAuthentication ...): the request was refused
    for how it was (not) signed, not for what it says."""
    fault = exchange.fault
    if fault is None:
        return False
    prefix, _, local = fault.code.rpartition(":")
    return "wsse" in prefix.lower() or local in WSSE_FAULTS


def _refusal(verb: str, exchange: Exchange) -> str | None:
    """Why an answer refuses a valid request as such; None when it accepts it."""
    if exchange.error:
        return f"{verb} got no answer ({exchange.error})"
    if exchange.fault is not None:
        return f"{verb} was refused with {exchange.summary()}"
    reply = exchange.reply
    if reply is None:
        return f"{verb} got no readable 61968 reply ({exchange.parse_problem or exchange.summary()})"
    codes = exchange.codes()
    if verb == "get":
        refusing = [c for c in codes if c.startswith(REFUSAL_PREFIXES) or c in REFUSAL_CODES]
        if reply.result == reply_codes.FAILED and refusing:
            return f"get was refused as such: {exchange.summary()}"
        return None
    if reply.result in (reply_codes.OK, reply_codes.PARTIAL):
        return None
    return f"a valid {verb} was answered {exchange.summary()}"


__all__ = ["RunContext", "StepRecord", "PREREQUISITE", "NOT_OFFERED_CODES", "PROBE_VERBS", "WSSE_FAULTS"]
