"""Assertion kinds: each judges one answer (or the list a wait step collected) and says why.

A kind is a function (params, subject, ctx) -> Outcome, where params are the assertion's
fields with every ${...} already evaluated. `KINDS` lists each kind with the fields it takes,
so that a suite naming an unknown kind or field is refused when it is loaded.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from lxml import etree

from ..message import codes as reply_codes
from ..message import namespaces, soap
from ..profiles import NOUNS, validate_documents, validate_message
from ..profiles.schemaset import SchemaSetError
from ..profiles.validate import compiled_schema
from ..security import SecurityFault, Verifier
from .exchange import Exchange, normalize
from .model import FAIL, NOT_APPLICABLE, PASS, SKIPPED, Outcome

MSG = namespaces.MSG
_UNSEEN = object()
_ZONE = re.compile(r"(Z|[+-]\d{2}:\d{2})$")
_DATETIME = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")


@dataclass(frozen=True)
class Kind:
    fn: Callable
    fields: frozenset[str]  # modifiers it takes besides its own key
    collective: bool = False  # judges the whole list a wait step collected, not each message
    doc: str = ""


def _out(ok: bool, message: str, **evidence) -> Outcome:
    return Outcome(PASS if ok else FAIL, message, evidence=evidence)


def _not_applicable(message: str, **evidence) -> Outcome:
    return Outcome(NOT_APPLICABLE, message, evidence=evidence)


def _no_message(subject: Exchange) -> Outcome | None:
    """A failing outcome when the answer is no readable 61968 message; None when it is one."""
    if subject.message is not None:
        return None
    if subject.fault is not None:
        return _out(False, f"expected a 61968 message, got {subject.summary()}")
    return _out(False, f"expected a 61968 message, got {subject.parse_problem or subject.summary()}")


# ---------------------------------------------------------------- schema


def check_schema(params, subject: Exchange, ctx) -> Outcome:
    which = params["schema"]
    if subject.fault is not None:
        return _not_applicable(f"the answer is a SOAP fault ({subject.fault.code}), not a 61968 message")
    if subject.element is None:
        return _out(False, f"no 61968 message to validate: {subject.parse_problem or subject.summary()}")
    if which == "message":
        problems = validate_message(normalize(subject.element))
        return _out(not problems, "valid against Message.xsd" if not problems else
                    f"does not validate against Message.xsd: {problems[0]}", problems=problems[:10])
    noun_name = getattr(subject.header, "noun", None) or ""
    if which == "noun":
        return _carrier_schema(subject, noun_name, ctx)
    return _payload_schema(subject, noun_name, ctx)


def _carrier_schema(subject: Exchange, noun_name: str, ctx) -> Outcome:
    """A typed carrier against soapbus's <Noun>Message.xsd, or where soapbus has none for its namespace,
    against the schemas the target's WSDL carries (which declare the carrier's element)."""
    ns = etree.QName(subject.element).namespace
    noun = NOUNS.get(noun_name)
    if noun is not None and ns == noun.message_ns:
        schema = compiled_schema(noun.message_xsd)
        ok = schema.validate(etree.fromstring(etree.tostring(subject.element)))
        problems = [f"line {e.line}: {e.message}" for e in schema.error_log][:10]
        return _out(ok, f"valid against {noun.message_xsd}" if ok else
                    f"does not validate against {noun.message_xsd}: {problems[0]}", problems=problems)
    if ns in (namespaces.MSG, namespaces.MSG_WWW, namespaces.ABSTRACT) or not ns:
        return _not_applicable(f"the answer is not a typed carrier (namespace {ns}); Message.xsd judges it")
    schemas = _target_schemas(ctx)
    if schemas is None or schemas.component("element", subject.element.tag) is None:
        return _not_applicable(f"neither soapbus nor the target's WSDL declares the carrier {subject.element.tag}")
    problems = _validate(schemas, subject.element)
    return _out(not problems, "valid against the target's WSDL schema" if not problems else
                f"does not validate against the target's own WSDL schema: {problems[0]}", problems=problems[:10])


def _payload_schema(subject: Exchange, noun_name: str, ctx) -> Outcome:
    """The payload's documents against soapbus's profile of the noun where the documents are in its
    namespace, else against the target's WSDL schema where that declares them."""
    payload = getattr(subject.message, "payload", None)
    if payload is None:
        return _not_applicable("the message carries no Payload")
    try:
        documents = payload.expanded_documents()
    except Exception as exc:  # a Compressed payload that does not inflate
        return _out(False, f"the Payload cannot be read: {exc}")
    noun = NOUNS.get(noun_name)
    if noun is not None and documents and all(etree.QName(d).namespace == namespaces.profile_ns(noun.name)
                                              for d in documents):
        errors = validate_documents(noun.name, documents)
        return _out(not errors, f"payload valid against {noun.profile_xsd}" if not errors else
                    f"payload does not validate against {noun.profile_xsd}: {errors[0].reason}",
                    problems=[e.reason for e in errors[:10]])
    schemas = _target_schemas(ctx)
    undeclared = [d.tag for d in documents if schemas is None or schemas.component("element", d.tag) is None]
    if not documents or undeclared:
        return _not_applicable(f"no schema for {', '.join(undeclared) or 'an empty payload'}: soapbus has no profile "
                               f"in that namespace and the target's WSDL declares none")
    problems = [p for d in documents for p in _validate(schemas, d)]
    return _out(not problems, "payload valid against the target's WSDL schema" if not problems else
                f"payload does not validate against the target's own WSDL schema: {problems[0]}",
                problems=problems[:10])


