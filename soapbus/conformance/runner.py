"""Running suites against a target: steps in order, assertions on what came back, verdicts per check.

A step runs only when what it needs holds; otherwise its assertions get the verdict that says why:

* not applicable: the target does not offer the operation (its WSDLs lack it, or it answered a valid
  request with 2.9 / 2.5), or an optional pattern it was about was answered another allowed way
  (an asynchronous request answered synchronously);
* blocked: a step it depends on failed, or the noun's prerequisite (a standard request is accepted at
  all, `context.RunContext.require_accepted`) failed; the reason is that one root cause, unchanged,
  however long the chain;
* skipped: the user left it out (no keys, no --subscribed);
* error: the harness could not run it (a suite mistake, an unreachable callback listener).

A step depends on the steps its expressions read (`${steps.X...}`), the step it re-delivers or waits
for, and those it names in `requires`.
"""
from __future__ import annotations

import traceback
from datetime import datetime, timedelta, timezone

from .. import message as m
from ..message import verbs
from . import actions, messages
from .checks import KINDS
from .context import NOT_OFFERED_CODES, RunContext, StepRecord
from .errors import ConformanceError, Skip, SuiteError, TemplateError
from .exchange import Exchange, post
from .model import (BLOCKED, ERROR, FAIL, NOT_APPLICABLE, PASS, SKIPPED, Assertion, CheckResult, Outcome, Step,
                    Suite, rank)
from .suites import expand_foreach, instantiate
from .templating import Scope, render, steps_referenced

DEFAULT_SOURCE = "soapbus-conformance"
_OPTION_NEEDS = ("signing", "trust", "subscribed", "callback")
# The assertion kinds that say whether a step did what later steps build on (its request accepted, its
# asynchronous request acknowledged, its messages arrived); other assertions judge rules, not progress.
GATING_KINDS = ("result", "acknowledged", "received", "arrived")


class Progress:
    """Receives the run's events; the terminal reporter implements these."""

    def run_start(self, targets, suites):
        pass

    def suite_start(self, suite: Suite):
        pass

    def step_start(self, suite: Suite, step: Step):
        """A step begins (its request may take up to the timeout: the terminal shows it in flight)."""

    def step_done(self, suite: Suite, step: Step, exchanges: list[Exchange], outcomes: list[tuple[str, Outcome]]):
        pass

    def suite_end(self, suite: Suite, results: list[CheckResult]):
        pass


