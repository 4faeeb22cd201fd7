"""One reading of every message: no Header variant can make the signing decision and the
processing read different nouns or verbs (issue: two Noun elements switched signing off).

Hypothesis writes Header variants (repeated Verb/Noun, reordering, both message namespaces,
the carrier's and a vendor namespace, comments, processing instructions, CDATA, character
references, white space) and sends each, unsigned, through every route of a live server:
typed Execute/Get/Receive, generic Request (plain and wrapped), Response and PublishEvent,
OperationSet, asynchronous (ReplyAddress) and fire-and-forget. An independent oracle reads
the variant as the schema does: exactly one Verb and one Noun in the message namespace, or
the message must be refused. For every variant the server either refuses it, or journals it
as processed with exactly that noun and verb, and never for a noun of a signed interface.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soapbus.message import namespaces
from soapbus.store import Store

from .helpers import start_server

MSG = namespaces.MSG
MSG_WWW = "http://www.iec.ch/TC57/2011/schema/message"
VENDOR = "http://vendor.example.com/extension"
SIGNED_NOUNS = {"Controls", "SwitchingPlans", "MeasurementValues"}


def _ns(noun: str) -> str:
    return namespaces.profile_ns(noun)


PAYLOADS = {
    "MeterReadings": lambda mrid: f"""<MeterReadings xmlns="{_ns('MeterReadings')}"><MeterReading><mRID>{mrid}</mRID>
      <Readings><timeStamp>2026-11-26T10:00:00Z</timeStamp><value>1.5</value>
      <ReadingType ref="0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0"/></Readings></MeterReading></MeterReadings>""",
    "Controls": lambda mrid: f"""<Controls xmlns="{_ns('Controls')}"><Control><mRID>{mrid}</mRID>
      <controlType>breakerOpen</controlType><PowerSystemResource><mRID>BREAKER-7</mRID></PowerSystemResource>
      </Control></Controls>""",
    "SwitchingPlans": lambda mrid: f"""<SwitchingPlans xmlns="{_ns('SwitchingPlans')}"><SwitchingPlan>
      <mRID>{mrid}</mRID><name>SP</name><SwitchingStepGroups><sequenceNumber>1</sequenceNumber><SwitchActions>
      <kind>open</kind><sequenceNumber>1</sequenceNumber><PowerSystemResource><mRID>CB-12</mRID></PowerSystemResource>
      </SwitchActions></SwitchingStepGroups></SwitchingPlan></SwitchingPlans>""",
    "MeasurementValues": lambda mrid: f"""<MeasurementValues xmlns="{_ns('MeasurementValues')}"><MeasurementValue>
      <mRID>{mrid}</mRID><timeStamp>2024-03-05T09:40:12Z</timeStamp>
      <DiscreteValue><value>0</value><Discrete><mRID>meas-cb12-pos</mRID></Discrete></DiscreteValue>
      </MeasurementValue></MeasurementValues>""",
}
NOUN_NAMES = sorted(PAYLOADS)


@dataclass(frozen=True)
class Route:
    name: str
    kind: str  # RequestMessage | EventMessage | ResponseMessage
    verb: str
    service: str  # URL path under /soap/; {noun} is the route's own noun for typed services
    wrapper: str | None  # the Body child's Clark name for typed/wrapped forms; None: the plain generic form
    typed_noun: str | None = None  # the typed service's noun (decides its interface)
    operation_set: bool = False
    header_extra: str = ""
    generic_wrapped: bool = False  # <Request><message>...</message></Request>


ROUTES = [
    Route("generic-request", "RequestMessage", "create", "Operations", None),
    Route("generic-request-wrapped", "RequestMessage", "create", "Operations",
          f"{{{namespaces.ABSTRACT}}}Request", generic_wrapped=True),
    Route("generic-get", "RequestMessage", "get", "Operations", None),
    Route("generic-publish-event", "EventMessage", "created", "Operations", None),
    Route("generic-response", "ResponseMessage", "reply", "Operations", None),
    Route("generic-async", "RequestMessage", "create", "Operations", None,
          header_extra="<m:AsyncReplyFlag>true</m:AsyncReplyFlag><m:ReplyAddress>http://127.0.0.1:9/gone"
                       "</m:ReplyAddress>"),
    Route("generic-fire-and-forget", "RequestMessage", "create", "Operations", None,
          header_extra="<m:AckRequired>false</m:AckRequired>"),
    Route("generic-operation-set", "RequestMessage", "execute", "Operations", None, operation_set=True),
    Route("typed-execute-meterreadings", "RequestMessage", "create", "ExecuteMeterReadings",
          "{%s}CreateMeterReadings" % namespaces.noun_message_ns("MeterReadings"), "MeterReadings"),
    Route("typed-get-meterreadings", "RequestMessage", "get", "GetMeterReadings",
          "{%s}GetMeterReadings" % namespaces.noun_message_ns("MeterReadings"), "MeterReadings"),
    Route("typed-receive-meterreadings", "EventMessage", "created", "ReceiveMeterReadings",
          "{%s}CreatedMeterReadings" % namespaces.noun_message_ns("MeterReadings"), "MeterReadings"),
    Route("typed-execute-controls", "RequestMessage", "create", "ExecuteControls",
          "{%s}CreateControls" % namespaces.noun_message_ns("Controls"), "Controls"),
    Route("typed-operation-set-controls", "RequestMessage", "execute", "ExecuteControls",
          "{%s}ExecuteControls" % namespaces.noun_message_ns("Controls"), "Controls", operation_set=True),
]


# ---------------------------------------------------------------- how a value may be written

def _rendered(value: str, style: str) -> str:
    half = len(value) // 2
    return {
        "plain": value,
        "comment": f"{value[:half]}<!-- split -->{value[half:]}",
        "pi": f"{value[:half]}<?split here?>{value[half:]}",
        "cdata": f"<![CDATA[{value}]]>",
        "charref": f"&#{ord(value[0])};{value[1:]}",
        "space": f"\n   {value}\t ",
        "leading-comment": f"<!-- lead -->{value}",
    }[style]


STYLES = ["plain", "comment", "pi", "cdata", "charref", "space", "leading-comment"]


@dataclass(frozen=True)
class Field:
    name: str  # Verb | Noun
    value: str
    namespace: str  # MSG, MSG_WWW, the carrier's, or VENDOR
    style: str

    def xml(self) -> str:
        return f'<x:{self.name} xmlns:x="{self.namespace}">{_rendered(self.value, self.style)}</x:{self.name}>'


def fields(route: Route):
    namespace_choices = [MSG, MSG_WWW, VENDOR] + (
        [namespaces.noun_message_ns(route.typed_noun)] if route.typed_noun else [])
    values = NOUN_NAMES + (["OperationSet"] if route.operation_set else [])
    noun = st.builds(Field, st.just("Noun"), st.sampled_from(values), st.sampled_from(namespace_choices),
                     st.sampled_from(STYLES))
    verb = st.builds(Field, st.just("Verb"), st.sampled_from([route.verb, route.verb, "create", "execute", "get"]),
                     st.sampled_from(namespace_choices), st.sampled_from(STYLES))
    return st.tuples(st.lists(verb, min_size=1, max_size=3), st.lists(noun, min_size=1, max_size=3))


# ---------------------------------------------------------------- the envelope and the oracle

def _payload(route: Route, payload_noun: str, op_noun: str, mrid: str) -> str:
    if route.kind == "ResponseMessage" or route.verb == "get":
        return ""
    if route.operation_set:
        return (f"<m:Payload><m:OperationSet><m:Operation><m:operationId>1</m:operationId>"
                f"<m:noun>{op_noun}</m:noun><m:verb>create</m:verb>{PAYLOADS[op_noun](mrid)}</m:Operation>"
                f"</m:OperationSet></m:Payload>")
    return f"<m:Payload>{PAYLOADS[payload_noun](mrid)}</m:Payload>"


def envelope(route: Route, header_fields: list[Field], payload_noun: str, op_noun: str, message_id: str,
             mrid: str) -> bytes:
    header = "".join(f.xml() for f in header_fields)
    header += (f"<m:Timestamp>2026-12-05T10:00:00Z</m:Timestamp><m:Source>MDMS</m:Source>"
               f"<m:MessageID>{message_id}</m:MessageID>{route.header_extra}")
    request = f"<m:Request><m:ID>{mrid}</m:ID></m:Request>" if route.verb == "get" else ""
    reply = "<m:Reply><m:Result>OK</m:Result></m:Reply>" if route.kind == "ResponseMessage" else ""
    inner = f"<m:Header>{header}</m:Header>{request}{reply}{_payload(route, payload_noun, op_noun, mrid)}"
    if route.wrapper is None:
        body = f'<m:{route.kind} xmlns:m="{MSG}">{inner}</m:{route.kind}>'
    elif route.generic_wrapped:
        ns, local = route.wrapper[1:].split("}")
        body = (f'<w:{local} xmlns:w="{ns}"><w:message xmlns:m="{MSG}">{inner}</w:message></w:{local}>')
    else:  # typed carrier: parts in the per-noun namespace, Header children in the message namespace
        ns, local = route.wrapper[1:].split("}")
        inner = inner.replace("<m:Header>", "<c:Header>").replace("</m:Header>", "</c:Header>")
        inner = inner.replace("<m:Request>", "<c:Request>").replace("</m:Request>", "</c:Request>")
        inner = inner.replace("<m:Payload>", "<c:Payload>").replace("</m:Payload>", "</c:Payload>")
        body = f'<c:{local} xmlns:c="{ns}" xmlns:m="{MSG}">{inner}</c:{local}>'
    return (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            f'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>{body}'
            f'</soapenv:Body></soapenv:Envelope>').encode("utf-8")


def expected(route: Route, verbs: list[Field], nouns: list[Field], op_noun: str) -> tuple[str, str] | None:
    """What the schema says the variant is, or None where it must be refused."""
    message_verbs = [f.value for f in verbs if f.namespace in (MSG, MSG_WWW)]
    message_nouns = [f.value for f in nouns if f.namespace in (MSG, MSG_WWW)]
    if len(message_verbs) != 1 or len(message_nouns) != 1:
        return None
    return message_verbs[0], message_nouns[0]


def must_be_refused(route: Route, noun: str) -> bool:
    """An unsigned message whose interface requires signing: the typed service's, or its Header/Noun's."""
    return (route.typed_noun or noun) in SIGNED_NOUNS


def operation_applied(answer: requests.Response) -> bool:
    """Whether the set's one Operation was applied: the reply says OK (or acknowledges it for later)."""
    return b"<m:Result>OK</m:Result>" in answer.content


