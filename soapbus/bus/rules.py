"""Event/action rules, run as middleware: an event that matches a rule causes a request.

A rule is data: which event (verb, noun), which objects in it (an XPath test on each object
of the payload), and the name of the action that turns a matching object into requests.
The event is what a handler's successful answer means: a received `created EndDeviceEvents`
event, or the `created` that follows a successful `create EndDeviceEvents` request. The
`RuleEngine` middleware looks at each answer on its way out (egress) and submits the rule's
requests through the same handlers and middleware as any other request, in the same
transaction, journaled with peer `rules`; they publish their own past-tense events. So a DMS
that registered its own OutageRecords handlers gets the rule's requests too, and only when the
rules are switched on: `soapbus serve --rules outage` (ServerConfig.rules); off by default.

Shipped rules (IEC 61968-9 end device event types, the EPRI outage sequence):
  created EndDeviceEvents, type 3.26.0.85 (last gasp)   -> create an OutageRecord for the meter
  created EndDeviceEvents, type 3.26.0.216 (restored)   -> change it to closed, then close it
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Callable

from lxml import etree

from .. import message as m
from ..handlers import HandlerRequest, HandlerResult, Middleware
from ..message import verbs
from ..profiles import get as get_noun
from ..profiles import objects

LAST_GASP = "3.26.0.85"
RESTORED = "3.26.0.216"
OUTAGE_NOUN = "OutageRecords"
DEVICE_NAME_TYPE = "EndDevice"

RULES_PEER = "rules"  # the caller the journal names for the requests rules submit

RunLocal = Callable[[m.RequestMessage], m.Reply]


@dataclass(frozen=True)
class Rule:
    name: str
    verb: str  # the event verb, e.g. created
    noun: str  # the event noun, e.g. EndDeviceEvents
    match: str  # XPath on one object of the payload, prefix p = the noun's profile namespace
    action: str  # a name in ACTIONS


@dataclass
class RuleContext:
    """What an action may use: the header of the message the event came from, the request's unit
    of work, and a way to run requests."""

    header: m.Header
    uow: object
    run: RunLocal
    source: str


def _text(item, ns: str, path: str) -> str | None:
    found = item.xpath(path, namespaces={"p": ns})
    if not found:
        return None
    value = found[0]
    return (value if isinstance(value, str) else value.text or "").strip() or None


def _request(ctx: RuleContext, verb: str, document: etree._Element | None, ids=()) -> m.RequestMessage:
    header = m.Header(verb=verb, noun=OUTAGE_NOUN, timestamp=m.now(), source=ctx.source,
                      message_id=m.new_message_id(), context=ctx.header.context,
                      correlation_id=m.correlation_for(ctx.header))
    payload = m.Payload(documents=[document]) if document is not None else None
    request = m.Request(ids=[m.ID(i) for i in ids]) if ids else None
    return m.RequestMessage(header, request, payload)


def _outage_ns() -> str:
    return get_noun(OUTAGE_NOUN).profile_ns


def _event_ref(parent, ns: str, event_mrid: str | None, created: str | None, event_type: str) -> None:
    if not event_mrid:
        return
    ref = etree.SubElement(parent, f"{{{ns}}}EndDeviceEvents")
    etree.SubElement(ref, f"{{{ns}}}mRID").text = event_mrid
    if created:
        etree.SubElement(ref, f"{{{ns}}}createdDateTime").text = created
    etree.SubElement(ref, f"{{{ns}}}EndDeviceEventType").set("ref", event_type)


def _devices(item, event_ns: str) -> list[str]:
    return [d for d in (x.strip() for x in item.xpath("p:Assets/p:mRID/text()", namespaces={"p": event_ns})) if d]


def open_records(uow, device: str) -> list:
    """The open OutageRecords of a device (the lookup convention of xsd/OutageRecords.xsd)."""
    ns = _outage_ns()
    found = []
    for row in uow.object_find_by_name(OUTAGE_NOUN, device, DEVICE_NAME_TYPE):
        stored = etree.fromstring(row.xml)
        if row.status == "active" and stored.findtext(f"{{{ns}}}status/{{{ns}}}value") == "open":
            found.append(row)
    return found


def open_outage(ctx: RuleContext, item, event_ns: str) -> None:
    created = _text(item, event_ns, "p:createdDateTime")
    for device in _devices(item, event_ns):
        if open_records(ctx.uow, device):
            continue  # a repeated last gasp: the outage is already on record
        ns = _outage_ns()
        doc = etree.Element(f"{{{ns}}}{OUTAGE_NOUN}", nsmap={None: ns})
        record = etree.SubElement(doc, f"{{{ns}}}OutageRecord")
        etree.SubElement(record, f"{{{ns}}}mRID").text = str(uuid.uuid4())
        etree.SubElement(record, f"{{{ns}}}cause").text = "last gasp reported by the meter"
        if created:
            etree.SubElement(record, f"{{{ns}}}createdDateTime").text = created
            period = etree.SubElement(record, f"{{{ns}}}actualPeriod")
            etree.SubElement(period, f"{{{ns}}}start").text = created
        _event_ref(record, ns, _text(item, event_ns, "p:mRID"), created, LAST_GASP)
        devices = etree.SubElement(record, f"{{{ns}}}EndDevices")
        etree.SubElement(devices, f"{{{ns}}}mRID").text = device
        name = etree.SubElement(record, f"{{{ns}}}Names")
        etree.SubElement(name, f"{{{ns}}}name").text = device
        etree.SubElement(etree.SubElement(name, f"{{{ns}}}NameType"), f"{{{ns}}}name").text = DEVICE_NAME_TYPE
        etree.SubElement(etree.SubElement(record, f"{{{ns}}}status"), f"{{{ns}}}value").text = "open"
        ctx.run(_request(ctx, "create", doc))


def close_outage(ctx: RuleContext, item, event_ns: str) -> None:
    created = _text(item, event_ns, "p:createdDateTime")
    ns = _outage_ns()
    for device in _devices(item, event_ns):
        for row in open_records(ctx.uow, device):
            record = etree.fromstring(row.xml)
            _set_end(record, ns, created)
            _event_ref_in_order(record, ns, _text(item, event_ns, "p:mRID"), created)
            record.find(f"{{{ns}}}status/{{{ns}}}value").text = "closed"
            doc = etree.Element(f"{{{ns}}}{OUTAGE_NOUN}", nsmap={None: ns})
            doc.append(record)
            ctx.run(_request(ctx, "change", doc))
            ctx.run(_request(ctx, "close", None, ids=[row.key]))


def _set_end(record, ns: str, when: str | None) -> None:
    if not when:
        return
    period = record.find(f"{{{ns}}}actualPeriod")
    if period is None:
        period = etree.Element(f"{{{ns}}}actualPeriod")
        _insert_in_order(record, ns, period)
    end = period.find(f"{{{ns}}}end")
    if end is None:
        end = etree.Element(f"{{{ns}}}end")
        period.insert(0, end)  # DateTimeInterval is end?, start?
    end.text = when


def _event_ref_in_order(record, ns: str, event_mrid: str | None, created: str | None) -> None:
    holder = etree.Element("holder")
    _event_ref(holder, ns, event_mrid, created, RESTORED)
    for ref in holder:
        _insert_in_order(record, ns, ref)


# The OutageRecord's child order (xsd/OutageRecords.xsd): new children go to their place.
_ORDER = ("mRID", "cause", "createdDateTime", "description", "actualPeriod", "Customers", "EndDeviceEvents",
          "EndDevices", "estimatedPeriod", "Names", "status", "UsagePoints")


def _insert_in_order(record, ns: str, child) -> None:
    rank = _ORDER.index(etree.QName(child).localname)
    position = 0
    for index, existing in enumerate(record):
        if _ORDER.index(etree.QName(existing).localname) <= rank:
            position = index + 1
    record.insert(position, child)


ACTIONS: dict[str, Callable[[RuleContext, etree._Element, str], None]] = {
    "open_outage": open_outage,
    "close_outage": close_outage,
}

DEFAULT_RULES = (
    Rule("last gasp opens an outage record", "created", "EndDeviceEvents",
         f"p:EndDeviceEventType/@ref = '{LAST_GASP}'", "open_outage"),
    Rule("restoration closes the outage record", "created", "EndDeviceEvents",
         f"p:EndDeviceEventType/@ref = '{RESTORED}'", "close_outage"),
)


# Rule sets a server can switch on by name (ServerConfig.rules, `soapbus serve --rules NAME`).
RULE_SETS: dict[str, tuple[Rule, ...]] = {"outage": DEFAULT_RULES}


def _event_verb(request: HandlerRequest) -> str | None:
    """The past-tense event a successful answer to this request means, or None (a query, a reply)."""
    if isinstance(request.message, m.EventMessage):
        return request.verb
    if isinstance(request.message, m.RequestMessage):
        return verbs.event_for(request.verb)
    return None


class RuleEngine(Middleware):
    """The rules as middleware: after every successful answer, the actions of the matching rules."""

    name = "event/action rules"

    def __init__(self, rules=DEFAULT_RULES, source: str = "soapbus"):
        for rule in rules:
            if rule.action not in ACTIONS:
                raise ValueError(f"rule {rule.name!r}: unknown action {rule.action!r}; known: {sorted(ACTIONS)}")
        self.rules = tuple(rules)
        self.source = source

    def egress(self, request: HandlerRequest, result: HandlerResult) -> HandlerResult:
        if result.ok:
            self.apply(request)
        return result

    def apply(self, request: HandlerRequest) -> int:
        """Run every action whose rule matches an object of the request's event; returns how many matched."""
        verb = _event_verb(request)
        if verb is None or request.element_operation:  # an element operation's documents name parts only
            return 0
        matched = 0
        ctx = RuleContext(request.message.header, request.uow, lambda nested: request.submit(nested, RULES_PEER),
                          self.source)
        for rule in self.rules:
            if rule.verb != verb or rule.noun != request.noun.name:
                continue
            for doc in request.documents:
                ns = etree.QName(doc).namespace  # the document's own edition: its items are read in it
                for item in objects.items(request.noun, doc):
                    if item.xpath(f"boolean({rule.match})", namespaces={"p": ns}):
                        ACTIONS[rule.action](ctx, item, ns)
                        matched += 1
        return matched


def rule_set(name: str, source: str) -> RuleEngine:
    """The middleware of a named rule set; KeyError names the known ones."""
    if name not in RULE_SETS:
        raise KeyError(f"no rule set {name!r}; known: {', '.join(sorted(RULE_SETS))}")
    return RuleEngine(RULE_SETS[name], source)


__all__ = ["Rule", "RuleEngine", "RuleContext", "DEFAULT_RULES", "RULE_SETS", "RULES_PEER", "ACTIONS", "rule_set",
           "open_records", "LAST_GASP", "RESTORED"]
