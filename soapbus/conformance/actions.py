"""What a step does: send a built message, post raw bytes, re-deliver an earlier message, or collect
asynchronous replies or events at the listener. Each returns the exchanges it made or collected."""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from lxml import etree

from .. import message as m
from ..message import codes as reply_codes
from ..message import verbs
from . import messages
from .context import RunContext, StepRecord
from .errors import Skip, SuiteError
from .exchange import Exchange, post
from .model import ERROR, SKIPPED, Step
from .templating import Scope, render

REPLAY_MODES = ("exact", "fresh")


def callback_problem(ctx: RunContext) -> Skip | None:
    """Why asynchronous replies and events cannot reach the harness (an error of the run, not the target's)."""
    listener = ctx.listener
    if listener is None:
        return Skip("the run has no callback listener", verdict=ERROR)
    host = urlsplit(listener.url).hostname or ""
    if loopback(host) and not all(loopback(h) for h in ctx.targets.hosts()):
        return Skip(f"the callback listener is at {listener.url}, which a remote target cannot reach: "
                    "give --callback-host HOST:PORT with an address the target can reach", verdict=ERROR)
    return None


def send(ctx: RunContext, suite_path: str, step: Step, scope: Scope) -> Exchange:
    spec = step.spec
    verb = str(render(spec["verb"], scope))
    noun = str(render(spec["noun"], scope))
    to_verb, to_noun = route_of(step, scope)
    route = ctx.targets.route(to_verb, to_noun)
    fields = dict(render(spec.get("header") or {}, scope))
    if spec.get("async"):
        problem = callback_problem(ctx)
        if problem:
            raise problem
        fields.setdefault("AsyncReplyFlag", True)
        fields.setdefault("ReplyAddress", ctx.listener.url)
    head = messages.header(verb, noun, fields, ctx.source)
    request = messages.request_part(render(spec.get("request"), scope))
    payload, origin = messages.payload_part(spec.get("payload"), scope, suite_path, ctx.payloads)
    if payload is not None and not deliberately_invalid(step, scope):
        for document in payload.documents:
            problems = ctx.payloads.problems_against_target(document)
            if problems:
                raise Skip(f"the {etree.QName(document).localname} document this step needs does not fit the target's "
                           f"own schema ({problems[0]}): the step does not apply to the profile the target speaks")
    msg = messages.build(verb, noun, head, request, payload)
    env, unsigned = messages.envelope_bytes(route, msg, render(spec.get("remove"), scope))
    mode = str(render(spec.get("sign", "auto"), scope))
    if mode == "auto":
        mode = "client" if ctx.keys.client is not None else "none"
    body, how = messages.signed(env, mode, ctx.keys)
    notes = [how]
    if spec.get("tamper"):
        body = messages.tampered(body, render(spec["tamper"], scope))
        notes.append("altered after signing: " + tamper_text(render(spec["tamper"], scope)))
    exchange = post(route.address, body, route.soap_action, ctx.timeout, step.id, ctx.session)
    exchange.request_message = msg
    exchange.unsigned, exchange.signing = unsigned, mode
    exchange.notes = notes + [f"sent to {route.operation} at {route.address}"] + (
        [f"payload: {origin}"] if origin else [])
    return exchange


def deliberately_invalid(step: Step, scope: Scope) -> bool:
    """A step that sends a payload its schema refuses on purpose (`invalid: true`, or it expects 1.8)."""
    payload = step.spec.get("payload") or {}
    if render(payload.get("invalid", False), scope) is True:
        return True
    return any(a.kind == "result" and "1.8" in {str(a.params.get("code")), *map(str, a.params.get("codes") or [])}
               for a in step.expect)


def route_of(step: Step, scope: Scope) -> tuple[str, str]:
    """The (verb, noun) of the operation a send or raw step posts to."""
    spec = step.spec
    if step.action == "send":
        to = str(render(spec.get("to") or f"{spec['verb']} {spec['noun']}", scope))
    else:
        to = str(render(spec.get("to") or "", scope))
    to_verb, _, to_noun = to.partition(" ")
    if not to_noun.strip():
        raise SuiteError(f"{step.where}: {step.action} needs to: 'verb Noun' (which operation's address to post to)")
    return verbs.normalize(to_verb), to_noun.strip()