class SuiteRunner:
    def __init__(self, suite: Suite, ctx: RunContext, progress: Progress):
        self.suite = suite
        self.ctx = ctx
        self.progress = progress
        self.results = {cid: CheckResult(spec, suite.name) for cid, spec in suite.checks.items()}
        self._ids: dict[tuple, str] = {}
        self.steps: list[Step] = []
        self._gating_outcomes: set[int] = set()  # ids of the judged step's outcomes that say whether it succeeded

    # ------------------------------------------------------------ the suite

    def run(self) -> list[CheckResult]:
        self.progress.suite_start(self.suite)
        self.ctx.records = {}
        try:
            self._check_needs(self.suite.needs, Scope(), only=_OPTION_NEEDS)
            scope = self._suite_scope()
            self._check_needs(self.suite.needs, scope)
            self.steps = self._expand(scope)
        except Skip as skip:
            self._all(skip.verdict, f"suite {self.suite.name}: {skip}")
            return self._finish()
        except (TemplateError, SuiteError) as exc:
            self._all(ERROR, f"suite {self.suite.name}: {exc}")
            return self._finish()
        for step in self.steps:
            self._run_step(step, scope)
        return self._finish()

    def _expand(self, scope: Scope) -> list[Step]:
        """The suite's steps with run-time foreach patterns expanded (`foreach: {noun: "${nouns()}"}`)."""
        out = []
        for step in self.suite.steps:
            if step.foreach is None:
                out.append(step)
                continue
            items = expand_foreach(render(step.foreach, scope), step.where)
            out.extend(instantiate(step, item) for item in items)
        seen = set()
        for step in out:
            if step.id in seen:
                raise SuiteError(f"{step.where}: step id {step.id!r} is used twice")
            seen.add(step.id)
        return out

    def _finish(self) -> list[CheckResult]:
        results = list(self.results.values())
        for result in results:
            if not result.outcomes:
                verdict, why = self._why_nothing_judged(result.id)
                result.outcomes.append(Outcome(verdict, why))
        self.progress.suite_end(self.suite, results)
        return results

    def _why_nothing_judged(self, check_id: str) -> tuple[str, str]:
        """For a check no step produced an outcome for: the most telling reason among the steps that did not
        run and would have judged it (wait_event steps for every_event checks, the others for every_reply)."""
        on_events = any(a.check == check_id for a in self.suite.every_event)
        on_replies = any(a.check == check_id for a in self.suite.every_reply)
        steps = {s.id: s for s in self.steps}
        relevant = [record for step_id, record in self.ctx.records.items()
                    if step_id not in steps or not (on_events or on_replies)
                    or (steps[step_id].action == "wait_event") == on_events]
        for verdict in (BLOCKED, ERROR, NOT_APPLICABLE, SKIPPED):
            for record in relevant:
                if record.verdict == verdict:
                    return (BLOCKED if verdict == ERROR else verdict), record.reason or verdict
        return NOT_APPLICABLE, "no step of this suite produced anything for it to judge against this target"

    def _all(self, verdict: str, message: str) -> None:
        for result in self.results.values():
            result.outcomes.append(Outcome(verdict, message))

    def _suite_scope(self) -> Scope:
        functions = {
            "uuid": m.new_message_id,
            "now": lambda offset=0: m.format_time(datetime.now(timezone.utc) + timedelta(seconds=float(offset))),
            "first_offered": self._first_offered,
            "offers": self.ctx.offers,
            "id": self._stable_id,
            "nouns": self.ctx.nouns,
            "best_noun": self.ctx.best_noun,
            "signed_noun": self._signed_noun,
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
        """The first of these nouns (all the target's, when none are named) the target offers the verb for."""
        for noun in nouns or self.ctx.nouns():
            if self.ctx.offers(verb, noun):
                return noun
        raise Skip(f"the target offers {verb} for none of {', '.join(nouns) if nouns else 'its nouns'}")

    def _signed_noun(self):
        """The first noun offering create and get whose unsigned get the target refuses."""
        candidates = [n for n in self.ctx.nouns() if self.ctx.offers("create", n) and self.ctx.offers("get", n)]
        reasons = []
        for noun in candidates:
            problem = self._signing_probe(noun)
            if problem is None:
                return noun
            reasons.append(problem)
        raise Skip(reasons[0] if len(reasons) == 1 else
                   f"the target does not require signed requests for any of {', '.join(candidates) or 'its nouns'} "
                   "(an unsigned get of each was answered): the refusal checks do not apply")

    # ------------------------------------------------------------ needs

    def _check_needs(self, needs: dict, scope: Scope, only=None) -> None:
        """Raise Skip with the verdict that says why a need is unmet (see the module's docstring)."""
        wanted = {k: v for k, v in needs.items() if only is None or k in only}
        needs = render(wanted, scope)
        if needs.get("signing") and self.ctx.keys.client is None:
            raise Skip("no --client-cert/--client-key given: the harness cannot sign requests", verdict=SKIPPED)
        if needs.get("trust") and self.ctx.keys.trust is None:
            raise Skip("no --trust given: the harness cannot verify signed answers", verdict=SKIPPED)
        if needs.get("subscribed") and not self.ctx.subscribed:
            raise Skip("the callback listener is not known to be subscribed to the target's events: subscribe "
                       f"{self.ctx.listener.url if self.ctx.listener else 'the listener'} out of band and run with "
                       "--subscribed", verdict=SKIPPED)
        if needs.get("callback"):
            problem = actions.callback_problem(self.ctx)
            if problem:
                raise problem
        for op in needs.get("operations") or []:
            verb, _, noun = str(op).partition(" ")
            if not self.ctx.offers(verb, noun.strip()):
                raise Skip(self.ctx.why_not_offered(verb, noun.strip()))
        noun = needs.get("signing_required")
        if noun:
            problem = self._signing_probe(str(noun))
            if problem:
                raise Skip(problem)

    def _signing_probe(self, noun: str) -> str | None:
        if noun not in self.ctx.probes:
            if not self.ctx.offers("get", noun):
                self.ctx.probes[noun] = f"the target does not offer get {noun}, needed to probe its signing"
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

    def _dependencies(self, step: Step, scope: Scope) -> None:
        """Raise Skip when a step this one depends on did not succeed: blocked, not applicable or skipped alike."""
        found: list[Skip] = []
        for other in self._depends_on(step, scope):
            record = self.ctx.records.get(other)
            if record is None:
                if other not in {s.id for s in self.steps}:
                    raise TemplateError(f"{step.where}: refers to step {other!r}, which the suite does not have")
                raise SuiteError(f"{step.where}: depends on step {other}, which comes later in the suite")
            if record.verdict == ERROR:
                found.append(Skip(f"step {other} could not be run by the harness ({record.reason})", BLOCKED))
            elif record.verdict is not None:
                found.append(Skip(record.reason or record.verdict, record.verdict))
            elif record.gate in (FAIL, ERROR, BLOCKED):
                found.append(Skip(record.gate_reason or f"step {other} failed", BLOCKED))
            elif record.gate == NOT_APPLICABLE:
                found.append(Skip(record.gate_reason or f"step {other} is not applicable", NOT_APPLICABLE))
        if found:
            raise max(found, key=lambda s: rank(s.verdict))

    def _depends_on(self, step: Step, scope: Scope) -> list[str]:
        named = steps_referenced(step.spec) | steps_referenced(step.vars) | steps_referenced(
            [a.params for a in step.expect])
        for field_name in ("step", "after") if step.action in ("replay", "wait_replies", "wait_event") else ():
            if step.spec.get(field_name):
                named.add(str(render(step.spec[field_name], scope)))
        named |= {str(render(r, scope)) for r in step.requires}
        return sorted(named)

    def _prerequisite(self, step: Step, scope: Scope) -> None:
        """A step that posts to a noun's operation runs only once a standard request for that noun is accepted."""
        if step.action not in ("send", "raw"):
            return
        verb, noun = actions.route_of(step, scope)
        if not self.ctx.offers(verb, noun):
            raise Skip(self.ctx.why_not_offered(verb, noun))
        wanted = step.needs.get("accepted", self.suite.needs.get("accepted", True))
        # An OperationSet is 61968-100's container of other nouns' operations, not a noun to probe.
        if noun != "OperationSet" and render(wanted, scope) not in (False, "false", "no"):
            self.ctx.require_accepted(noun, scope)

    # ------------------------------------------------------------ one step

    def _run_step(self, step: Step, suite_scope: Scope) -> None:
        record = StepRecord()
        self.progress.step_start(self.suite, step)
        self.ctx.records[step.id] = record
        try:
            scope = suite_scope.child(**{k: render(v, suite_scope) for k, v in step.vars.items()})
            scope.values.update({k: render(v, scope) for k, v in step.vars.items()})
            self._dependencies(step, scope)
            self._check_needs(step.needs, scope)
            self._prerequisite(step, scope)
            record.mark = self.ctx.listener.mark() if self.ctx.listener else 0
            record.exchanges = self._act(step, scope, record)
        except Skip as skip:
            return self._not_run(step, record, skip.verdict, str(skip))
        except ConformanceError as exc:
            return self._not_run(step, record, ERROR, str(exc))
        except Exception as exc:  # a harness bug must not hide the other checks
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            return self._not_run(step, record, ERROR, f"harness error: {detail}")
        scope.values["steps"] = self._step_values()
        not_offered = self._not_offered(step, scope, record.exchanges)
        if not_offered:
            record.verdict, record.reason = NOT_APPLICABLE, not_offered
        outcomes = self._judge(step, scope, record.exchanges, not_offered)
        self._gate(step, record, outcomes)
        for ex in record.exchanges:
            self._remember_ids(ex)
        scope.values["steps"] = self._step_values()
        self.progress.step_done(self.suite, step, record.exchanges, outcomes)

    def _not_run(self, step: Step, record: StepRecord, verdict: str, reason: str) -> None:
        record.verdict, record.reason = verdict, reason
        outcomes = [(a.check, self._add(a, Outcome(verdict, f"{step.id}: {reason}", step=step.id)))
                    for a in step.expect]
        self.progress.step_done(self.suite, step, [], outcomes)

    def _gate(self, step: Step, record: StepRecord, outcomes: list[tuple[str, Outcome]]) -> None:
        """What steps that need this one go by: whether its request was accepted as it expected (the Result of
        its `result` assertions, its acknowledgement, its arrivals), not every rule its answer was judged on
        (a reply with a wrong CorrelationID still created the object a later get reads)."""
        gating = [(check, o) for check, o in outcomes if id(o) in self._gating_outcomes and o.verdict != PASS
                  and o.evidence.get("result_as_expected") is not True]
        if not gating:
            return
        check, worst = max(gating, key=lambda pair: rank(pair[1].verdict))
        record.gate = worst.verdict
        text = worst.message[len(step.id) + 2:] if worst.message.startswith(f"{step.id}: ") else worst.message
        record.gate_reason = text if worst.verdict == NOT_APPLICABLE else f"{check} failed at step {step.id}: {text}"

    def _act(self, step: Step, scope: Scope, record: StepRecord) -> list[Exchange]:
        scope.values["steps"] = self._step_values()
        if step.action == "send":
            return [actions.send(self.ctx, self.suite.path, step, scope)]
        if step.action == "raw":
            return [actions.raw(self.ctx, self.suite.path, step, scope)]
        if step.action == "replay":
            return [actions.replay(self.ctx, step, scope)]
        if step.action == "wait_replies":
            return actions.wait_replies(self.ctx, step, scope)
        return actions.wait_event(self.ctx, step, scope, record)

    def _not_offered(self, step: Step, scope: Scope, exchanges: list[Exchange]) -> str | None:
        """The evidence that the target does not offer a standard request it was sent (FAILED 2.9 or 2.5),
        where the step did not ask for that code itself."""
        if step.action != "send" or not exchanges:
            return None
        verb = verbs.normalize(str(render(step.spec["verb"], scope)))
        noun = str(render(step.spec["noun"], scope))
        if (verb, noun) != actions.route_of(step, scope):
            return None
        if verb not in verbs.REQUEST_VERBS and verb not in verbs.EVENT_VERBS:
            return None
        asked = {str(c) for a in step.expect if a.kind == "result"
                 for c in [a.params.get("code"), *(a.params.get("codes") or [])] if c is not None}
        ex = exchanges[0]
        codes = ex.codes()
        if ex.reply is None or ex.reply.result != "FAILED" or not codes or codes[0] not in NOT_OFFERED_CODES \
                or codes[0] in asked:
            return None
        evidence = (f"the target answered a valid {verb} {noun} with FAILED {codes[0]} "
                    f"({NOT_OFFERED_CODES[codes[0]]}): it does not offer {verb} {noun}")
        self.ctx.mark_not_offered(verb, noun, evidence)
        return evidence

    # ------------------------------------------------------------ judging

    def _judge(self, step: Step, scope: Scope, exchanges: list[Exchange],
               not_offered: str | None = None) -> list[tuple[str, Outcome]]:
        out = []
        self._gating_outcomes = set()
        extra = self.suite.every_event if step.action == "wait_event" else self.suite.every_reply
        for assertion in [*step.expect, *extra]:
            own = any(assertion is a for a in step.expect)
            for outcome in self._judge_one(step, scope, exchanges, assertion, own, not_offered):
                out.append((assertion.check, self._add(assertion, outcome)))
                if own and assertion.kind in GATING_KINDS:
                    self._gating_outcomes.add(id(outcome))
        return out

    def _judge_one(self, step: Step, scope: Scope, exchanges: list[Exchange], assertion: Assertion, own: bool,
                   not_offered: str | None) -> list[Outcome]:
        kind = KINDS[assertion.kind]
        if own and not_offered:
            ex = exchanges[0]
            return [Outcome(NOT_APPLICABLE, f"{step.id}: {not_offered}", step=step.id, exchange=ex,
                            evidence={"found": ex.summary()})]
        try:
            params = render(assertion.params, scope)
            if step.action.startswith("wait"):
                params["_timeout"] = step.spec.get("timeout", 15 if step.action == "wait_event" else 20)
        except Skip as skip:
            return [Outcome(skip.verdict, f"{step.id}: {skip}", step=step.id)]
        except (TemplateError, SuiteError) as exc:
            return [Outcome(ERROR, f"{step.id}: {exc}", step=step.id)]
        arrival = assertion.kind in ("received", "arrived")
        if not exchanges and not arrival:
            if not own:
                return []  # nothing arrived: the step's own arrival check says so
            return [Outcome(BLOCKED, f"{step.id}: nothing arrived to judge (the step's arrival check says so)",
                            step=step.id)]
        subjects = [exchanges] if kind.collective else exchanges
        return [self._evaluate(kind, params, subject, step) for subject in subjects]

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
            if not record.exchanges:
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


__all__ = ["Progress", "RunContext", "SuiteRunner", "DEFAULT_SOURCE", "StepRecord"]
