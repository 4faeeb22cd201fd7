"""A Spyne service for IEC 61968-5 DER groups: a noun soapbus does not ship, in a vendor's own namespaces.

What is foreign about it:

* Spyne writes the WSDL and the schemas, in its own way: one portType named after the
  application, soapAction = the operation's name, elements optional and nillable unless said
  otherwise;
* operations `CreateDERGroups`, `ChangeDERGroups`, `QueryDERGroups` (the vendor's name for a
  get) and `DeleteDERGroups`, whose input elements are named like them in
  `http://vendor.example.com/der/2016/DERGroups`, all answered with `DERGroupsResponseMessage`;
* Header, Request and Reply hold elements of the vendor's message namespace
  `http://vendor.example.com/der/message`, not iec.ch;
* the payload is the vendor's DERGroups profile, modelled on IEC 61968-5 (EndDeviceGroup with
  mRID, description, Names, DERFunction, EndDevices, version), in
  `http://vendor.example.com/der/2016/DERGroups#`;
* its schema enumerates verbs in upper case (CREATE, CHANGE, GET, DELETE, REPLY ...); it reads
  verbs in any case.

Defective variant: every reply's CorrelationID is a fresh UUID (no echo), its Timestamp carries
no time zone and its Verb is `REPLY` (which the vendor's own schema allows; the standard's verbs
are lower case). Each defect can be switched on alone (`DEFECTS`), to show each is caught by
its own checks.

Correct twin: echoes the request's CorrelationID (or its MessageID where it had none), stamps
UTC with its zone, answers Verb `reply`. Its schema enumerates the standard's lower-case verbs,
which it sends, and keeps the upper-case ones, which older clients of it send and it still
accepts: what it sends validates against what it publishes.
"""
from __future__ import annotations

import socketserver
import threading
import uuid
from datetime import datetime, timezone
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from lxml import etree
from spyne import Application, Boolean, ComplexModel, Date, DateTime, Integer, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication
from spyne.util.xml import get_validation_schema

from .rules import AnswerMemory, Inbound, NounStore

VMSG = "http://vendor.example.com/der/message"
DER = "http://vendor.example.com/der/2016/DERGroups"
PROFILE = "http://vendor.example.com/der/2016/DERGroups#"
NOUN = "DERGroups"
SOURCE = "DERMS-VENDOR"
UPPER_VERBS = ("CREATE", "CHANGE", "DELETE", "GET", "CREATED", "CHANGED", "DELETED", "REPLY")
UNCORRELATED, ZONELESS, UPPER_CASE_REPLY = "uncorrelated", "zoneless", "upper-case-reply"
DEFECTS = (UNCORRELATED, ZONELESS, UPPER_CASE_REPLY)
OPERATIONS = {"CreateDERGroups": "create", "ChangeDERGroups": "change", "QueryDERGroups": "get",
              "DeleteDERGroups": "delete"}


def _required(model):
    return model.customize(min_occurs=1, nillable=False)


# ---------------------------------------------------------------- the DERGroups profile (61968-5 shape)

class Name(ComplexModel):
    __namespace__ = PROFILE
    _type_info = [("name", _required(Unicode)), ("NameType", Unicode)]


class DERFunction(ComplexModel):
    __namespace__ = PROFILE
    _type_info = [(flag, Boolean) for flag in (
        "connectDisconnect", "frequencyWattCurveFunction", "maxRealPowerLimiting", "rampRateControl",
        "reactivePowerDispatch", "realPowerDispatch", "voltageRegulation", "voltVarCurveFunction",
        "voltWattCurveFunction")]


class EndDevice(ComplexModel):
    __namespace__ = PROFILE
    _type_info = [("mRID", _required(Unicode))]


class Version(ComplexModel):
    __namespace__ = PROFILE
    _type_info = [("date", Date), ("major", Integer), ("minor", Integer)]


class EndDeviceGroup(ComplexModel):
    __namespace__ = PROFILE
    _type_info = [("mRID", _required(Unicode)), ("description", Unicode), ("Names", Name.customize(max_occurs="unbounded")),
                  ("DERFunction", DERFunction), ("EndDevices", EndDevice.customize(max_occurs="unbounded")),
                  ("version", Version)]