def _target_schemas(ctx):
    payloads = getattr(ctx, "payloads", None)
    return payloads.target_schemas() if payloads is not None else None


def _validate(schemas, element) -> list[str]:
    try:
        return schemas.validate(element)
    except SchemaSetError as exc:
        raise ValueError(f"the target's WSDL schemas do not compile: {exc}") from None


# ---------------------------------------------------------------- xpath


def check_xpath(params, subject: Exchange, ctx) -> Outcome:
    expr = params["xpath"]
    on = params.get("on", "message")
    if on == "envelope":
        root = subject.envelope
    elif on == "request":
        root = _request_root(subject)
    else:
        root = subject.normalized
    if root is None:
        return _out(False, f"no {on} to evaluate {expr} on: {subject.parse_problem or subject.summary()}",
                    xpath=expr)
    nsmap = {"m": MSG, "soap": namespaces.SOAP11_ENV, "abs": namespaces.ABSTRACT}
    noun = params.get("noun") or getattr(subject.header, "noun", None)
    if noun:
        nsmap["p"] = namespaces.profile_ns(noun)
    nsmap.update(params.get("namespaces") or {})
    try:
        found = root.xpath(expr, namespaces=nsmap)
    except etree.XPathError as exc:
        raise ValueError(f"the XPath {expr!r} is not valid: {exc}") from None
    value = _xpath_value(found)
    evidence = {"xpath": expr, "found": value}
    if "count" in params:
        count = len(found) if isinstance(found, list) else int(found)
        want = int(params["count"])
        return _out(count == want, f"{expr} matched {count} node(s), expected {want}", xpath=expr, found=value,
                    expected=want)
    if "exists" in params:
        present = bool(found) if isinstance(found, list) else found not in ("", None, False)
        want = bool(params["exists"])
        return _out(present == want, f"{expr} {'is' if present else 'is not'} present"
                    f"{'' if present == want else ', expected ' + ('present' if want else 'absent')}", **evidence)
    if "equals" in params:
        want = params["equals"]
        values = value if isinstance(value, list) else [value]
        ok = any(_same(v, want) for v in values) if values else False
        return _out(ok, f"{expr} = {value!r}" + ("" if ok else f", expected {want!r}"), expected=want, **evidence)
    if "matches" in params:
        pattern = params["matches"]
        values = value if isinstance(value, list) else [value]
        ok = bool(values) and all(re.fullmatch(pattern, str(v)) for v in values)
        return _out(ok, f"{expr} = {value!r}" + ("" if ok else f", does not match /{pattern}/"), expected=pattern,
                    **evidence)
    ok = bool(found)
    return _out(ok, f"{expr} is {'true' if ok else 'false'}", **evidence)


