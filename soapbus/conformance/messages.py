"""Building the messages a step sends: header, request, payload from templates, carrier, signature."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

from lxml import etree

from .. import message as m
from ..message import MessageError, soap, verbs
from ..security import sign_envelope
from .errors import Skip, SuiteError, TemplateError
from .suites import template_text
from .templating import Scope, render

# Header element names as the schema spells them -> Header attribute names
_FIELDS = {**m.HEADER_FIELDS}
_TIMES = {"timestamp"}
_BOOLS = {"async_reply_flag", "ack_required"}


def header(verb: str, noun: str, fields: dict | None, source: str) -> m.Header:
    values = dict(timestamp=m.now(), source=source, message_id=m.new_message_id())
    for name, value in (fields or {}).items():
        attr = _FIELDS.get(name)
        if attr is None or attr in ("verb", "noun"):
            raise SuiteError(f"header field {name!r} is not one the harness sets "
                             f"(use {', '.join(k for k in _FIELDS if k not in ('Verb', 'Noun'))}; "
                             "Verb and Noun come from verb/noun)")
        if value is None:
            values[attr] = None
        elif attr in _TIMES:
            values[attr] = m.parse_time(str(value), f"Header/{name}")
        elif attr in _BOOLS:
            values[attr] = str(value).lower() in ("true", "1", "yes")
        elif attr == "user":
            values[attr] = m.User(str(value))
        elif attr == "replay_detection":
            values[attr] = m.ReplayDetection(str(value), m.now())
        else:
            values[attr] = str(value)
    return m.Header(verb=verb, noun=noun, **values)


def request_part(spec: dict | None) -> m.Request | None:
    if not spec:
        return None
    ids = []
    for item in spec.get("ids") or []:
        if isinstance(item, dict):
            ids.append(m.ID(str(item.get("value")), id_type=item.get("idType"), kind=item.get("kind"),
                            object_type=item.get("objectType")))
        else:
            ids.append(m.ID(str(item), kind=spec.get("id_kind"), id_type=spec.get("id_type")))
    options = [(str(k), None if v is None else str(v)) for k, v in (spec.get("options") or {}).items()]
    start = m.parse_time(str(spec["start"]), "Request/StartTime") if spec.get("start") else None
    end = m.parse_time(str(spec["end"]), "Request/EndTime") if spec.get("end") else None
    return m.Request(start_time=start, end_time=end, options=options, ids=ids)


def xml_from(spec: dict, scope: Scope, suite_path: str, what: str) -> etree._Element:
    """An element from `template: FILE` (rendered with XML escaping) or inline `xml: TEXT`."""
    if "template" in spec:
        text = template_text(str(render(spec["template"], scope)), suite_path)
    elif "xml" in spec:
        text = str(spec["xml"])
    else:
        raise SuiteError(f"{what}: give template: FILE or xml: TEXT")
    local = scope.child(**render(spec.get("vars") or {}, scope))
    rendered = render(text, local, xml=True)
    try:
        return m.parse_bytes(rendered.encode("utf-8"), what)
    except MessageError as exc:
        raise TemplateError(f"{what}: the rendered template is not XML: {exc.reason}") from None


def payload_part(spec: dict | None, scope: Scope, suite_path: str, objects=None) -> tuple[m.Payload | None, str | None]:
    """The Payload a step sends, and where its document came from (for the report)."""
    if not spec:
        return None, None
    if "object" in spec:
        return _object_payload(spec, scope, suite_path, objects)
    return _plain_payload(spec, scope, suite_path), None


def _object_payload(spec: dict, scope: Scope, suite_path: str, objects) -> tuple[m.Payload, str]:
    """`object: NOUN`: an object of that noun from the run's payload sources (see payloads.py)."""
    if objects is None:
        raise SuiteError("payload: object needs the run's payload sources (run the suite through soapbus.conformance)")
    local = scope.child(**render(spec.get("vars") or {}, scope))
    noun = str(render(spec["object"], scope))
    mrid = local.values.get("mrid")
    found = objects.document(noun, None if mrid is None else str(mrid), local, suite_path,
                             invalid=bool(render(spec.get("invalid", False), scope)))
    if spec.get("compressed"):
        return m.Payload.compress(found.element), found.origin
    return m.Payload(documents=[found.element], format="XML"), found.origin


def _plain_payload(spec: dict, scope: Scope, suite_path: str) -> m.Payload:
    if "operation_set" in spec:
        return m.Payload(operation_set=xml_from(spec["operation_set"], scope, suite_path, "payload.operation_set"))
    if "ids" in spec:
        return m.Payload(ids=[m.ID(str(i)) for i in spec["ids"]])
    document = xml_from(spec, scope, suite_path, "payload")
    if spec.get("compressed"):
        return m.Payload.compress(document)
    return m.Payload(documents=[document], format="XML")


def build(verb: str, noun: str, header_part: m.Header, request: m.Request | None, payload: m.Payload | None):
    if verbs.normalize(verb) in verbs.EVENT_VERBS:
        return m.EventMessage(header_part, payload)
    return m.RequestMessage(header_part, request, payload)


def envelope_bytes(route, msg, remove: list[str] | None) -> tuple[etree._Element, bytes]:
    body_child = route.carrier(msg)
    for name in remove or []:
        removed = False
        for el in list(body_child.iter(etree.Element)):
            parent = el.getparent()
            if (parent is not None and etree.QName(parent).localname == "Header"
                    and etree.QName(el).localname == name):
                parent.remove(el)
                removed = True
        if not removed:
            raise SuiteError(f"remove: the message has no Header/{name} to remove")
    env = soap.envelope(body_child, version=getattr(route, "soap_version", "1.1"))
    return env, soap.to_bytes(env)


def signed(env: etree._Element, mode: str, keys) -> tuple[bytes, str]:
    """The envelope signed as `mode` asks: none, client, expired, wrong_certificate."""
    if mode == "none":
        return soap.to_bytes(env), "unsigned"
    if keys.client is None:
        raise Skip("no --client-cert/--client-key given: the harness cannot sign", verdict="skipped")
    env = copy.deepcopy(env)
    if mode == "client":
        return soap.to_bytes(sign_envelope(env, keys.client)), "signed with the client key"
    if mode == "expired":
        past = datetime.now(timezone.utc) - timedelta(hours=2)
        return (soap.to_bytes(sign_envelope(env, keys.client, now=past, ttl=300)),
                "signed with the client key, wsu:Timestamp expired two hours ago")
    if mode == "wrong_certificate":
        return (soap.to_bytes(sign_envelope(env, keys.wrong_certificate())),
                "signed with a self-signed certificate nobody trusts (same name as the client's)")
    raise SuiteError(f"sign: {mode!r} is not one of auto, none, client, expired, wrong_certificate")


def tampered(data: bytes, spec: dict) -> bytes:
    find, replace = str(spec.get("find", "")), str(spec.get("replace", ""))
    if not find or find.encode() not in data:
        raise TemplateError(f"tamper: {find!r} does not occur in the message, so it cannot be altered")
    return data.replace(find.encode(), replace.encode(), 1)


__all__ = ["header", "request_part", "payload_part", "build", "envelope_bytes", "signed", "tampered", "xml_from"]