class DERGroups(ComplexModel):
    __namespace__ = PROFILE
    _type_info = [("EndDeviceGroup", EndDeviceGroup.customize(min_occurs=1, max_occurs="unbounded", nillable=False))]


class DERGroupsPayloadType(ComplexModel):
    __namespace__ = PROFILE
    _type_info = [("DERGroups", DERGroups), ("Format", Unicode)]


# ---------------------------------------------------------------- the vendor's message namespace

class RequestType(ComplexModel):
    __namespace__ = VMSG
    _type_info = [("StartTime", DateTime), ("EndTime", DateTime), ("ID", Unicode.customize(max_occurs="unbounded"))]


class ErrorType(ComplexModel):
    __namespace__ = VMSG
    _type_info = [("code", _required(Unicode)), ("reason", Unicode)]


class ReplyType(ComplexModel):
    __namespace__ = VMSG
    _type_info = [("Result", _required(Unicode(values=["OK", "PARTIAL", "FAILED"]))),
                  ("Error", ErrorType.customize(max_occurs="unbounded")), ("ID", Unicode.customize(max_occurs="unbounded"))]


def _message_models(verbs):
    """Header and the two carriers, whose Verb enumeration is the variant's."""

    class HeaderType(ComplexModel):
        __namespace__ = VMSG
        _type_info = [("Verb", _required(Unicode(values=list(verbs)))), ("Noun", _required(Unicode)),
                      ("Revision", Unicode), ("Context", Unicode), ("Timestamp", DateTime), ("Source", Unicode),
                      ("AsyncReplyFlag", Boolean), ("ReplyAddress", Unicode), ("AckRequired", Boolean),
                      ("MessageID", Unicode), ("CorrelationID", Unicode), ("Comment", Unicode)]

    class DERGroupsRequestMessageType(ComplexModel):
        __namespace__ = DER
        _type_info = [("Header", _required(HeaderType)), ("Request", RequestType), ("Payload", DERGroupsPayloadType)]

    class DERGroupsResponseMessageType(ComplexModel):
        __namespace__ = DER
        _type_info = [("Header", _required(HeaderType)), ("Reply", _required(ReplyType)),
                      ("Payload", DERGroupsPayloadType)]

    return HeaderType, DERGroupsRequestMessageType, DERGroupsResponseMessageType