def _request_root(subject: Exchange):
    if not subject.request:
        return None
    try:
        env = etree.fromstring(subject.request)
        return normalize(soap.unwrap_element(env).message)
    except Exception:
        return None


def _xpath_value(found):
    if isinstance(found, list):
        out = []
        for item in found:
            if isinstance(item, etree._Element):
                out.append((item.text or "").strip())
            else:
                out.append(str(item))
        return out
    if isinstance(found, float) and found.is_integer():
        return int(found)
    return found


def _same(found, want) -> bool:
    if isinstance(want, bool):
        return str(found).lower() == str(want).lower()
    return str(found).strip() == str(want).strip()


# ---------------------------------------------------------------- reply semantics


def check_result(params, subject: Exchange, ctx) -> Outcome:
    bad = _no_message(subject)
    if bad:
        return bad
    reply = subject.reply
    if reply is None:
        return _out(False, f"expected a reply, got a {subject.message.kind}")
    want = params["result"]
    wanted = want if isinstance(want, list) else [want]
    found_codes = subject.codes()
    problems = []
    if reply.result not in wanted:
        problems.append(f"answered {reply.result} {' '.join(found_codes)}".rstrip() + f", expected {' or '.join(wanted)}")
    if "code" in params and str(params["code"]) not in found_codes:
        problems.append(f"no Error with code {params['code']} (codes: {', '.join(found_codes) or 'none'})")
    if "codes" in params:
        allowed = [str(c) for c in params["codes"]]
        if not found_codes or found_codes[0] not in allowed:
            problems.append(f"first Error code is {found_codes[0] if found_codes else 'missing'}, "
                            f"expected one of {', '.join(allowed)}")
    found = f"{reply.result} {' '.join(found_codes)}".strip()
    # Whether the Result itself was the one expected (codes aside): what steps that build on this one go by.
    as_expected = reply.result in wanted
    if problems:
        return _out(False, "; ".join(problems), found=found, xpath="m:Reply/m:Result, m:Reply/m:Error/m:code",
                    result_as_expected=as_expected)
    return _out(True, f"answered {found}", found=found, result_as_expected=as_expected)


def check_semantics(params, subject: Exchange, ctx) -> Outcome:
    bad = _no_message(subject)
    if bad:
        return bad
    reply = subject.reply
    if reply is None:
        return _not_applicable(f"a {subject.message.kind} has no Reply")
    found = subject.codes()
    problems = []
    unknown = [c for c in found if c not in reply_codes.CODES]
    if unknown:
        problems.append(f"code(s) {', '.join(unknown)} are not among the codes in public use")
    if reply.result == reply_codes.OK:
        if "0.0" not in found and "0.3" not in found and "0.2" not in found:
            problems.append("Result OK without an Error element carrying 0.0")
        if any(not reply_codes.is_success(c) for c in found):
            problems.append(f"Result OK with failure code(s) {', '.join(c for c in found if not reply_codes.is_success(c))}")
    elif reply.result == reply_codes.PARTIAL:
        if not any(c in ("0.1", "0.2") for c in found):
            problems.append("Result PARTIAL without code 0.1 (more follow) or 0.2 (the last part)")
    elif reply.result == reply_codes.FAILED:
        if not found:
            problems.append("Result FAILED without any Error")
        elif all(reply_codes.is_success(c) for c in found):
            problems.append(f"Result FAILED but every code says success ({', '.join(found)})")
    text = f"{reply.result} {' '.join(found)}".strip()
    return _out(not problems, "; ".join(problems) if problems else f"{text}: Result and codes agree", found=text,
                xpath="m:Reply/m:Error/m:code")