# ---------------------------------------------------------------- the live server

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = start_server(tmp_path_factory.mktemp("one-reading"))
    store = Store(proc.database_url)
    yield proc, store
    store.close()
    proc.stop()


def journaled_in(store: Store, message_id: str):
    return [e for e in store.journal_by_message_id(message_id) if e.direction == "in"]


def send(server, route: Route, verbs, nouns, payload_noun: str, op_noun: str):
    proc, store = server
    message_id, mrid = str(uuid.uuid4()), f"ONE-{uuid.uuid4()}"
    body = envelope(route, [*verbs, *nouns], payload_noun, op_noun, message_id, mrid)
    answer = requests.post(f"{proc.url}/soap/{route.service}", data=body, timeout=30,
                           headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
    assert answer.status_code in (200, 202, 500), answer.text[:500]
    return answer, journaled_in(store, message_id)


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_a_plain_variant_is_processed_or_refused_as_its_interface_says(server, route):
    """Positive control: the ordinary form of each route is processed unsigned exactly where allowed."""
    noun = route.typed_noun or "MeterReadings"
    verbs = [Field("Verb", route.verb, MSG, "plain")]
    nouns = [Field("Noun", "OperationSet" if route.operation_set and route.typed_noun is None else noun, MSG, "plain")]
    answer, rows = send(server, route, verbs, nouns, noun, noun)
    processed = [r for r in rows if r.outcome == "processed"]
    if must_be_refused(route, noun):
        assert not processed and b"wsse:" in answer.content, answer.text[:400]
    else:
        assert processed, (answer.status_code, answer.text[:600], rows)
        assert (processed[0].verb, processed[0].noun) == (route.verb, nouns[0].value)


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_two_nouns_are_refused_not_read_two_ways(server, route):
    """The reported attack: MeterReadings then Controls, on every route."""
    verbs = [Field("Verb", route.verb, MSG, "plain")]
    nouns = [Field("Noun", "MeterReadings", MSG, "plain"), Field("Noun", "Controls", MSG_WWW, "plain")]
    answer, rows = send(server, route, verbs, nouns, "Controls", "Controls")
    assert not [r for r in rows if r.outcome == "processed"], (answer.text[:600], rows)
    if not (route.typed_noun and route.typed_noun in SIGNED_NOUNS):
        assert b"1.8" in answer.content and b"Header/Noun appears more than once" in answer.content, answer.text[:600]


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_header_variant_is_refused_or_read_once(server, route, data):
    verbs, nouns = data.draw(fields(route))
    payload_noun = data.draw(st.sampled_from(NOUN_NAMES), label="payload noun")
    op_noun = data.draw(st.sampled_from(NOUN_NAMES), label="operation noun")
    ordered = data.draw(st.permutations([*verbs, *nouns]), label="header order")
    answer, rows = send(server, route, [f for f in ordered if f.name == "Verb"],
                        [f for f in ordered if f.name == "Noun"], payload_noun, op_noun)
    processed = [r for r in rows if r.outcome == "processed"]
    if not processed:
        return  # refused: nothing was decided on a second reading
    reading = expected(route, verbs, nouns, op_noun)
    assert reading is not None, f"processed a variant the schema refuses: {rows}"
    verb, noun = reading
    assert (processed[0].verb, processed[0].noun) == (verb, noun)
    assert not must_be_refused(route, noun), f"processed {verb} {noun} unsigned on {route.name}"
    if route.operation_set and op_noun in SIGNED_NOUNS:  # the set keeps to an unsigned Header/Noun
        assert not operation_applied(answer), f"an unsigned set applied a {op_noun} operation: {answer.text[:600]}"


def test_no_signed_interface_object_was_written_by_unsigned_traffic(server):
    """Runs last in this module: after all the variants, the store holds readings but no control,
    switching plan or measurement (each would have come from an unsigned request)."""
    _, store = server
    with store.unit_of_work() as uow:
        for noun in SIGNED_NOUNS:
            assert uow.object_list(noun) == [], noun
        assert uow.object_list("MeterReadings"), "positive control: unsigned MeterReadings creates were stored"


@pytest.mark.parametrize("verb", ["create", "change", "get"])
def test_an_operation_set_under_another_verb_is_refused_not_answered_ok(server, verb):
    """Found by the property above: a create carrying a Payload/OperationSet was answered OK having done nothing."""
    route = next(r for r in ROUTES if r.name == "generic-operation-set")
    verbs = [Field("Verb", verb, MSG, "plain")]
    answer, rows = send(server, route, verbs, [Field("Noun", "MeterReadings", MSG, "plain")], "MeterReadings",
                        "MeterReadings")
    assert b"<m:Result>FAILED</m:Result>" in answer.content
    assert b"a Payload/OperationSet is carried by execute, not by " + verb.encode() in answer.content
    assert [r.outcome for r in rows] == ["rejected"]
