"""Running suites against a target: steps in order, assertions on what came back, verdicts per check."""
from __future__ import annotations

import ipaddress
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import requests

from .. import message as m
from ..message import codes as reply_codes
from ..message import verbs
from . import messages
from .checks import KINDS
from .errors import ConformanceError, Skip, SuiteError, TemplateError
from .exchange import Exchange, post
from .keys import KeyMaterial
from .listener import Listener
from .model import ERROR, SKIP, Assertion, CheckResult, Outcome, Step, Suite
from .targets import Targets
from .templating import Scope, render, steps_referenced

DEFAULT_SOURCE = "soapbus-conformance"


class Progress:
    """Receives the run's events; the terminal reporter implements these."""

    def run_start(self, targets, suites):
        pass

    def suite_start(self, suite: Suite):
        pass

    def step_done(self, suite: Suite, step: Step, exchanges: list[Exchange], outcomes: list[tuple[str, Outcome]]):
        pass

    def suite_end(self, suite: Suite, results: list[CheckResult]):
        pass


@dataclass
class StepRecord:
    exchanges: list[Exchange] = field(default_factory=list)
    skipped: str | None = None
    mark: int = 0  # listener position when the step ran


@dataclass
class RunContext:
    targets: Targets
    keys: KeyMaterial
    listener: Listener | None
    subscribed: bool
    source: str
    timeout: float
    variables: dict
    message_ids: dict = field(default_factory=dict)
    probes: dict = field(default_factory=dict)
    records: dict = field(default_factory=dict)
    session: requests.Session = field(default_factory=requests.Session)

    def exchange_of(self, step_id: str) -> Exchange | None:
        record = self.records.get(step_id)
        return record.exchanges[0] if record and record.exchanges else None