def check_correlation(params, subject: Exchange, ctx) -> Outcome:
    bad = _no_message(subject)
    if bad:
        return bad
    origin = subject.origin or subject
    request = origin.request_message
    if request is None or getattr(request, "header", None) is None:
        return _not_applicable("no request to correlate with")
    expected = request.header.correlation_id or request.header.message_id
    found = subject.header.correlation_id
    how = "its CorrelationID" if request.header.correlation_id else "its MessageID (it had no CorrelationID)"
    if found == expected:
        return _out(True, f"CorrelationID {found} echoes the request's {how.split(' (')[0][4:]}",
                    xpath="m:Header/m:CorrelationID", found=found, expected=expected)
    return _out(False, f"CorrelationID is {found!r}, expected the request's {how}: {expected}",
                xpath="m:Header/m:CorrelationID", found=found, expected=expected)


def check_fresh_message_id(params, subject: Exchange, ctx) -> Outcome:
    bad = _no_message(subject)
    if bad:
        return bad
    found = subject.header.message_id
    if not found:
        return _out(False, "Header/MessageID is missing", xpath="m:Header/m:MessageID", found=None)
    try:
        uuid.UUID(found)
        is_uuid = len(found.strip()) in (32, 36, 38, 45)
    except ValueError:
        is_uuid = False
    if not is_uuid:
        return _out(False, f"Header/MessageID {found!r} is not a UUID", xpath="m:Header/m:MessageID", found=found)
    origin = subject.origin or subject
    request = origin.request_message
    answers = request.header.message_id if request is not None and getattr(request, "header", None) else None
    if found == answers:
        return _out(False, f"the answer reuses the request's MessageID {found}", xpath="m:Header/m:MessageID",
                    found=found)
    earlier = ctx.message_ids.get(found, _UNSEEN)
    if earlier is not _UNSEEN and earlier != answers:
        return _out(False, f"MessageID {found} was already used by another message in this run",
                    xpath="m:Header/m:MessageID", found=found)
    return _out(True, f"MessageID {found} is a fresh UUID", found=found)


def check_timestamp(params, subject: Exchange, ctx) -> Outcome:
    bad = _no_message(subject)
    if bad:
        return bad
    root = subject.normalized
    text = root.findtext(f"{{{MSG}}}Header/{{{MSG}}}Timestamp")
    if text is None:
        return _out(False, "Header/Timestamp is missing", xpath="m:Header/m:Timestamp", found=None)
    text = text.strip()
    if not _DATETIME.match(text):
        return _out(False, f"Header/Timestamp {text!r} is not an xs:dateTime", xpath="m:Header/m:Timestamp",
                    found=text)
    if not _ZONE.search(text):
        return _out(False, f"Header/Timestamp {text!r} carries no time zone", xpath="m:Header/m:Timestamp",
                    found=text)
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return _out(False, f"Header/Timestamp {text!r} is not a valid date and time", found=text)
    return _out(True, f"Timestamp {text} carries a zone", found=text)


def check_payload(params, subject: Exchange, ctx) -> Outcome:
    bad = _no_message(subject)
    if bad:
        return bad
    payload = getattr(subject.message, "payload", None)
    want = params["payload"]
    present = payload is not None and bool(payload.documents or payload.operation_set is not None
                                           or payload.compressed or payload.ids)
    if want == "absent":
        return _out(not present, "no Payload" if not present else "carries a Payload it should not",
                    xpath="m:Payload")
    if not present:
        return _out(False, "carries no Payload", xpath="m:Payload", found=None)
    root = params.get("root")
    if root:
        try:
            docs = payload.expanded_documents()
        except Exception as exc:
            return _out(False, f"the Payload cannot be read: {exc}")
        names = [etree.QName(d).localname for d in docs]
        if root not in names:
            return _out(False, f"the Payload holds {', '.join(names) or 'no document'}, expected a {root} document",
                        xpath="m:Payload/*", found=names, expected=root)
    return _out(True, "carries a Payload" + (f" with a {root} document" if root else ""))


