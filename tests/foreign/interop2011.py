"""A meter data system in the shape of the 2011 CIM interoperability tests, hand-written WSDL and all.

What is foreign about it:

* per-noun namespaces spelled `http://www.iec.ch/TC57/2011/<Noun>Message` (with `www.`);
* `GetMeterReadings` and `CreateMeterReadings` both take `MeterReadingsRequestMessage` (the
  verb travels in Header/Verb; only the SOAPAction tells the operations apart) and answer
  `MeterReadingsResponseMessage`; `CreatedEndDeviceEvents` takes `EndDeviceEventsEventMessage`;
* the WSDL's soap:address is `http://interop-test.invalid:8080/MDMS/...`, where it does not run:
  a client reaches it only by being told the real endpoint;
* payloads follow the public 61968-9 profiles, where a MeterReading has no mRID: readings are
  kept per meter (MeterReading/Meter/mRID), a get names meters, and a create for a meter
  already held adds its readings.

Defective variant: an OK reply carries no Error element with code 0.0 (a habit of several
2011-era systems; the standard's replies always carry it).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from .carrier import MSG, CarrierError, Shape, body_child, document, fault, message_schema, payload_problem, \
    profile_schema, read, response
from .http_host import SoapHost
from .rules import AnswerMemory, Inbound, NounStore

W = "http://www.iec.ch/TC57/2011"
ADVERTISED = "http://interop-test.invalid:8080/MDMS"
READINGS = Shape("MeterReadings", f"{W}/MeterReadingsMessage", "http://iec.ch/TC57/2011/MeterReadings#")
EVENTS = Shape("EndDeviceEvents", f"{W}/EndDeviceEventsMessage", "http://iec.ch/TC57/2011/EndDeviceEvents#")
SOURCE = "INTEROP-MDMS"


@dataclass(frozen=True)
class Operation:
    name: str
    verb: str  # the 61968 verb it serves
    shape: Shape
    input_element: str  # local name, in shape.message_ns

    @property
    def soap_action(self) -> str:
        return f"{W}/{self.shape.noun}/{self.name}"


OPERATIONS = (
    Operation("GetMeterReadings", "get", READINGS, "MeterReadingsRequestMessage"),
    Operation("CreateMeterReadings", "create", READINGS, "MeterReadingsRequestMessage"),
    Operation("CreatedEndDeviceEvents", "created", EVENTS, "EndDeviceEventsEventMessage"),
)


class InteropMDMS:
    def __init__(self, public: Path, defective: bool):
        self.defective = defective
        self.schemas = {READINGS.noun: profile_schema(public / "profiles-61968-9" / "MeterReadings.xsd"),
                        EVENTS.noun: profile_schema(public / "profiles-61968-9" / "EndDeviceEvents.xsd")}
        self.stores = {READINGS.noun: NounStore(READINGS.noun, merge=lambda held, more: held + more),
                       EVENTS.noun: NounStore(EVENTS.noun)}
        self.memory = AnswerMemory()
        self.host = SoapHost(self._handle)
        self.wsdl = self._publish(public)
        self.endpoint = f"{self.host.base}/MDMS/MeterReadings"  # what --endpoint must say

    def seed(self, readings: etree._Element) -> list[str]:
        """Load a MeterReadings document as readings the system already holds; returns the meters."""
        items, problem = self._items(READINGS, [readings])
        assert problem is None, problem
        for meter, found in items:
            self.stores[READINGS.noun].add(meter, found)
        return [meter for meter, _ in items]

    def stop(self) -> None:
        self.host.stop()

    # ------------------------------------------------------------ one request

    def _handle(self, path: str, action: str, body: bytes) -> tuple[int, bytes]:
        try:
            carrier = body_child(body)
            op = self._operation(action, carrier)
        except CarrierError as exc:
            return 500, fault(str(exc))
        received = read(carrier, op.shape)
        items, problem = self._items(op.shape, received.documents)
        if problem is None and received.documents:
            problem = payload_problem(received.documents, op.shape, self.schemas[op.shape.noun])
        header = received.header
        inbound = Inbound(op.verb, header.get("Verb", ""), header.get("Noun", ""), header.get("MessageID", ""),
                          header.get("Source", ""), received.ids, tuple(items), problem)

        def answer() -> bytes:
            result = self.stores[op.shape.noun].answer(inbound)
            found = [reading for held in result.items for reading in held]
            documents = [document(op.shape, found)] if found else []
            return response(op.shape, header, result, documents, source=SOURCE, ok_code=not self.defective)

        return 200, self.memory.once(inbound.source, inbound.message_id, answer)

    def _operation(self, action: str, carrier: etree._Element) -> Operation:
        """By SOAPAction, as the WSDL says; without one, by the Body's element where that is unambiguous."""
        if action:
            op = next((o for o in OPERATIONS if o.soap_action == action), None)
            if op is None:
                raise CarrierError(f"SOAPAction {action!r} is none of this system's operations")
            if carrier.tag != f"{{{op.shape.message_ns}}}{op.input_element}":
                raise CarrierError(f"{op.name} takes {{{op.shape.message_ns}}}{op.input_element}, not {carrier.tag}")
            return op
        candidates = [o for o in OPERATIONS if carrier.tag == f"{{{o.shape.message_ns}}}{o.input_element}"]
        if len(candidates) != 1:
            names = " and ".join(o.name for o in candidates) or "no operation"
            raise CarrierError(f"{carrier.tag} is the input of {names}: send the SOAPAction of the one meant")
        return candidates[0]

    def _items(self, shape: Shape, documents) -> tuple[list[tuple[str, object]], str | None]:
        p = f"{{{shape.profile_ns}}}"
        items = []
        for doc in documents:
            if shape is READINGS:
                for reading in doc.findall(f"{p}MeterReading"):
                    meter = reading.findtext(f"{p}Meter/{p}mRID")
                    if not meter:
                        return [], "a MeterReading without Meter/mRID: readings are kept per meter"
                    items.append((meter.strip(), [reading]))
            else:
                for event in doc.findall(f"{p}EndDeviceEvent"):
                    items.append(((event.findtext(f"{p}mRID") or "").strip() or str(uuid.uuid4()), event))
        return items, None

    # ------------------------------------------------------------ what it publishes

    def _publish(self, public: Path) -> str:
        envelope = public / "envelope" / "Message_2011_ed1_FDIS.xsd"
        self.host.publish("/interop/Message.xsd", envelope.read_bytes())
        for shape in (READINGS, EVENTS):
            self.host.publish(f"/interop/{shape.noun}.xsd", (public / "profiles-61968-9" / f"{shape.noun}.xsd").read_bytes())
            carriers = {f"{shape.noun}{kind}Message": kind for kind in ("Request", "Response", "Event", "Fault")}
            self.host.publish(f"/interop/{shape.noun}Message.xsd", message_schema(
                shape, carriers, {MSG: "Message.xsd", shape.profile_ns: f"{shape.noun}.xsd"}))
        return self.host.publish("/interop/MDMS.wsdl", wsdl())