class SuiteRunner:
    def __init__(self, suite: Suite, ctx: RunContext, progress: Progress):
        self.suite = suite
        self.ctx = ctx
        self.progress = progress
        self.results = {cid: CheckResult(spec, suite.name) for cid, spec in suite.checks.items()}
        self._ids: dict[tuple, str] = {}

    # ------------------------------------------------------------ the suite

    def run(self) -> list[CheckResult]:
        self.progress.suite_start(self.suite)
        self.ctx.records = {}
        try:
            scope = self._suite_scope()
            reason = self._unmet(self.suite.needs, scope)
        except Skip as skip:
            reason = str(skip)
        except (TemplateError, SuiteError) as exc:
            self._all(ERROR, f"suite {self.suite.name}: {exc}")
            return self._finish()
        if reason:
            self._all(SKIP, f"suite skipped: {reason}")
            return self._finish()
        for step in self.suite.steps:
            self._run_step(step, scope)
        return self._finish()

    def _finish(self) -> list[CheckResult]:
        results = list(self.results.values())
        skipped = [f"{sid}: {r.skipped}" for sid, r in self.ctx.records.items() if r.skipped]
        for result in results:
            if not result.outcomes:
                why = skipped[0] if skipped else "no step produced anything for it to judge"
                result.outcomes.append(Outcome(SKIP, f"nothing to judge ({why})"))
        self.progress.suite_end(self.suite, results)
        return results

    def _all(self, verdict: str, message: str) -> None:
        for result in self.results.values():
            result.outcomes.append(Outcome(verdict, message))

    def _suite_scope(self) -> Scope:
        functions = {
            "uuid": m.new_message_id,
            "now": lambda offset=0: m.format_time(datetime.now(timezone.utc) + timedelta(seconds=float(offset))),
            "first_offered": self._first_offered,
            "offers": lambda verb, noun: self.ctx.targets.offers(verb, noun),
            "id": self._stable_id,
        }
        values = {"steps": {}, "source": self.ctx.source,
                  "listener_url": self.ctx.listener.url if self.ctx.listener else None}
        scope = Scope(values, functions)
        for name, raw in self.suite.vars.items():
            value = self.ctx.variables[name] if name in self.ctx.variables else render(raw, scope)
            scope.values[name] = value
        for name, value in self.ctx.variables.items():
            scope.values.setdefault(name, value)
        return scope

    def _stable_id(self, *parts):
        """A fresh UUID per distinct argument list, the same one each time within this suite run."""
        key = tuple(str(p) for p in parts)
        if key not in self._ids:
            self._ids[key] = m.new_message_id()
        return self._ids[key]

    def _first_offered(self, verb, *nouns):
        for noun in nouns:
            if self.ctx.targets.offers(verb, noun):
                return noun
        raise Skip(f"the target's WSDLs offer {verb} for none of {', '.join(nouns)}")

    # ------------------------------------------------------------ needs

    def _unmet(self, needs: dict, scope: Scope) -> str | None:
        needs = render(needs, scope)
        for op in needs.get("operations") or []:
            verb, _, noun = str(op).partition(" ")
            if not self.ctx.targets.offers(verb, noun.strip()):
                return f"the target's WSDLs do not offer {verb} {noun.strip()}"
        if needs.get("signing") and self.ctx.keys.client is None:
            return "no --client-cert/--client-key given: the harness cannot sign requests"
        if needs.get("trust") and self.ctx.keys.trust is None:
            return "no --trust given: the harness cannot verify signed answers"
        if needs.get("callback"):
            reason = self._callback_problem()
            if reason:
                return reason
        if needs.get("subscribed") and not self.ctx.subscribed:
            return ("the callback listener is not known to be subscribed to the target's events: subscribe "
                    f"{self.ctx.listener.url if self.ctx.listener else 'the listener'} out of band and run with "
                    "--subscribed")
        noun = needs.get("signing_required")
        if noun:
            return self._signing_probe(str(noun))
        return None

    def _callback_problem(self) -> str | None:
        listener = self.ctx.listener
        if listener is None:
            return "the run has no callback listener"
        host = urlsplit(listener.url).hostname or ""
        if _loopback(host) and not all(_loopback(h) for h in self.ctx.targets.hosts()):
            return (f"the callback listener is at {listener.url}, which a remote target cannot reach: "
                    "give --callback-host HOST:PORT with an address the target can reach")
        return None

    def _signing_probe(self, noun: str) -> str | None:
        if noun not in self.ctx.probes:
            if not self.ctx.targets.offers("get", noun):
                self.ctx.probes[noun] = f"the target's WSDLs do not offer get {noun}, needed to probe its signing"
            else:
                route = self.ctx.targets.route("get", noun)
                msg = m.RequestMessage(messages.header("get", noun, None, self.ctx.source),
                                       m.Request(ids=[m.ID(m.new_message_id())]))
                _, body = messages.envelope_bytes(route, msg, None)
                probe = post(route.address, body, route.soap_action, self.ctx.timeout, "(signing probe)",
                             self.ctx.session)
                refused = probe.fault is not None or (probe.status or 0) >= 400
                self.ctx.probes[noun] = None if refused else (
                    f"the target answered an unsigned get {noun} with {probe.summary()}: it does not require "
                    "signed requests there, so the refusal checks do not apply")
        return self.ctx.probes[noun]

    # ------------------------------------------------------------ one step

    def _run_step(self, step: Step, suite_scope: Scope) -> None:
        record = StepRecord()
        self.ctx.records[step.id] = record
        outcomes: list[tuple[str, Outcome]] = []
        try:
            scope = suite_scope.child(**{k: render(v, suite_scope) for k, v in step.vars.items()})
            scope.values.update({k: render(v, scope) for k, v in step.vars.items()})
            blocked = self._blocked_by(step)
            reason = blocked or self._unmet(step.needs, scope)
            if reason:
                raise Skip(reason)
            record.mark = self.ctx.listener.mark() if self.ctx.listener else 0
            record.exchanges = self._act(step, scope, record)
        except Skip as skip:
            record.skipped = str(skip)
            for assertion in step.expect:
                outcomes.append((assertion.check, self._add(assertion, Outcome(SKIP, f"{step.id}: {skip}",
                                                                               step=step.id))))
            self.progress.step_done(self.suite, step, [], outcomes)
            return
        except (TemplateError, SuiteError, ConformanceError) as exc:
            record.skipped = f"harness error: {exc}"
            for assertion in step.expect:
                outcomes.append((assertion.check, self._add(assertion, Outcome(ERROR, f"{step.id}: {exc}",
                                                                               step=step.id))))
            self.progress.step_done(self.suite, step, [], outcomes)
            return
        except Exception as exc:  # a harness bug must not hide the other checks
            record.skipped = f"harness error: {exc}"
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            for assertion in step.expect:
                outcomes.append((assertion.check, self._add(assertion, Outcome(
                    ERROR, f"{step.id}: harness error: {detail}", step=step.id))))
            self.progress.step_done(self.suite, step, [], outcomes)
            return
        scope.values["steps"] = self._step_values()
        outcomes.extend(self._judge(step, scope, record.exchanges))
        for ex in record.exchanges:
            self._remember_ids(ex)
        scope.values["steps"] = self._step_values()
        self.progress.step_done(self.suite, step, record.exchanges, outcomes)

    def _blocked_by(self, step: Step) -> str | None:
        for other in sorted(steps_referenced(step.spec) | steps_referenced(step.vars) | steps_referenced(
                [a.params for a in step.expect])):
            record = self.ctx.records.get(other)
            if record is None:
                if other not in {s.id for s in self.suite.steps}:
                    raise TemplateError(f"{step.where}: refers to step {other!r}, which the suite does not have")
                return f"depends on step {other}, which has not run yet"
            if record.skipped:
                return f"depends on step {other}, which did not run ({record.skipped})"
        return None

    def _act(self, step: Step, scope: Scope, record: StepRecord) -> list[Exchange]:
        scope.values["steps"] = self._step_values()
        if step.action == "send":
            return [self._send(step, scope)]
        if step.action == "raw":
            return [self._raw(step, scope)]
        if step.action == "replay":
            return [self._replay(step, scope)]
        if step.action == "wait_replies":
            return self._wait_replies(step, scope)
        return self._wait_event(step, scope, record)

    def _send(self, step: Step, scope: Scope) -> Exchange:
        spec = step.spec
        verb = str(render(spec["verb"], scope))
        noun = str(render(spec["noun"], scope))
        to = str(render(spec.get("to") or f"{verb} {noun}", scope))
        to_verb, _, to_noun = to.partition(" ")
        route = self.ctx.targets.route(to_verb, to_noun.strip())
        fields = dict(render(spec.get("header") or {}, scope))
        if spec.get("async"):
            reason = self._callback_problem()
            if reason:
                raise Skip(reason)
            fields.setdefault("AsyncReplyFlag", True)
            fields.setdefault("ReplyAddress", self.ctx.listener.url)
        head = messages.header(verb, noun, fields, self.ctx.source)
        request = messages.request_part(render(spec.get("request"), scope))
        payload = messages.payload_part(spec.get("payload"), scope, self.suite.path)
        msg = messages.build(verb, noun, head, request, payload)
        env, _ = messages.envelope_bytes(route, msg, render(spec.get("remove"), scope))
        mode = str(render(spec.get("sign", "auto"), scope))
        if mode == "auto":
            mode = "client" if self.ctx.keys.client is not None else "none"
        body, how = messages.signed(env, mode, self.ctx.keys)
        notes = [how]
        if spec.get("tamper"):
            body = messages.tampered(body, render(spec["tamper"], scope))
            notes.append("altered after signing: " + _tamper_text(render(spec["tamper"], scope)))
        exchange = post(route.address, body, route.soap_action, self.ctx.timeout, step.id, self.ctx.session)
        exchange.request_message = msg
        exchange.notes = notes + [f"sent to {route.operation} at {route.address}"]
        return exchange

    def _raw(self, step: Step, scope: Scope) -> Exchange:
        spec = step.spec
        to = str(render(spec.get("to") or "", scope))
        to_verb, _, to_noun = to.partition(" ")
        if not to_noun:
            raise SuiteError(f"{step.where}: raw needs to: 'verb Noun' (which operation's address to post to)")
        route = self.ctx.targets.route(to_verb, to_noun.strip())
        if "template" in spec:
            from .suites import template_text

            text = template_text(str(render(spec["template"], scope)), self.suite.path)
        else:
            text = str(spec.get("body") or "")
        local = scope.child(**render(spec.get("vars") or {}, scope))
        body = str(render(text, local, xml=False)).encode("utf-8")
        exchange = post(route.address, body, route.soap_action, self.ctx.timeout, step.id, self.ctx.session)
        exchange.notes = [f"raw bytes sent to {route.operation} at {route.address}"]
        return exchange

    def _replay(self, step: Step, scope: Scope) -> Exchange:
        spec = step.spec
        first = self.ctx.exchange_of(str(render(spec["step"], scope)))
        if first is None:
            raise Skip(f"step {spec['step']} sent nothing to replay")
        body = first.request
        notes = [f"the exact bytes of step {first.step}, sent again"]
        if spec.get("tamper"):
            body = messages.tampered(body, render(spec["tamper"], scope))
            notes.append("altered: " + _tamper_text(render(spec["tamper"], scope)))
        exchange = post(first.url, body, first.soap_action, self.ctx.timeout, step.id, self.ctx.session)
        exchange.request_message = first.request_message
        exchange.notes = notes
        return exchange

    def _wait_replies(self, step: Step, scope: Scope) -> list[Exchange]:
        spec = step.spec
        origin = self.ctx.exchange_of(str(render(spec["step"], scope)))
        if origin is None or origin.request_message is None:
            raise Skip(f"step {spec['step']} sent no request to wait for")
        if self.ctx.listener is None:
            raise Skip("the run has no callback listener")
        correlation = m.correlation_for(origin.request_message.header)
        timeout = float(render(spec.get("timeout", 20), scope))
        since = self.ctx.records[origin.step].mark

        class Until:
            @staticmethod
            def matches(ex):
                return (isinstance(ex.message, m.ResponseMessage)
                        and ex.message.header.correlation_id == correlation)

            @staticmethod
            def done(found):
                return any(ex.reply.result != reply_codes.PARTIAL for ex in found)

        found = self.ctx.listener.wait(Until, timeout, since)
        for ex in found:
            ex.origin, ex.step, ex.label = origin, step.id, "callback"
        return found

    def _wait_event(self, step: Step, scope: Scope, record: StepRecord) -> list[Exchange]:
        spec = render(step.spec, scope)
        if self.ctx.listener is None:
            raise Skip("the run has no callback listener")
        verb = verbs.normalize(str(spec.get("verb", "")))
        noun = str(spec.get("noun", ""))
        correlation = spec.get("correlation")
        contains = spec.get("contains")
        wanted = int(spec.get("min", 1))
        timeout = float(spec.get("timeout", 15))
        after = spec.get("after")
        since = self.ctx.records[after].mark if after in self.ctx.records else 0
        origin = self.ctx.exchange_of(after) if after else None

        class Until:
            @staticmethod
            def matches(ex):
                msg = ex.message
                if not isinstance(msg, m.EventMessage):
                    return False
                if verb and verbs.normalize(msg.header.verb) != verb:
                    return False
                if noun and msg.header.noun != noun:
                    return False
                if correlation and msg.header.correlation_id != correlation:
                    return False
                return not contains or str(contains).encode() in (ex.response or b"")

            @staticmethod
            def done(found):
                return len(found) >= wanted

        found = self.ctx.listener.wait(Until, timeout, since)
        for ex in found:
            ex.step, ex.label = step.id, "event"
            if origin is not None:
                ex.origin = origin
        return found

    # ------------------------------------------------------------ judging

    def _judge(self, step: Step, scope: Scope, exchanges: list[Exchange]) -> list[tuple[str, Outcome]]:
        out = []
        collective_subject = exchanges
        per_item = list(exchanges)
        extra = self.suite.every_event if step.action == "wait_event" else self.suite.every_reply
        for assertion in [*step.expect, *extra]:
            kind = KINDS[assertion.kind]
            try:
                params = render(assertion.params, scope)
                if step.action.startswith("wait"):
                    params["_timeout"] = step.spec.get("timeout", 15 if step.action == "wait_event" else 20)
            except Skip as skip:
                out.append((assertion.check, self._add(assertion, Outcome(SKIP, f"{step.id}: {skip}", step=step.id))))
                continue
            except (TemplateError, SuiteError) as exc:
                out.append((assertion.check, self._add(assertion, Outcome(ERROR, f"{step.id}: {exc}", step=step.id))))
                continue
            if kind.collective and not collective_subject and assertion.kind not in ("received", "arrived"):
                # nothing arrived: the step's arrival check says so, this one has nothing to judge
                out.append((assertion.check, self._add(assertion, Outcome(
                    SKIP, f"{step.id}: nothing arrived to judge (see the step's arrival check)", step=step.id))))
                continue
            if kind.collective:
                subjects = [collective_subject]
            elif not per_item:
                if any(assertion is e for e in extra):
                    continue  # nothing arrived: the step's own arrival check says so
                out.append((assertion.check, self._add(assertion, Outcome(
                    SKIP, f"{step.id}: nothing arrived to judge (see the step's arrival check)", step=step.id))))
                continue
            else:
                subjects = per_item
            for subject in subjects:
                out.append((assertion.check, self._add(assertion, self._evaluate(kind, params, subject, step))))
        return out

    def _evaluate(self, kind, params, subject, step: Step) -> Outcome:
        try:
            outcome = kind.fn(params, subject, self.ctx)
        except Exception as exc:
            outcome = Outcome(ERROR, f"harness error in {params.get('check')}: {exc}")
        outcome.step = step.id
        if not outcome.message.startswith(step.id):
            outcome.message = f"{step.id}: {outcome.message}"
        if isinstance(subject, Exchange):
            outcome.exchange = subject
        elif subject:
            outcome.exchange = subject[-1]
            outcome.evidence.setdefault("messages", [ex.summary() for ex in subject])
        return outcome

    def _add(self, assertion: Assertion, outcome: Outcome) -> Outcome:
        self.results[assertion.check].outcomes.append(outcome)
        return outcome

    def _remember_ids(self, ex: Exchange) -> None:
        if ex.request_message is not None and getattr(ex.request_message, "header", None) is not None:
            own = ex.request_message.header.message_id
            if own and ex.label == "response":
                self.ctx.message_ids.setdefault(own, ("request", own))
        header = ex.header
        if header is not None and header.message_id:
            origin = ex.origin or ex
            request = origin.request_message
            answers = request.header.message_id if request is not None and getattr(request, "header", None) else None
            self.ctx.message_ids.setdefault(header.message_id, answers)

    def _step_values(self) -> dict:
        out = {}
        for step_id, record in self.ctx.records.items():
            if record.skipped or not record.exchanges:
                continue
            ex = record.exchanges[0]
            values = {"status": ex.status, "elapsed": ex.elapsed}
            request = ex.request_message
            if request is not None and getattr(request, "header", None) is not None:
                values["request"] = _header_values(request.header)
                values["correlation"] = m.correlation_for(request.header)
            else:
                values["request"] = {}
            header = ex.header
            reply = ex.reply
            values["reply"] = {**(_header_values(header) if header is not None else {}),
                               "Result": reply.result if reply is not None else None,
                               "code": (ex.codes() or [None])[0],
                               "IDs": [i.value for i in reply.ids] if reply is not None else []}
            out[step_id] = values
        return out


def _header_values(header: m.Header) -> dict:
    return {"MessageID": header.message_id, "CorrelationID": header.correlation_id, "Verb": header.verb,
            "Noun": header.noun, "Source": header.source,
            "Timestamp": m.format_time(header.timestamp) if header.timestamp else None}


def _tamper_text(spec: dict) -> str:
    return f"{spec.get('find')!r} replaced by {spec.get('replace')!r}"


def _loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


__all__ = ["Progress", "RunContext", "SuiteRunner", "DEFAULT_SOURCE", "StepRecord"]