def check_mrids(params, subject: list, ctx) -> Outcome:
    """The payload(s) name these objects: as an object's own mRID (a child of the document's items), or,
    where a profile keys its items by another object (readings by their Meter), as an mRID deeper in an
    item. `exact` compares the items' own mRIDs with the list."""
    want = [str(x) for x in (params["mrids"] or [])]
    own: list[str] = []
    deeper: list[str] = []
    for ex in subject if isinstance(subject, list) else [subject]:
        for item in _payload_items(ex):
            for child in item:
                if isinstance(child.tag, str) and etree.QName(child).localname == "mRID":
                    own.append((child.text or "").strip())
            deeper += [(el.text or "").strip() for el in item.iter(etree.Element)
                       if etree.QName(el).localname == "mRID" and el.getparent() is not item]
    if params.get("exact") and sorted(own) != sorted(want):
        return _out(False, f"the payload names {len(own)} object(s) {own[:10]}, expected exactly {want}",
                    found=own, expected=want)
    missing = [x for x in want if x not in own and x not in deeper]
    found = own + [x for x in want if x in deeper and x not in own]
    return _out(not missing, f"the payload names {', '.join(want)}" if not missing else
                f"the payload lacks {', '.join(missing)} (found: {', '.join(own[:10]) or 'none'})",
                found=found, expected=want)


def _payload_items(ex: Exchange) -> list:
    payload = getattr(ex.message, "payload", None)
    if payload is None:
        return []
    try:
        docs = payload.expanded_documents()
    except Exception:
        return []
    return [item for doc in docs for item in doc if isinstance(item.tag, str)]


def check_acknowledged(params, subject: Exchange, ctx) -> Outcome:
    """An asynchronous request is acknowledged with OK 0.3; a complete synchronous answer is allowed too
    (asynchronous replies are optional), which makes the asynchronous checks not applicable."""
    bad = _no_message(subject)
    if bad:
        return bad
    reply = subject.reply
    if reply is None:
        return _out(False, f"expected a reply, got a {subject.message.kind}")
    found = subject.summary()
    codes = subject.codes()
    if reply.result == reply_codes.OK and "0.3" in codes:
        return _out(True, f"acknowledged with {found}", found=found)
    payload = getattr(subject.message, "payload", None)
    if reply.result in (reply_codes.OK, reply_codes.PARTIAL) and (payload is not None or "0.0" in codes
                                                                   or "0.1" in codes or "0.2" in codes):
        return _not_applicable(f"the target answered the asynchronous request synchronously ({found}"
                               f"{' with a Payload' if payload is not None else ''}): asynchronous replies are "
                               "optional in IEC 61968-100, so the checks of them do not apply", found=found)
    return _out(False, f"answered {found}, expected OK 0.3 (acknowledged) or a complete synchronous reply",
                found=found, expected="OK 0.3")


# ---------------------------------------------------------------- refusals and faults


def check_fault(params, subject: Exchange, ctx) -> Outcome:
    fault = subject.fault
    if fault is None:
        return _out(False, f"expected a SOAP Fault, got {subject.summary()}")
    prefix = params.get("code_prefix")
    if prefix and not fault.code.startswith(prefix):
        return _out(False, f"SOAP Fault code {fault.code}, expected one starting with {prefix}", found=fault.code)
    return _out(True, f"SOAP Fault {fault.code}: {fault.reason[:100]}", found=fault.code)


def check_refused(params, subject: Exchange, ctx) -> Outcome:
    if subject.error:
        return _out(False, f"no answer ({subject.error}): a refusal is an answer (a SOAP Fault or FAILED)")
    if subject.fault is not None:
        return _out(True, f"refused with SOAP Fault {subject.fault.code}", found=subject.fault.code)
    reply = subject.reply
    if reply is not None and reply.result == reply_codes.FAILED:
        return _out(True, f"refused with FAILED {' '.join(subject.codes())}")
    if reply is not None:
        return _out(False, f"accepted: answered {subject.summary()}", found=subject.summary())
    if subject.status and subject.status >= 400:
        return _out(True, f"refused with HTTP {subject.status}")
    return _out(False, f"neither refused nor answered: {subject.summary()}")