def wsdl() -> str:
    """One WSDL, one port per noun, addresses on a host that does not exist."""
    nouns = [READINGS, EVENTS]
    ns_decls = " ".join(f'xmlns:{s.noun}="{s.message_ns}"' for s in nouns)
    imports = "".join(f'<xs:import namespace="{s.message_ns}" schemaLocation="{s.noun}Message.xsd"/>' for s in nouns)
    messages, port_types, bindings, ports = [], [], [], []
    for s in nouns:
        for kind in ("Request", "Response", "Event", "Fault"):
            messages.append(f'<wsdl:message name="{s.noun}{kind}Message"><wsdl:part name="{s.noun}{kind}Message" '
                            f'element="{s.noun}:{s.noun}{kind}Message"/></wsdl:message>')
        ops = [o for o in OPERATIONS if o.shape is s]
        port_types.append(f'<wsdl:portType name="{s.noun}_Port">' + "".join(
            f'<wsdl:operation name="{o.name}"><wsdl:input message="tns:{o.input_element}"/>'
            f'<wsdl:output message="tns:{s.noun}ResponseMessage"/>'
            f'<wsdl:fault name="{s.noun}Fault" message="tns:{s.noun}FaultMessage"/></wsdl:operation>' for o in ops)
            + "</wsdl:portType>")
        bindings.append(f'<wsdl:binding name="{s.noun}_Binding" type="tns:{s.noun}_Port">'
                        '<soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>' + "".join(
                            f'<wsdl:operation name="{o.name}"><soap:operation soapAction="{o.soap_action}" '
                            'style="document"/><wsdl:input><soap:body use="literal"/></wsdl:input>'
                            '<wsdl:output><soap:body use="literal"/></wsdl:output>'
                            f'<wsdl:fault name="{s.noun}Fault"><soap:fault name="{s.noun}Fault" use="literal"/>'
                            '</wsdl:fault></wsdl:operation>' for o in ops) + "</wsdl:binding>")
        ports.append(f'<wsdl:port name="{s.noun}_Port" binding="tns:{s.noun}_Binding">'
                     f'<soap:address location="{ADVERTISED}/{s.noun}"/></wsdl:port>')
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="MDMS" targetNamespace="{W}/MDMS" xmlns:tns="{W}/MDMS"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" {ns_decls}>
  <wsdl:types><xs:schema targetNamespace="{W}/MDMS" elementFormDefault="qualified">{imports}</xs:schema></wsdl:types>
  {"".join(messages)}
  {"".join(port_types)}
  {"".join(bindings)}
  <wsdl:service name="MDMS">{"".join(ports)}</wsdl:service>
</wsdl:definitions>
"""


def example_readings(meter: str, value: str) -> etree._Element:
    """One register read for a meter, as the head end reports it (valid under the public profile)."""
    return etree.fromstring(f"""<MeterReadings xmlns="{READINGS.profile_ns}">
  <MeterReading>
    <Meter><mRID>{meter}</mRID></Meter>
    <Readings>
      <reason>inquiry</reason>
      <timeStamp>2011-06-02T00:00:00Z</timeStamp>
      <value>{value}</value>
      <ReadingType ref="0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0"/>
    </Readings>
  </MeterReading>
</MeterReadings>""")