# ---------------------------------------------------------------- the service


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class DERGroupsVendor:
    def __init__(self, defects=()):
        unknown = set(defects) - set(DEFECTS)
        if unknown:
            raise ValueError(f"no such defect {sorted(unknown)}: one of {', '.join(DEFECTS)}")
        self.defects = frozenset(defects)
        self.store = NounStore(NOUN)
        self.memory = AnswerMemory()
        self.profile_schema = get_validation_schema([DERGroups])
        upper_only = UPPER_CASE_REPLY in self.defects
        verbs = UPPER_VERBS if upper_only else (*(v.lower() for v in UPPER_VERBS), *UPPER_VERBS)
        self.Header, request_type, response_type = _message_models(verbs)
        self.Response = response_type
        methods = {name: self._operation(name, verb, request_type, response_type) for name, verb in OPERATIONS.items()}
        service = type("DERGroupsService", (ServiceBase,), methods)
        app = Application([service], tns=DER, name=NOUN, in_protocol=Soap11(), out_protocol=Soap11())
        self.httpd = make_server("127.0.0.1", 0, WsgiApplication(app), server_class=_ThreadingWSGIServer,
                                 handler_class=_QuietHandler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/der/{NOUN}"  # its WSDL: url + '?wsdl'

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _operation(self, name: str, verb: str, request_type, response_type):
        vendor = self

        def operation(ctx, message):
            return vendor.answer(ctx.in_body_doc, message, verb)

        operation.__name__ = name  # Spyne keys methods by their function's name
        return rpc(request_type, _body_style="bare", _in_message_name=name, _returns=response_type,
                   _out_message_name=f"{NOUN}ResponseMessage")(operation)

    def answer(self, raw: etree._Element, message, verb: str):
        header = message.Header or self.Header()
        groups = message.Payload.DERGroups.EndDeviceGroup if message.Payload and message.Payload.DERGroups else None
        inbound = Inbound(verb, header.Verb or "", header.Noun or "", header.MessageID or "", header.Source or "",
                          tuple(message.Request.ID or ()) if message.Request else (),
                          tuple((g.mRID, g) for g in groups or ()), self._payload_problem(raw))
        return self.memory.once(inbound.source, inbound.message_id,
                                lambda: self._reply(header, self.store.answer(inbound)))

    def _payload_problem(self, raw: etree._Element) -> str | None:
        """Spyne reads leniently (namespaces ignored); the vendor validates the payload against its profile."""
        payload = next((c for c in raw if isinstance(c.tag, str) and etree.QName(c).localname == "Payload"), None)
        documents = [c for c in (payload if payload is not None else []) if isinstance(c.tag, str)
                     and etree.QName(c).localname != "Format"]
        for doc in documents:
            if doc.tag != f"{{{PROFILE}}}{NOUN}":
                return f"the Payload holds {doc.tag}, not a {{{PROFILE}}}{NOUN} document"
            if not self.profile_schema.validate(doc):
                error = self.profile_schema.error_log.last_error
                return f"the DERGroups document does not validate: line {error.line}: {error.message}"
        return None

    def _reply(self, header, answer):
        reply_header = self.Header(
            Verb="REPLY" if UPPER_CASE_REPLY in self.defects else "reply", Noun=NOUN,
            Timestamp=datetime.now() if ZONELESS in self.defects else datetime.now(timezone.utc), Source=SOURCE,
            MessageID=str(uuid.uuid4()),
            CorrelationID=str(uuid.uuid4()) if UNCORRELATED in self.defects else header.CorrelationID or header.MessageID)
        reply = ReplyType(Result=answer.result, Error=[ErrorType(code=answer.code, reason=answer.reason or None)])
        payload = DERGroupsPayloadType(DERGroups=DERGroups(EndDeviceGroup=list(answer.items))) if answer.items else None
        return self.Response(Header=reply_header, Reply=reply, Payload=payload)


# ---------------------------------------------------------------- what the vendor's documentation shows

def example(mrid: str, description: str) -> etree._Element:
    """A DERGroups document with one group: PV and storage behind one feeder, volt-var enabled."""
    return etree.fromstring(f"""<DERGroups xmlns="{PROFILE}">
  <EndDeviceGroup>
    <mRID>{mrid}</mRID>
    <description>{description}</description>
    <Names><name>FEEDER-12-DER</name><NameType>DERGroupName</NameType></Names>
    <DERFunction><connectDisconnect>true</connectDisconnect><voltVarCurveFunction>true</voltVarCurveFunction></DERFunction>
    <EndDevices><mRID>6c0f5a8e-1d2b-4e7a-9b3c-5d6e7f800001</mRID></EndDevices>
    <EndDevices><mRID>6c0f5a8e-1d2b-4e7a-9b3c-5d6e7f800002</mRID></EndDevices>
    <version><date>2016-03-01</date><major>1</major><minor>2</minor></version>
  </EndDeviceGroup>
</DERGroups>""")


def request(operation: str, header: dict[str, str], ids=(), payload: etree._Element | None = None) -> bytes:
    """A request as the vendor's own client sends it (upper-case verbs and all); the tests probe it with this."""
    env = etree.Element("{http://schemas.xmlsoap.org/soap/envelope/}Envelope")
    carrier = etree.SubElement(etree.SubElement(env, "{http://schemas.xmlsoap.org/soap/envelope/}Body"),
                               f"{{{DER}}}{operation}", nsmap={"der": DER, "m": VMSG})
    head = etree.SubElement(carrier, f"{{{DER}}}Header")
    for name, value in header.items():
        etree.SubElement(head, f"{{{VMSG}}}{name}").text = value
    if ids:
        held = etree.SubElement(carrier, f"{{{DER}}}Request")
        for value in ids:
            etree.SubElement(held, f"{{{VMSG}}}ID").text = value
    if payload is not None:
        etree.SubElement(carrier, f"{{{DER}}}Payload").append(payload)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")
