"""WorkRequests in the 2015 namespaces, with the public 2015 61968-6 profile (Organisation and Work).

What is foreign about it:

* the per-noun message namespace is `http://iec.ch/TC57/2015/WorkRequestsMessage` and the
  payload `http://iec.ch/TC57/2015/WorkRequests#`: the 2015 profile, where a WorkRequest is
  mRID (a UUID, by pattern), Names, Organisation and one or more Work (kind, statusKind ...);
* two WSDLs laid out as the 2015 templates do, `ExecuteWorkRequests` (CreateWorkRequests) and
  `GetWorkRequests` (GetWorkRequests, whose Request may also carry a query of the 2015
  GetWorkRequests profile), dispatched by the Body's element, with schemas imported by
  relative schemaLocation from `xsd/` beside them.

Defective variant: a get answers each WorkRequest without its Work (the system returns only
the columns of its work-request table). The 2015 profile requires Work, so those replies no
longer validate against the profile, nor against WorkRequestsMessage.xsd, which refers to it.
"""
from __future__ import annotations

import copy
from pathlib import Path

from lxml import etree

from .carrier import MSG, CarrierError, Shape, body_child, document, fault, message_schema, payload_problem, \
    profile_schema, read, response
from .http_host import SoapHost
from .rules import AnswerMemory, Inbound, NounStore

NS15 = "http://iec.ch/TC57/2015"
SHAPE = Shape("WorkRequests", f"{NS15}/WorkRequestsMessage", f"{NS15}/WorkRequests#")
GET_PROFILE = f"{NS15}/GetWorkRequests#"
SERVICES = {"ExecuteWorkRequests": ("CreateWorkRequests", "create"), "GetWorkRequests": ("GetWorkRequests", "get")}
SOURCE = "WMS-2015"


class WorkRequests2015:
    def __init__(self, public: Path, defective: bool):
        self.defective = defective
        profiles = public / "profiles-61968-6-2015"
        self.schema = profile_schema(profiles / "WorkRequests.xsd")
        self.store = NounStore(SHAPE.noun)
        self.memory = AnswerMemory()
        self.host = SoapHost(self._handle)
        self._publish(public)
        self.targets = [f"{self.host.base}/2015/{name}" for name in SERVICES]  # endpoint URLs: ?wsdl beside each

    def stop(self) -> None:
        self.host.stop()

    def _handle(self, path: str, action: str, body: bytes) -> tuple[int, bytes]:
        try:
            carrier = body_child(body)
        except CarrierError as exc:
            return 500, fault(str(exc))
        operations = {f"{{{SHAPE.message_ns}}}{element}": verb for element, verb in SERVICES.values()}
        verb = operations.get(carrier.tag)
        if verb is None:
            return 500, fault(f"{carrier.tag} is not an operation here (expected one of {', '.join(operations)})")
        received = read(carrier, SHAPE)
        items, problem = self._items(received.documents)
        header = received.header
        inbound = Inbound(verb, header.get("Verb", ""), header.get("Noun", ""), header.get("MessageID", ""),
                          header.get("Source", ""), received.ids + _queried(received.queries), tuple(items), problem)

        def answer() -> bytes:
            result = self.store.answer(inbound)
            shown = [_without_work(wr) if self.defective else wr for wr in result.items]
            return response(SHAPE, header, result, [document(SHAPE, shown)] if shown else [], source=SOURCE)

        return 200, self.memory.once(inbound.source, inbound.message_id, answer)

    def _items(self, documents) -> tuple[list[tuple[str, object]], str | None]:
        problem = payload_problem(documents, SHAPE, self.schema)
        if problem:
            return [], problem
        p = f"{{{SHAPE.profile_ns}}}"
        items = [((wr.findtext(f"{p}mRID") or "").strip(), wr) for doc in documents for wr in doc.findall(f"{p}WorkRequest")]
        if any(not key for key, _ in items):
            return [], "a WorkRequest without mRID: this system keys work requests by mRID"
        return items, None

    def _publish(self, public: Path) -> None:
        self.host.publish("/2015/xsd/Message.xsd", (public / "envelope" / "Message_2011_ed1_FDIS.xsd").read_bytes())
        for name in ("WorkRequests", "GetWorkRequests"):
            self.host.publish(f"/2015/xsd/{name}.xsd", (public / "profiles-61968-6-2015" / f"{name}.xsd").read_bytes())
        carriers = {"CreateWorkRequests": "Request", "GetWorkRequests": "Request",
                    "WorkRequestsResponseMessage": "Response", "WorkRequestsFaultMessage": "Fault"}
        self.host.publish("/2015/xsd/WorkRequestsMessage.xsd", message_schema(
            SHAPE, carriers, {MSG: "Message.xsd", SHAPE.profile_ns: "WorkRequests.xsd",
                              GET_PROFILE: "GetWorkRequests.xsd"}))
        for service, (element, _) in SERVICES.items():
            self.host.publish(f"/2015/{service}?wsdl", wsdl(service, element, f"{self.host.base}/2015/{service}"))