def check_answered(params, subject: Exchange, ctx) -> Outcome:
    ok = subject.error is None and (subject.fault is not None or subject.message is not None)
    return _out(ok, f"answered: {subject.summary()}" if ok else
                f"no readable answer: {subject.parse_problem or subject.summary()}")


def check_same_reply(params, subject: Exchange, ctx) -> Outcome:
    bad = _no_message(subject)
    if bad:
        return bad
    first = ctx.exchange_of(params["same_reply"])
    if first is None or first.reply is None:
        return _not_applicable(f"step {params['same_reply']} has no reply to compare with")
    a, b = first.reply, subject.reply
    if b is None:
        return _out(False, f"expected a reply, got a {subject.message.kind}")
    found = f"{b.result} {' '.join(subject.codes())} CorrelationID={subject.header.correlation_id}"
    expected = f"{a.result} {' '.join(first.codes())} CorrelationID={first.header.correlation_id}"
    same = (a.result == b.result and first.codes() == subject.codes()
            and first.header.correlation_id == subject.header.correlation_id)
    return _out(same, "the same reply as the first delivery" if same else
                f"a different reply from the first delivery: {found} (first: {expected})", found=found,
                expected=expected)


def check_max_seconds(params, subject: Exchange, ctx) -> Outcome:
    limit = float(params["max_seconds"])
    if subject.error:
        return _out(False, f"no answer ({subject.error})")
    return _out(subject.elapsed <= limit, f"answered in {subject.elapsed:.3f} s (limit {limit:g} s)",
                found=round(subject.elapsed, 3), expected=limit)


def check_signed(params, subject: Exchange, ctx) -> Outcome:
    trust = ctx.keys.trust
    if trust is None:
        return Outcome(SKIPPED, "no --trust given: the harness cannot verify signatures")
    if subject.error or not subject.response:
        return _out(False, f"no answer to verify ({subject.summary()})")
    if subject.fault is not None:
        return _out(False, f"answered with an unsigned SOAP Fault {subject.fault.code}")
    try:
        verified = Verifier(trust).verify(subject.response)
    except SecurityFault as fault:
        return _out(False, f"the signature does not verify: {fault.code}: {fault.reason}",
                    xpath="soap:Header/wsse:Security/ds:Signature")
    except Exception as exc:  # an answer too broken to even look for a signature in
        return _out(False, f"the answer cannot be verified: {exc}")
    return _out(True, f"signed by {verified.subject} and verified against the trust bundle",
                found=verified.subject)


# ---------------------------------------------------------------- waits


def check_received(params, subject: list, ctx) -> Outcome:
    want = int(params.get("min", 1)) if params["received"] is True else int(params["received"])
    got = len(subject)
    if want == 0:
        return _out(got == 0, "nothing arrived, as expected" if got == 0 else f"{got} message(s) arrived, expected none")
    return _out(got >= want, f"{got} message(s) arrived" if got >= want else
                f"{got} message(s) arrived within {params.get('_timeout', '?')} s, expected at least {want}",
                found=got, expected=want)


