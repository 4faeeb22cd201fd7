"""Helpers shared by the profile tests of the nouns added after I7 (I1, I9, I4, I6, more of I7)."""
from __future__ import annotations

from lxml import etree

from soapbus.profiles import NOUNS, xsd_dir

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"


def xml(text: str) -> etree._Element:
    return etree.fromstring(text.encode())


def schema(noun: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(xsd_dir() / NOUNS[noun].profile_xsd)))


def replaced(text: str, old: str, new: str) -> str:
    assert old in text, old  # the mistake must really be made, or the case proves nothing
    return text.replace(old, new, 1)


def table(noun: str) -> list[tuple[str, str, str, str, str]]:
    """(service, portType, operation, verb, soapAction) of every operation of the noun."""
    return [(s.name, s.port_type, op.name, op.verb, op.soap_action) for s in NOUNS[noun].services()
            for op in s.operations]


def expected_rows(noun: str, execute: tuple[str, ...], receive: tuple[str, ...]) -> list[tuple]:
    base = "http://iec.ch/TC57/2011"
    rows = [(f"Get{noun}", f"Get{noun}_Port", f"Get{noun}", "get", f"{base}/Get{noun}/Get{noun}")]
    rows += [(f"Execute{noun}", f"{noun}_Port", f"{v.capitalize()}{noun}", v, f"{base}/{noun}/{v.capitalize()}{noun}")
             for v in execute]
    rows += [(f"Receive{noun}", f"Receive{noun}_Port", f"{e.capitalize()}{noun}", e,
              f"{base}/{noun}/{e.capitalize()}{noun}") for e in receive]
    return rows


def shapes(definitions: etree._Element) -> dict[str, tuple[str, str]]:
    """operation -> (soapAction after the year, local name of its input element)."""
    parts = {m.get("name"): m.find(f"{{{WSDL_NS}}}part").get("element").split(":")[1]
             for m in definitions.iter(f"{{{WSDL_NS}}}message")}
    inputs = {op.get("name"): parts[op.find(f"{{{WSDL_NS}}}input").get("message").split(":")[1]]
              for op in definitions.find(f"{{{WSDL_NS}}}portType").iter(f"{{{WSDL_NS}}}operation")}
    actions = {op.get("name"): op.find(f"{{{SOAP_NS}}}operation").get("soapAction").split("/TC57/", 1)[1].split("/", 1)[1]
               for op in definitions.find(f"{{{WSDL_NS}}}binding").findall(f"{{{WSDL_NS}}}operation")}
    return {name: (actions[name], inputs[name]) for name in inputs}