def raw(ctx: RunContext, suite_path: str, step: Step, scope: Scope) -> Exchange:
    spec = step.spec
    to_verb, to_noun = route_of(step, scope)
    route = ctx.targets.route(to_verb, to_noun)
    if "template" in spec:
        from .suites import template_text

        text = template_text(str(render(spec["template"], scope)), suite_path)
    else:
        text = str(spec.get("body") or "")
    local = scope.child(**render(spec.get("vars") or {}, scope))
    body = str(render(text, local, xml=False)).encode("utf-8")
    exchange = post(route.address, body, route.soap_action, ctx.timeout, step.id, ctx.session)
    exchange.notes = [f"raw bytes sent to {route.operation} at {route.address}"]
    return exchange


def replay(ctx: RunContext, step: Step, scope: Scope) -> Exchange:
    """The message of an earlier step again: its exact bytes (`sign: exact`, the default), or re-delivered
    as a sender that retries would (`sign: fresh`): same MessageID, and where it was signed, a fresh
    wsu:Timestamp and signature (the exact signed bytes are what a replay check sends)."""
    spec = step.spec
    first = ctx.exchange_of(str(render(spec["step"], scope)))
    if first is None:
        raise Skip(f"step {spec['step']} sent nothing to re-deliver")
    mode = str(render(spec.get("sign", "exact"), scope))
    if mode not in REPLAY_MODES:
        raise SuiteError(f"{step.where}: replay sign: {mode!r} is not one of {', '.join(REPLAY_MODES)}")
    body, notes = first.request, [f"the exact bytes of step {first.step}, sent again"]
    if mode == "fresh" and first.signing != "none" and first.unsigned:
        if ctx.keys.client is None:
            raise Skip("no --client-cert/--client-key given: the harness cannot re-sign", verdict=SKIPPED)
        env = etree.fromstring(first.unsigned)
        body, how = messages.signed(env, first.signing, ctx.keys)
        notes = [f"the message of step {first.step} again (same MessageID), {how}, with a fresh wsu:Timestamp "
                 "and signature (a re-delivery, not a replay of the signed bytes)"]
    if spec.get("tamper"):
        body = messages.tampered(body, render(spec["tamper"], scope))
        notes.append("altered: " + tamper_text(render(spec["tamper"], scope)))
    exchange = post(first.url, body, first.soap_action, ctx.timeout, step.id, ctx.session)
    exchange.request_message = first.request_message
    exchange.notes = notes
    return exchange


def wait_replies(ctx: RunContext, step: Step, scope: Scope) -> list[Exchange]:
    spec = step.spec
    origin = ctx.exchange_of(str(render(spec["step"], scope)))
    if origin is None or origin.request_message is None:
        raise Skip(f"step {spec['step']} sent no request to wait for")
    if ctx.listener is None:
        raise Skip("the run has no callback listener", verdict=ERROR)
    correlation = m.correlation_for(origin.request_message.header)
    timeout = float(render(spec.get("timeout", 20), scope))
    since = ctx.records[origin.step].mark

    class Until:
        @staticmethod
        def matches(ex):
            return isinstance(ex.message, m.ResponseMessage) and ex.message.header.correlation_id == correlation

        @staticmethod
        def done(found):
            return any(ex.reply.result != reply_codes.PARTIAL for ex in found)

    found = ctx.listener.wait(Until, timeout, since)
    for ex in found:
        ex.origin, ex.step, ex.label = origin, step.id, "callback"
    return found


def wait_event(ctx: RunContext, step: Step, scope: Scope, record: StepRecord) -> list[Exchange]:
    spec = render(step.spec, scope)
    if ctx.listener is None:
        raise Skip("the run has no callback listener", verdict=ERROR)
    verb = verbs.normalize(str(spec.get("verb", "")))
    noun = str(spec.get("noun", ""))
    correlation = spec.get("correlation")
    contains = spec.get("contains")
    wanted = int(spec.get("min", 1))
    timeout = float(spec.get("timeout", 15))
    after = spec.get("after")
    since = ctx.records[after].mark if after in ctx.records else 0
    origin = ctx.exchange_of(after) if after else None

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

    found = ctx.listener.wait(Until, timeout, since)
    for ex in found:
        ex.step, ex.label = step.id, "event"
        if origin is not None:
            ex.origin = origin
    return found


def tamper_text(spec: dict) -> str:
    return f"{spec.get('find')!r} replaced by {spec.get('replace')!r}"


def loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


__all__ = ["send", "raw", "replay", "wait_replies", "wait_event", "route_of", "callback_problem", "loopback", "REPLAY_MODES"]