def check_sequence(params, subject: list, ctx) -> Outcome:
    if not subject:
        return _out(False, "no reply arrived at the callback listener")
    results = [(ex.reply.result if ex.reply is not None else "?", ex.codes()[:1]) for ex in subject]
    text = ", ".join(f"{r} {c[0] if c else ''}".strip() for r, c in results)
    *partials, last = results
    problems = []
    for result, code in partials:
        if result != reply_codes.PARTIAL:
            problems.append(f"{result} before the last reply (only PARTIAL may precede it)")
        elif code and code[0] != "0.1":
            problems.append(f"PARTIAL {code[0]} before the last reply (0.1 says more follow)")
    if last[0] not in (reply_codes.OK, reply_codes.FAILED) and not (last[0] == reply_codes.PARTIAL and last[1] == ["0.2"]):
        problems.append(f"the last reply is {last[0]} {' '.join(last[1])}, expected OK, FAILED or PARTIAL 0.2")
    if params.get("min_partials") and len(partials) < int(params["min_partials"]):
        problems.append(f"{len(partials)} PARTIAL page(s), expected at least {params['min_partials']}")
    return _out(not problems, f"sequence: {text}" if not problems else f"{'; '.join(problems)} (sequence: {text})",
                found=text)


def check_arrived(params, subject: list, ctx) -> Outcome:
    wanted = [str(w) for w in params["arrived"]]
    seen = []
    for ex in subject if isinstance(subject, list) else [subject]:
        header = ex.header
        if header is not None:
            seen.append(f"{header.verb} {header.noun}")
    missing = [w for w in wanted if not any(s.lower() == w.lower() for s in seen)]
    return _out(not missing, f"arrived: {', '.join(wanted)}" if not missing else
                f"never arrived: {', '.join(missing)} (arrived: {', '.join(seen) or 'nothing'})",
                found=seen, expected=wanted)


KINDS: dict[str, Kind] = {
    "schema": Kind(check_schema, frozenset(), doc="`message` (Message.xsd), `noun` (<Noun>Message.xsd for typed "
                                                 "carriers) or `payload` (the noun's profile)"),
    "xpath": Kind(check_xpath, frozenset({"equals", "matches", "exists", "count", "on", "namespaces", "noun"}),
                  doc="an XPath 1.0 expression on the answer (prefixes m, p, soap, abs)"),
    "result": Kind(check_result, frozenset({"code", "codes"}), doc="OK | PARTIAL | FAILED (or a list)"),
    "semantics": Kind(check_semantics, frozenset(), doc="Result and Error/code agree; codes from the public list"),
    "correlation": Kind(check_correlation, frozenset(), doc="CorrelationID = the request's, or its MessageID"),
    "fresh_message_id": Kind(check_fresh_message_id, frozenset(), doc="MessageID is a UUID used by no other message"),
    "timestamp": Kind(check_timestamp, frozenset(), doc="Header/Timestamp is an xs:dateTime with a zone"),
    "payload": Kind(check_payload, frozenset({"root"}), doc="present | absent"),
    "mrids": Kind(check_mrids, frozenset({"exact"}), collective=True, doc="the payload(s) name these objects"),
    "acknowledged": Kind(check_acknowledged, frozenset(), doc="OK 0.3; a complete synchronous reply makes the "
                                                             "step not applicable (asynchronous replies are optional)"),
    "fault": Kind(check_fault, frozenset({"code_prefix"}), doc="the answer is a SOAP Fault"),
    "refused": Kind(check_refused, frozenset(), doc="a SOAP Fault, FAILED, or an HTTP error status"),
    "answered": Kind(check_answered, frozenset(), doc="a readable SOAP answer arrived"),
    "same_reply": Kind(check_same_reply, frozenset(), doc="the same Result, codes and CorrelationID as a step's"),
    "max_seconds": Kind(check_max_seconds, frozenset(), doc="answered within this many seconds"),
    "signed": Kind(check_signed, frozenset(), doc="the answer's WS-Security signature verifies against --trust"),
    "received": Kind(check_received, frozenset({"min"}), collective=True,
                     doc="a wait step collected messages (true, or a number)"),
    "arrived": Kind(check_arrived, frozenset(), collective=True,
                    doc="messages with each of these 'verb Noun' arrived (a list)"),
    "sequence": Kind(check_sequence, frozenset({"min_partials"}), collective=True,
                     doc="`partial-then-final`: PARTIAL 0.1 replies, then OK/FAILED"),
}

__all__ = ["KINDS", "Kind"]
