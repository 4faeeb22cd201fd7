"""WSDLs in shapes soapbus did not write, and a loopback vendor answering in those shapes (for test_discovery).

* der_wsdl: a Spyne-style IEC 61968-5 DERGroups service. Operations CreateDERGroups, ChangeDERGroups,
  QueryDERGroups and deleteDERGroups, wrapper elements in the vendor's own namespace, the Header's fields
  in a namespace called `message`, Verb an enumeration in capitals, answers wrapped one level deeper
  (`<CreateDERGroupsResponse><CreateDERGroupsResult>`), the way Spyne generates them.
* interop_wsdl: the 2011 interoperability-test shape: www.iec.ch namespaces, operation GetMeterReadings
  taking MeterReadingsRequestMessage, and a soap:address where nothing runs.
* soap12_wsdl: a typed MeterReadings service bound to SOAP 1.2 only.
* importing_wsdl: a WSDL whose message schema sits behind an import that cannot be followed.
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
DER_TNS = "http://der.example.org/soap"
DER_PAYLOAD_NS = "DERGroupsMessage"
DER_MESSAGE_NS = "message"
DER_VERBS = ("CANCEL", "CHANGE", "CREATE", "CREATED", "DELETE", "GET", "REPLY")
INTEROP_NS = "http://www.iec.ch/TC57/2011/MeterReadingsMessage"
INTEROP_MSG = "http://www.iec.ch/TC57/2011/schema/message"
INTEROP_ADDRESS = "http://mdms.interop.invalid:8080/services/GetMeterReadings"
MR_NS = "http://iec.ch/TC57/2011/MeterReadingsMessage"
MSG = "http://iec.ch/TC57/2011/schema/message"
VENDOR_MESSAGES_NS = "urn:vendor:messages"

_WSDL_OPEN = ('<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" '
              'xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/" '
              'xmlns:xs="http://www.w3.org/2001/XMLSchema" ')

_DER_OPERATIONS = {  # operation -> (its input's second part, that part's type)
    "CreateDERGroups": ("Payload", "s0:DERGroupsPayloadType"),
    "ChangeDERGroups": ("Payload", "s0:DERGroupsPayloadType"),
    "QueryDERGroups": ("Request", "s0:DERGroupQueriesRequestType"),
    "deleteDERGroups": ("Payload", "s0:DERGroupsPayloadType"),
}


def der_wsdl(address: str) -> str:
    types = "".join(f'''
      <xs:complexType name="{op}"><xs:sequence>
        <xs:element name="Header" type="s1:HeaderType" minOccurs="0" nillable="true"/>
        <xs:element name="{part}" type="{part_type}" minOccurs="0" nillable="true"/>
      </xs:sequence></xs:complexType>
      <xs:complexType name="{op}Response"><xs:sequence>
        <xs:element name="{op}Result" type="s0:DERGroupsResponseMessageType" minOccurs="0" nillable="true"/>
      </xs:sequence></xs:complexType>
      <xs:element name="{op}" type="tns:{op}"/>
      <xs:element name="{op}Response" type="tns:{op}Response"/>''' for op, (part, part_type) in _DER_OPERATIONS.items())
    verbs = "".join(f'<xs:enumeration value="{v}"/>' for v in DER_VERBS)
    messages = "".join(f'''
  <wsdl:message name="{op}"><wsdl:part name="{op}" element="tns:{op}"/></wsdl:message>
  <wsdl:message name="{op}Response"><wsdl:part name="{op}Response" element="tns:{op}Response"/></wsdl:message>'''
                       for op in _DER_OPERATIONS)
    port_ops = "".join(f'''
    <wsdl:operation name="{op}" parameterOrder="{op}">
      <wsdl:input name="{op}" message="tns:{op}"/><wsdl:output name="{op}Response" message="tns:{op}Response"/>
    </wsdl:operation>''' for op in _DER_OPERATIONS)
    binding_ops = "".join(f'''
    <wsdl:operation name="{op}"><soap:operation soapAction="{op}" style="document"/>
      <wsdl:input name="{op}"><soap:body use="literal"/></wsdl:input>
      <wsdl:output name="{op}Response"><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>''' for op in _DER_OPERATIONS)
    return f'''<?xml version="1.0" encoding="UTF-8"?>
{_WSDL_OPEN}xmlns:tns="{DER_TNS}" xmlns:s0="{DER_PAYLOAD_NS}" xmlns:s1="{DER_MESSAGE_NS}"
    targetNamespace="{DER_TNS}" name="Application">
  <wsdl:types>
    <xs:schema targetNamespace="{DER_TNS}" elementFormDefault="qualified">
      <xs:import namespace="{DER_PAYLOAD_NS}"/>
      <xs:import namespace="{DER_MESSAGE_NS}"/>
      <xs:simpleType name="VerbType"><xs:restriction base="xs:string">{verbs}</xs:restriction></xs:simpleType>
      <xs:simpleType name="ResultType"><xs:restriction base="xs:string">
        <xs:enumeration value="OK"/><xs:enumeration value="PARTIAL"/><xs:enumeration value="FAILED"/>
      </xs:restriction></xs:simpleType>{types}
    </xs:schema>
    <xs:schema targetNamespace="{DER_PAYLOAD_NS}" elementFormDefault="qualified">
      <xs:import namespace="{DER_MESSAGE_NS}"/>
      <xs:complexType name="DERGroupsPayloadType"><xs:sequence>
        <xs:element name="DERGroups" type="xs:anyType" minOccurs="0"/>
        <xs:element name="Format" type="xs:string" minOccurs="0"/>
      </xs:sequence></xs:complexType>
      <xs:complexType name="DERGroupQueriesRequestType"><xs:sequence>
        <xs:element name="DERGroupQueries" type="xs:anyType" minOccurs="0"/>
      </xs:sequence></xs:complexType>
      <xs:complexType name="DERGroupsResponseMessageType"><xs:sequence>
        <xs:element name="Header" type="s1:HeaderType" minOccurs="0"/>
        <xs:element name="Reply" type="s1:ReplyType" minOccurs="0"/>
        <xs:element name="Payload" type="s0:DERGroupsPayloadType" minOccurs="0"/>
      </xs:sequence></xs:complexType>
    </xs:schema>
    <xs:schema targetNamespace="{DER_MESSAGE_NS}" elementFormDefault="qualified">
      <xs:import namespace="{DER_TNS}"/>
      <xs:complexType name="HeaderType"><xs:sequence>
        <xs:element name="Verb" type="tns:VerbType" minOccurs="0"/>
        <xs:element name="Noun" type="xs:string" minOccurs="0"/>
        <xs:element name="Timestamp" type="xs:dateTime" minOccurs="0"/>
        <xs:element name="Source" type="xs:string" minOccurs="0"/>
        <xs:element name="MessageID" type="xs:string" minOccurs="0"/>
        <xs:element name="CorrelationID" type="xs:string" minOccurs="0"/>
      </xs:sequence></xs:complexType>
      <xs:complexType name="ErrorType"><xs:sequence>
        <xs:element name="code" type="xs:string" minOccurs="0"/><xs:element name="reason" type="xs:string" minOccurs="0"/>
      </xs:sequence></xs:complexType>
      <xs:complexType name="ReplyType"><xs:sequence>
        <xs:element name="Result" type="tns:ResultType" minOccurs="0"/>
        <xs:element name="Error" type="s1:ErrorType" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence></xs:complexType>
    </xs:schema>
  </wsdl:types>{messages}
  <wsdl:service name="DERGroupsService">
    <wsdl:port name="Application" binding="tns:Application"><soap:address location="{address}"/></wsdl:port>
  </wsdl:service>
  <wsdl:portType name="Application">{port_ops}
  </wsdl:portType>
  <wsdl:binding name="Application" type="tns:Application">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>{binding_ops}
  </wsdl:binding>
</wsdl:definitions>'''


def der_answer(operation: str, correlation_id: str, payload: str = "") -> bytes:
    """What the Spyne-style vendor answers: wrapped twice, its own namespaces, Verb in capitals."""
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<soap11env:Envelope xmlns:soap11env="{SOAP11}" xmlns:tns="{DER_TNS}" xmlns:s0="{DER_PAYLOAD_NS}"
    xmlns:s1="{DER_MESSAGE_NS}"><soap11env:Body><tns:{operation}Response><tns:{operation}Result>
  <s0:Header><s1:Verb>REPLY</s1:Verb><s1:Noun>DERGroups</s1:Noun><s1:Timestamp>2024-05-01T10:00:00Z</s1:Timestamp>
    <s1:CorrelationID>{correlation_id}</s1:CorrelationID></s0:Header>
  <s0:Reply><s1:Result>OK</s1:Result><s1:Error><s1:code>0.0</s1:code></s1:Error></s0:Reply>{payload}
</tns:{operation}Result></tns:{operation}Response></soap11env:Body></soap11env:Envelope>'''.encode()


def interop_wsdl(address: str = INTEROP_ADDRESS) -> str:
    verbs = "".join(f'<xs:enumeration value="{v}"/>' for v in ("get", "reply", "create", "created"))
    return f'''<?xml version="1.0" encoding="UTF-8"?>
{_WSDL_OPEN}xmlns:tns="http://www.iec.ch/TC57/2011/GetMeterReadings" xmlns:mr="{INTEROP_NS}"
    xmlns:msg="{INTEROP_MSG}" targetNamespace="http://www.iec.ch/TC57/2011/GetMeterReadings" name="GetMeterReadings">
  <wsdl:types>
    <xs:schema targetNamespace="{INTEROP_MSG}" elementFormDefault="qualified">
      <xs:complexType name="HeaderType"><xs:sequence>
        <xs:element name="Verb"><xs:simpleType><xs:restriction base="xs:string">{verbs}</xs:restriction>
        </xs:simpleType></xs:element>
        <xs:element name="Noun" type="xs:string"/>
        <xs:element name="Timestamp" type="xs:dateTime" minOccurs="0"/>
        <xs:element name="Source" type="xs:string" minOccurs="0"/>
        <xs:element name="MessageID" type="xs:string" minOccurs="0"/>
        <xs:element name="CorrelationID" type="xs:string" minOccurs="0"/>
      </xs:sequence></xs:complexType>
      <xs:complexType name="ReplyType"><xs:sequence>
        <xs:element name="Result" type="xs:string"/>
        <xs:element name="Error" minOccurs="0" maxOccurs="unbounded"><xs:complexType><xs:sequence>
          <xs:element name="code" type="xs:string"/></xs:sequence></xs:complexType></xs:element>
      </xs:sequence></xs:complexType>
      <xs:complexType name="RequestType"><xs:sequence>
        <xs:element name="StartTime" type="xs:dateTime" minOccurs="0"/>
        <xs:element name="ID" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence></xs:complexType>
    </xs:schema>
    <xs:schema targetNamespace="{INTEROP_NS}" elementFormDefault="qualified">
      <xs:import namespace="{INTEROP_MSG}"/>
      <xs:complexType name="MeterReadingsPayloadType"><xs:sequence>
        <xs:any namespace="##other" processContents="lax" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element name="Format" type="xs:string" minOccurs="0"/>
      </xs:sequence></xs:complexType>
      <xs:complexType name="MeterReadingsRequestMessageType"><xs:sequence>
        <xs:element name="Header" type="msg:HeaderType"/>
        <xs:element name="Request" type="msg:RequestType" minOccurs="0"/>
      </xs:sequence></xs:complexType>
      <xs:complexType name="MeterReadingsResponseMessageType"><xs:sequence>
        <xs:element name="Header" type="msg:HeaderType"/>
        <xs:element name="Reply" type="msg:ReplyType"/>
        <xs:element name="Payload" type="mr:MeterReadingsPayloadType" minOccurs="0"/>
      </xs:sequence></xs:complexType>
      <xs:element name="MeterReadingsRequestMessage" type="mr:MeterReadingsRequestMessageType"/>
      <xs:element name="MeterReadingsResponseMessage" type="mr:MeterReadingsResponseMessageType"/>
    </xs:schema>
  </wsdl:types>
  <wsdl:message name="GetMeterReadingsRequest"><wsdl:part name="in" element="mr:MeterReadingsRequestMessage"/></wsdl:message>
  <wsdl:message name="GetMeterReadingsResponse"><wsdl:part name="out" element="mr:MeterReadingsResponseMessage"/></wsdl:message>
  <wsdl:portType name="MeterReadings_PortType">
    <wsdl:operation name="GetMeterReadings">
      <wsdl:input message="tns:GetMeterReadingsRequest"/><wsdl:output message="tns:GetMeterReadingsResponse"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="MeterReadings_Binding" type="tns:MeterReadings_PortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="GetMeterReadings">
      <soap:operation soapAction="http://www.iec.ch/TC57/2011/GetMeterReadings" style="document"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input><wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="GetMeterReadings">
    <wsdl:port name="MeterReadings_Port" binding="tns:MeterReadings_Binding"><soap:address location="{address}"/></wsdl:port>
  </wsdl:service>
</wsdl:definitions>'''


def interop_answer(correlation_id: str, meter: str) -> bytes:
    """The 2011-shape answer: per-noun carrier, www.iec.ch spelling, a MeterReadings payload."""
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="{SOAP11}"><soapenv:Body>
<mr:MeterReadingsResponseMessage xmlns:mr="{INTEROP_NS}" xmlns:msg="{INTEROP_MSG}">
  <mr:Header><msg:Verb>reply</msg:Verb><msg:Noun>MeterReadings</msg:Noun>
    <msg:CorrelationID>{correlation_id}</msg:CorrelationID></mr:Header>
  <mr:Reply><msg:Result>OK</msg:Result><msg:Error><msg:code>0.0</msg:code></msg:Error></mr:Reply>
  <mr:Payload><m:MeterReadings xmlns:m="http://iec.ch/TC57/2011/MeterReadings#"><m:MeterReading>
    <m:mRID>{meter}-reading</m:mRID><m:Meter><m:mRID>{meter}</m:mRID></m:Meter></m:MeterReading></m:MeterReadings>
    <mr:Format>XML</mr:Format></mr:Payload>
</mr:MeterReadingsResponseMessage></soapenv:Body></soapenv:Envelope>'''.encode()


def soap12_wsdl(address: str) -> str:
    """A typed MeterReadings provider bound to SOAP 1.2, its message schema inline (Header in the per-noun namespace)."""
    return f'''<?xml version="1.0" encoding="UTF-8"?>
{_WSDL_OPEN}xmlns:tns="urn:vendor:mr12" xmlns:mr="{MR_NS}" xmlns:msg="{MSG}" targetNamespace="urn:vendor:mr12">
  <wsdl:types>
    <xs:schema targetNamespace="{MSG}" elementFormDefault="qualified">
      <xs:complexType name="HeaderType"><xs:sequence>
        <xs:element name="Verb" type="xs:string"/><xs:element name="Noun" type="xs:string"/>
        <xs:any namespace="##any" processContents="lax" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence></xs:complexType>
    </xs:schema>
    <xs:schema targetNamespace="{MR_NS}" elementFormDefault="qualified">
      <xs:import namespace="{MSG}"/>
      <xs:complexType name="RequestMessageType"><xs:sequence>
        <xs:element name="Header" type="msg:HeaderType"/>
        <xs:element name="Payload" type="xs:anyType" minOccurs="0"/>
      </xs:sequence></xs:complexType>
      <xs:element name="CreateMeterReadings" type="mr:RequestMessageType"/>
      <xs:element name="MeterReadingsResponseMessage" type="xs:anyType"/>
    </xs:schema>
  </wsdl:types>
  <wsdl:message name="CreateIn"><wsdl:part name="in" element="mr:CreateMeterReadings"/></wsdl:message>
  <wsdl:message name="Out"><wsdl:part name="out" element="mr:MeterReadingsResponseMessage"/></wsdl:message>
  <wsdl:portType name="MR12"><wsdl:operation name="CreateMeterReadings">
    <wsdl:input message="tns:CreateIn"/><wsdl:output message="tns:Out"/></wsdl:operation></wsdl:portType>
  <wsdl:binding name="MR12_Binding" type="tns:MR12">
    <soap12:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="CreateMeterReadings">
      <soap12:operation soapAction="urn:vendor:mr12:CreateMeterReadings" style="document"/>
      <wsdl:input><soap12:body use="literal"/></wsdl:input><wsdl:output><soap12:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="MR12"><wsdl:port name="MR12_Port" binding="tns:MR12_Binding">
    <soap12:address location="{address}"/></wsdl:port></wsdl:service>
</wsdl:definitions>'''


def importing_wsdl(location: str | None) -> str:
    """A WSDL whose CreateMeterReadings element lives in an imported schema (location None: namespace only)."""
    where = f' schemaLocation="{location}"' if location is not None else ""
    return f'''<?xml version="1.0" encoding="UTF-8"?>
{_WSDL_OPEN}xmlns:tns="urn:vendor:imports" xmlns:vm="{VENDOR_MESSAGES_NS}" targetNamespace="urn:vendor:imports">
  <wsdl:types>
    <xs:schema targetNamespace="urn:vendor:imports"><xs:import namespace="{VENDOR_MESSAGES_NS}"{where}/></xs:schema>
  </wsdl:types>
  <wsdl:message name="In"><wsdl:part name="in" element="vm:CreateMeterReadings"/></wsdl:message>
  <wsdl:message name="Out"><wsdl:part name="out" element="vm:MeterReadingsResponseMessage"/></wsdl:message>
  <wsdl:portType name="P"><wsdl:operation name="CreateMeterReadings">
    <wsdl:input message="tns:In"/><wsdl:output message="tns:Out"/></wsdl:operation></wsdl:portType>
  <wsdl:binding name="B" type="tns:P"><soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="CreateMeterReadings"><soap:operation soapAction="urn:vendor:create"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input><wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation></wsdl:binding>
  <wsdl:service name="S"><wsdl:port name="P" binding="tns:B"><soap:address location="http://127.0.0.1:9/vendor"/>
  </wsdl:port></wsdl:service>
</wsdl:definitions>'''


VENDOR_MESSAGES_XSD = f'''<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:vm="{VENDOR_MESSAGES_NS}"
    targetNamespace="{VENDOR_MESSAGES_NS}" elementFormDefault="qualified">
  <xs:complexType name="HeaderType"><xs:sequence>
    <xs:element name="Verb"><xs:simpleType><xs:restriction base="xs:string">
      <xs:enumeration value="Create"/><xs:enumeration value="Reply"/></xs:restriction></xs:simpleType></xs:element>
    <xs:element name="Noun" type="xs:string"/>
  </xs:sequence></xs:complexType>
  <xs:complexType name="MessageType"><xs:sequence>
    <xs:element name="Header" type="vm:HeaderType"/><xs:element name="Payload" type="xs:anyType" minOccurs="0"/>
  </xs:sequence></xs:complexType>
  <xs:element name="CreateMeterReadings" type="vm:MessageType"/>
  <xs:element name="MeterReadingsResponseMessage" type="xs:anyType"/>
</xs:schema>'''


# ---------------------------------------------------------------- a vendor on loopback

# (path, headers, body) -> (status, content type, answer)
Answer = Callable[[str, dict, bytes], "tuple[int, str, bytes]"]


class Vendor:
    """Serves documents on GET and answers POSTs with `answer`; keeps every request it received."""

    def __init__(self, answer: Answer):
        self.documents: dict[str, bytes] = {}
        self.received: list[tuple[str, dict, bytes]] = []
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                found = vendor.documents.get(self.path)
                self._send(200 if found else 404, "text/xml; charset=utf-8", found or b"no such document")

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                vendor.received.append((self.path, dict(self.headers), body))
                self._send(*answer(self.path, dict(self.headers), body))

            def _send(self, status: int, content_type: str, data: bytes):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def rpc_wsdl(address: str) -> str:
    """rpc/literal: the Body holds {urn:vendor:rpc}CreateMeterReadings, whose `message` part is the message."""
    return f'''<?xml version="1.0" encoding="UTF-8"?>
{_WSDL_OPEN}xmlns:tns="urn:vendor:rpc" xmlns:msg="{MSG}" targetNamespace="urn:vendor:rpc">
  <wsdl:types>
    <xs:schema targetNamespace="{MSG}" elementFormDefault="qualified">
      <xs:complexType name="HeaderType"><xs:sequence>
        <xs:element name="Verb" type="xs:string"/><xs:element name="Noun" type="xs:string"/>
      </xs:sequence></xs:complexType>
      <xs:complexType name="RequestMessageType"><xs:sequence>
        <xs:element name="Header" type="msg:HeaderType"/><xs:element name="Payload" type="xs:anyType" minOccurs="0"/>
      </xs:sequence></xs:complexType>
    </xs:schema>
  </wsdl:types>
  <wsdl:message name="In"><wsdl:part name="message" type="msg:RequestMessageType"/></wsdl:message>
  <wsdl:message name="Out"><wsdl:part name="message" type="xs:anyType"/></wsdl:message>
  <wsdl:portType name="P"><wsdl:operation name="CreateMeterReadings">
    <wsdl:input message="tns:In"/><wsdl:output message="tns:Out"/></wsdl:operation></wsdl:portType>
  <wsdl:binding name="B" type="tns:P"><soap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="CreateMeterReadings"><soap:operation soapAction="urn:vendor:rpc:create"/>
      <wsdl:input><soap:body use="literal" namespace="urn:vendor:rpc"/></wsdl:input>
      <wsdl:output><soap:body use="literal" namespace="urn:vendor:rpc"/></wsdl:output>
    </wsdl:operation></wsdl:binding>
  <wsdl:service name="S"><wsdl:port name="P" binding="tns:B"><soap:address location="{address}"/></wsdl:port>
  </wsdl:service>
</wsdl:definitions>'''
