"""Which nouns soapbus serves, on which interface, through which strongly typed services.

One table drives the Spyne services, the WSDLs, the payload validation and the discovery
page, so that a noun added here appears everywhere at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..message import namespaces, verbs

SOAP_ACTION_BASE = "http://iec.ch/TC57/2011"

# role -> (service name pattern, portType pattern, operations as (operation pattern, verb))
ROLES: dict[str, tuple[str, str, tuple[tuple[str, str], ...]]] = {
    "Get": ("Get{noun}", "Get{noun}_Port", (("Get{noun}", "get"),)),
    "Execute": ("Execute{noun}", "{noun}_Port", tuple(
        (f"{v.capitalize()}{{noun}}", v) for v in ("create", "change", "cancel", "close", "delete"))),
    "Receive": ("Receive{noun}", "Receive{noun}_Port", tuple(
        (f"{e.capitalize()}{{noun}}", e) for e in ("created", "changed", "canceled", "closed", "deleted"))),
}

INTERFACES = {
    "I1": "network operation", "I2": "records and asset management", "I3": "operational planning and optimisation",
    "I4": "maintenance and construction", "I5": "network extension planning", "I6": "customer support",
    "I7": "meter reading and control", "I8": "supply and delivery planning", "I9": "SCADA interface",
    "I10": "external market operations", "I11": "regulatory and compliance",
}


@dataclass(frozen=True)
class Operation:
    name: str  # also the input element's local name, unless `input` says otherwise
    verb: str
    soap_action: str
    # The input element's local name where it is not the operation's (the generic service's
    # Request operation takes a RequestMessage).
    input: str | None = None

    @property
    def input_element(self) -> str:
        return self.input or self.name


@dataclass(frozen=True)
class Service:
    name: str  # e.g. ExecuteMeterReadings; also the URL path segment and WSDL file stem
    role: str  # Get | Execute | Receive | Generic
    noun: str | None
    interface: str | None
    port_type: str
    operations: tuple[Operation, ...]

    @property
    def message_ns(self) -> str:
        return namespaces.noun_message_ns(self.noun) if self.noun else namespaces.ABSTRACT

    @property
    def element_ns(self) -> str:
        """Namespace of the operations' input, output and fault elements."""
        return namespaces.noun_message_ns(self.noun) if self.noun else namespaces.MSG

    @property
    def response_element(self) -> str:
        return f"{self.noun or ''}ResponseMessage"

    @property
    def fault_element(self) -> str:
        return f"{self.noun or ''}FaultMessage"

    @property
    def message_xsd(self) -> str:
        """The schema under xsd/ that declares the operations' elements."""
        return f"{self.noun}Message.xsd" if self.noun else "Message.xsd"

    @property
    def wsdl_ns(self) -> str:
        """Target namespace of the service's WSDL."""
        return f"{SOAP_ACTION_BASE}/{self.name}" if self.noun else namespaces.ABSTRACT


@dataclass(frozen=True)
class Noun:
    name: str
    interface: str
    profile_xsd: str  # file under xsd/
    # the element, under the profile root, that each object is (MeterReading in MeterReadings)
    item: str
    roles: tuple[str, ...] = ("Get", "Execute", "Receive")
    # which 61968 code answers an unknown object of this noun
    unknown_code: str = "2.15"
    description: str = ""

    @property
    def profile_ns(self) -> str:
        return namespaces.profile_ns(self.name)

    @property
    def message_ns(self) -> str:
        return namespaces.noun_message_ns(self.name)

    @property
    def message_xsd(self) -> str:
        """The per-noun message schema under xsd/ (generated from this table)."""
        return f"{self.name}Message.xsd"

    def services(self) -> list[Service]:
        out = []
        for role in self.roles:
            svc_pat, port_pat, ops = ROLES[role]
            name = svc_pat.format(noun=self.name)
            operations = []
            for op_pat, verb in ops:
                op = op_pat.format(noun=self.name)
                # The reference page: Get services use .../Get<Noun>/Get<Noun>, the others .../<Noun>/<Op>
                action_path = f"Get{self.name}/{op}" if role == "Get" else f"{self.name}/{op}"
                operations.append(Operation(op, verb, f"{SOAP_ACTION_BASE}/{action_path}"))
            out.append(Service(name, role, self.name, self.interface, port_pat.format(noun=self.name),
                               tuple(operations)))
        return out


NOUNS: dict[str, Noun] = {
    n.name: n
    for n in (
        Noun("MeterReadings", "I7", "MeterReadings.xsd", "MeterReading", unknown_code="2.4",
             description="readings of meters: values, reading types, timestamps"),
        Noun("EndDeviceControls", "I7", "EndDeviceControls.xsd", "EndDeviceControl", unknown_code="2.4",
             description="commands to meters and end devices (disconnect, reconnect, ...)"),
        Noun("EndDeviceEvents", "I7", "EndDeviceEvents.xsd", "EndDeviceEvent", unknown_code="2.4",
             description="events reported by meters and end devices (last gasp, restoration, tamper)"),
    )
}

GENERIC = Service(
    name="Operations",
    role="Generic",
    noun=None,
    interface=None,
    port_type="Operations",
    operations=(
        Operation("Request", "*request", "http://iec.ch/61968/Request", input="RequestMessage"),
        Operation("Response", "reply", "http://iec.ch/61968/Response", input="ResponseMessage"),
        Operation("PublishEvent", "*event", "http://iec.ch/61968/PublishEvent", input="EventMessage"),
    ),
)


def get(noun: str) -> Noun | None:
    return NOUNS.get(noun)


def services() -> list[Service]:
    """Every service soapbus hosts: the strongly typed ones per noun, then the generic one."""
    out: list[Service] = []
    for noun in NOUNS.values():
        out.extend(noun.services())
    out.append(GENERIC)
    return out


def service(name: str) -> Service | None:
    return next((s for s in services() if s.name == name), None)


def verb_allowed(noun: Noun, verb: str) -> bool:
    """Whether a verb (request or event) is served for this noun by any of its roles."""
    v = verbs.normalize(verb)
    return any(op.verb == v for svc in noun.services() for op in svc.operations) or v == "execute"


__all__ = ["Noun", "Service", "Operation", "NOUNS", "GENERIC", "INTERFACES", "get", "services", "service",
           "verb_allowed"]