def _queried(queries) -> tuple[str, ...]:
    """mRIDs named by a GetWorkRequests query of the 2015 Get profile (WorkRequest/mRID)."""
    p = f"{{{GET_PROFILE}}}"
    return tuple((m.text or "").strip() for q in queries if q.tag == f"{p}GetWorkRequests"
                 for m in q.findall(f"{p}WorkRequest/{p}mRID"))


def _without_work(work_request: etree._Element) -> etree._Element:
    trimmed = copy.deepcopy(work_request)
    for work in trimmed.findall(f"{{{SHAPE.profile_ns}}}Work"):
        trimmed.remove(work)
    return trimmed


def wsdl(service: str, operation: str, address: str) -> str:
    """A 2015 template-shaped WSDL with one operation."""
    tns = f"{NS15}/{service}"
    n = SHAPE.noun
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="{service}" targetNamespace="{tns}" xmlns:tns="{tns}"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:infoMessage="{SHAPE.message_ns}">
  <wsdl:types>
    <xs:schema targetNamespace="{tns}" elementFormDefault="qualified">
      <xs:import namespace="{SHAPE.message_ns}" schemaLocation="xsd/{n}Message.xsd"/>
    </xs:schema>
  </wsdl:types>
  <wsdl:message name="{operation}RequestMessage">
    <wsdl:part name="{operation}RequestMessage" element="infoMessage:{operation}"/>
  </wsdl:message>
  <wsdl:message name="ResponseMessage">
    <wsdl:part name="ResponseMessage" element="infoMessage:{n}ResponseMessage"/>
  </wsdl:message>
  <wsdl:message name="FaultMessage">
    <wsdl:part name="FaultMessage" element="infoMessage:{n}FaultMessage"/>
  </wsdl:message>
  <wsdl:portType name="{service}_Port">
    <wsdl:operation name="{operation}">
      <wsdl:input name="{operation}Request" message="tns:{operation}RequestMessage"/>
      <wsdl:output name="{operation}Response" message="tns:ResponseMessage"/>
      <wsdl:fault name="{operation}Fault" message="tns:FaultMessage"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="{service}_Binding" type="tns:{service}_Port">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="{operation}">
      <soap:operation soapAction="{NS15}/{n}/{operation}" style="document"/>
      <wsdl:input name="{operation}Request"><soap:body use="literal"/></wsdl:input>
      <wsdl:output name="{operation}Response"><soap:body use="literal"/></wsdl:output>
      <wsdl:fault name="{operation}Fault"><soap:fault name="{operation}Fault" use="literal"/></wsdl:fault>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="{service}">
    <wsdl:port name="{service}_Port" binding="tns:{service}_Binding">
      <soap:address location="{address}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
"""


def example(mrid: str, organisation: str) -> etree._Element:
    """One 2015 WorkRequest: who asks (Organisation) and the work (kind, status, priority)."""
    return etree.fromstring(f"""<WorkRequests xmlns="{SHAPE.profile_ns}">
  <WorkRequest>
    <mRID>{mrid}</mRID>
    <Names><name>WR-2015-0042</name></Names>
    <Organisation>
      <mRID>0b9e6d2a-5c4f-4a1e-8f3d-2015a0000001</mRID>
      <Names><name>{organisation}</name></Names>
    </Organisation>
    <Work>
      <mRID>0b9e6d2a-5c4f-4a1e-8f3d-2015b0000001</mRID>
      <kind>maintenance</kind>
      <requestDateTime>2015-09-14T08:30:00Z</requestDateTime>
      <statusKind>approved</statusKind>
      <priority><rank>2</rank></priority>
    </Work>
  </WorkRequest>
</WorkRequests>""")


def query(*mrids: str) -> etree._Element:
    """A GetWorkRequests query (the 2015 Get profile) naming work requests by mRID."""
    root = etree.Element(f"{{{GET_PROFILE}}}GetWorkRequests", nsmap={None: GET_PROFILE})
    for mrid in mrids:
        etree.SubElement(etree.SubElement(root, f"{{{GET_PROFILE}}}WorkRequest"), f"{{{GET_PROFILE}}}mRID").text = mrid
    return root
