"""Which nouns soapbus serves, on which interface, through which strongly typed services.

One table drives the Spyne services, the WSDLs, the payload validation and the discovery
page, so that a noun added here appears everywhere at once.
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from ..message import namespaces, verbs
from .editions import Edition, carrier_year, edition_for_namespace, edition_for_query
from .series import MEASUREMENT_VALUES, METER_READINGS, Series

SOAP_ACTION_BASE = "http://iec.ch/TC57/2011"

# role -> (service name pattern, portType pattern). Which operations a role offers depends on the
# noun (its `transactions`): see `role_verbs`.
ROLES: dict[str, tuple[str, str]] = {
    "Get": ("Get{noun}", "Get{noun}_Port"),
    "Execute": ("Execute{noun}", "{noun}_Port"),
    "Receive": ("Receive{noun}", "Receive{noun}_Port"),
}

# The year of the message profiles soapbus was first built on: every noun has an edition of it.
BASE_EDITION_YEAR = 2011

# The five request verbs of the standard's Request/Execute WSDL template, which most nouns offer.
DEFAULT_TRANSACTIONS = ("create", "change", "cancel", "close", "delete")

INTERFACES = {
    "I1": "network operation", "I2": "records and asset management", "I3": "operational planning and optimisation",
    "I4": "maintenance and construction", "I5": "network extension planning", "I6": "customer support",
    "I7": "meter reading and control", "I8": "supply and delivery planning", "I9": "SCADA interface",
    "I10": "external market operations", "I11": "regulatory and compliance",
}

# Network operation (I1) and the SCADA interface (I9) are the transactional interfaces of the
# Interface Reference Model, whose messages must be signed: a forged switching plan or control
# operates real equipment.
SIGNED_INTERFACES = frozenset({"I1", "I9"})


def interface_requires_signing(interface: str) -> bool:
    """Whether every message on this interface must be signed: requests, replies and events (I1, I9)."""
    return interface in SIGNED_INTERFACES


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
    # Copied from the noun, so that a server building its security policy per endpoint need not
    # look the noun up; False for the generic service, which carries any noun.
    signed_by_default: bool = False

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

    def operation_for(self, tag: str) -> Operation | None:
        """The operation a Body element names: `{.../2011/WorkRequestsMessage}CreateWorkRequests`, or the
        same in another year's per-noun namespace (`.../2015/WorkRequestsMessage`, as a 2015 WSDL writes it)."""
        qname = etree.QName(tag)
        if self.noun is None:
            same_namespace = qname.namespace == self.element_ns
        else:
            same_namespace = carrier_year(qname.namespace, self.noun) is not None
        if not same_namespace:
            return None
        return next((op for op in self.operations if op.input_element == qname.localname), None)

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
    # Where the noun comes from: the standard's part and the CIM (or ESMP) class its objects are.
    source: str = ""
    # The transaction verbs of this noun, in the order its services list them: its Execute
    # service offers them as requests, its Receive service takes their past tense as events.
    transactions: tuple[str, ...] = DEFAULT_TRANSACTIONS
    # Whether requests, replies and events of this noun are signed unless configured otherwise.
    signed_by_default: bool = False
    # Editions after 2011 whose profile changed: (year, file under xsd/). See editions.py.
    later_editions: tuple[tuple[int, str], ...] = ()
    # For nouns whose objects are time-stamped values (readings, telemetry): how a value is keyed
    # without an mRID, by what it measures, its type and its time. See series.py.
    series: Series | None = None

    def __post_init__(self) -> None:
        # A misspelt verb or role would otherwise quietly drop operations from the WSDLs.
        unknown_roles = [r for r in self.roles if r not in ROLES]
        if unknown_roles:
            raise ValueError(f"{self.name}: unknown role(s) {unknown_roles}; known: {sorted(ROLES)}")
        not_transactions = [v for v in self.transactions
                            if v not in verbs.REQUEST_VERBS or verbs.REQUEST_VERBS[v].kind != "transaction"]
        if not_transactions:
            raise ValueError(f"{self.name}: {not_transactions} are not 61968 transaction verbs")

    @property
    def profile_ns(self) -> str:
        """The namespace of the 2011 edition, the one answers use when nothing asks for another."""
        return namespaces.profile_ns(self.name)

    @property
    def editions(self) -> tuple[Edition, ...]:
        """Every edition soapbus has a profile for, oldest first; the first is `profile_xsd`'s."""
        return (Edition(self.name, BASE_EDITION_YEAR, self.profile_xsd),
                *(Edition(self.name, year, xsd) for year, xsd in sorted(self.later_editions)))

    @property
    def base_edition(self) -> Edition:
        return self.editions[0]

    def edition_for(self, namespace: str | None) -> Edition | None:
        """The edition whose profile checks a document in this namespace (any year from 2011 on)."""
        return edition_for_namespace(self.editions, namespace)

    def edition_of(self, document: etree._Element) -> Edition | None:
        """The edition of a profile document: its root must be <Noun> in one of the noun's namespaces."""
        qname = etree.QName(document)
        return self.edition_for(qname.namespace) if qname.localname == self.name else None

    def edition_asked_by_query(self, namespace: str | None) -> Edition | None:
        """The edition a Get<Noun> query element in this namespace asks the answer in."""
        return edition_for_query(self.editions, namespace)

    @property
    def message_ns(self) -> str:
        return namespaces.noun_message_ns(self.name)

    @property
    def message_xsd(self) -> str:
        """The per-noun message schema under xsd/ (generated from this table)."""
        return f"{self.name}Message.xsd"

    @property
    def events(self) -> tuple[str, ...]:
        """The past-tense event verbs of the transactions (created, ..., executed)."""
        return tuple(verbs.REQUEST_VERBS[v].event for v in self.transactions)

    def role_verbs(self, role: str) -> tuple[str, ...]:
        """The verbs a role's service takes for this noun, one operation each."""
        return {"Get": ("get",), "Execute": self.transactions, "Receive": self.events}[role]

    def services(self) -> list[Service]:
        return [self._service(role) for role in self.roles]

    def _service(self, role: str) -> Service:
        svc_pat, port_pat = ROLES[role]
        operations = tuple(self._operation(role, verb) for verb in self.role_verbs(role))
        return Service(svc_pat.format(noun=self.name), role, self.name, self.interface,
                       port_pat.format(noun=self.name), operations, self.signed_by_default)

    def _operation(self, role: str, verb: str) -> Operation:
        name = f"{verb.capitalize()}{self.name}"
        # The reference page: Get services use .../Get<Noun>/Get<Noun>, the others .../<Noun>/<Op>
        action_path = f"Get{self.name}/{name}" if role == "Get" else f"{self.name}/{name}"
        return Operation(name, verb, f"{SOAP_ACTION_BASE}/{action_path}")


NOUNS: dict[str, Noun] = {
    n.name: n
    for n in (
        # The public profile gives a MeterReading no mRID: one without mRID or Names is kept as its
        # readings, each keyed by meter (or usage point), reading type and time.
        Noun("MeterReadings", "I7", "MeterReadings.xsd", "MeterReading",
             source="IEC 61968-9; CIM Metering::MeterReading",
             unknown_code="2.4",
             description="readings of meters: values, reading types, timestamps", series=METER_READINGS),
        Noun("EndDeviceControls", "I7", "EndDeviceControls.xsd", "EndDeviceControl",
             source="IEC 61968-9; CIM Metering::EndDeviceControl",
             unknown_code="2.4",
             description="commands to meters and end devices (disconnect, reconnect, ...)"),
        Noun("EndDeviceEvents", "I7", "EndDeviceEvents.xsd", "EndDeviceEvent",
             source="IEC 61968-9; CIM Metering::EndDeviceEvent",
             unknown_code="2.4",
             description="events reported by meters and end devices (last gasp, restoration, tamper)"),
        # A switching plan is a safety record: it is cancelled or closed, never deleted; `execute`
        # asks the network operation system to carry the plan out.
        Noun("SwitchingPlans", "I1", "SwitchingPlans.xsd", "SwitchingPlan",
             source="IEC 61968-3; CIM Operations::SwitchingPlan",
             transactions=("create", "change", "cancel", "close", "execute"), signed_by_default=True,
             description="switching plans: ordered groups of switch actions on the network, for an outage or work"),
        # A control is issued (create: selected, or scheduled by its timeStamp), then operated
        # (execute) or withdrawn before it operates (cancel). No change: an armed command is not
        # altered behind the operator's confirmation, it is cancelled and issued again. No close:
        # a control ends when the device has operated, which the `executed` event reports. No
        # delete: commands sent to the network stay on record.
        Noun("Controls", "I9", "Controls.xsd", "Control",
             source="IEC 61970-301 through 61968-100; CIM Meas::Control",
             transactions=("create", "cancel", "execute"), signed_by_default=True,
             description="commands and setpoints sent through SCADA to network devices"),
        # Telemetry comes from SCADA: others query it or are told of it; nobody requests values
        # into existence. `changed` carries a value corrected or requalified after it was sent.
        Noun("MeasurementValues", "I9", "MeasurementValues.xsd", "MeasurementValue",
             source="IEC 61970-301 through 61968-100; CIM Meas::MeasurementValue",
             roles=("Get", "Receive"), transactions=("create", "change"), signed_by_default=True,
             description="SCADA telemetry: analog, discrete and accumulator values with their quality",
             series=MEASUREMENT_VALUES),
        # A schedule is configuration, not a meter: an unknown one is an unknown object (2.15).
        Noun("MeterReadSchedules", "I7", "MeterReadSchedules.xsd", "MeterReadSchedule",
             source="IEC 61968-9; CIM Metering::MeterReadSchedule (a TimeSchedule)",
             description="schedules of meter reads: what to read, from which meters, how often"),
        # An outage record is the raw material of reliability reporting (SAIDI, SAIFI): once
        # opened it is closed when supply is back, or cancelled when it was no outage, and kept
        # either way; no delete. The record of a device is found again by its Name (NameType
        # "EndDevice", name = the device's mRID) and status open: see xsd/OutageRecords.xsd.
        Noun("OutageRecords", "I6", "OutageRecords.xsd", "OutageRecord",
             source="IEC 61968-3 records used on I6; CIM Operations::OutageRecord",
             transactions=("create", "change", "cancel", "close"),
             description="outage records: supply lost at end devices and usage points, from last gasp "
                         "or trouble call to restoration"),
        # 61968-6:2015 made a work request a container of Work for an Organisation: an edition of its own.
        Noun("WorkRequests", "I4", "WorkRequests.xsd", "WorkRequest",
             source="IEC 61968-6; CIM Work::Work",
             description="work requests (CIM Work): construction, inspection, maintenance, repair, service and "
                         "connection work at a location, for customers",
             later_editions=((2015, "2015/WorkRequests.xsd"),)),
        # ---- I1 network operation (61968-3). An outage of equipment is a safety and reliability record,
        # signed like every I1 message: closed when over, cancelled when called off, never deleted.
        Noun("Outages", "I1", "Outages.xsd", "Outage",
             source="IEC 61968-3; CIM Operations::Outage",
             transactions=("create", "change", "cancel", "close"), signed_by_default=True,
             description="outages of network equipment, planned or not: what is out, why, when, and the "
                         "usage points left without supply (CIM Outage)"),
        # ---- I2 records and asset management (61968-4).
        Noun("Assets", "I2", "Assets.xsd", "Asset",
             source="IEC 61968-4; CIM Assets::Asset",
             description="physical assets of the utility as the asset register keeps them: serial numbers, "
                         "dates, location, model, network roles (CIM Asset)"),
        Noun("AssetModelCatalogues", "I2", "AssetModelCatalogues.xsd", "AssetModelCatalogue",
             source="IEC 61968-4; CIM Assets::AssetModelCatalogue",
             description="catalogues of the asset models the utility buys: manufacturer, model, standard "
                         "or experimental, unit cost (CIM AssetModelCatalogue)"),
        # ---- I3 operational planning and optimisation (61968-5, DER groups). A group is formed, changed
        # and dissolved; a dispatch is issued, revised or withdrawn and kept; a forecast is replaced by a
        # later one or withdrawn.
        Noun("DERGroups", "I3", "DERGroups.xsd", "EndDeviceGroup",
             source="IEC 61968-5; CIM EndDeviceGroup (DER group)",
             transactions=("create", "change", "delete"),
             description="groups of distributed energy resources managed as one: members, functions, "
                         "monitorable quantities (61968-5 EndDeviceGroup)"),
        Noun("DERGroupDispatches", "I3", "DERGroupDispatches.xsd", "DERGroupDispatch",
             source="IEC 61968-5; CIM DERGroupDispatch",
             transactions=("create", "change", "cancel"),
             description="dispatches of DER groups: which quantity, on which schedule, with which values "
                         "(61968-5 DERGroupDispatch)"),
        Noun("DERGroupForecasts", "I3", "DERGroupForecasts.xsd", "DERGroupForecast",
             source="IEC 61968-5; CIM DERGroupForecast",
             transactions=("create", "change", "cancel"),
             description="forecasts of what DER groups will be able to do, per quantity and interval "
                         "(61968-5 DERGroupForecast)"),
        # ---- I4 maintenance and construction (61968-6): the other orders, in 2011 and 2015 editions.
        Noun("MaintenanceOrders", "I4", "MaintenanceOrders.xsd", "MaintenanceOrder",
             source="IEC 61968-6; CIM Work::Work (maintenance)",
             description="maintenance orders (CIM Work of kind maintenance, inspection, test, repair) on assets",
             later_editions=((2015, "2015/MaintenanceOrders.xsd"),)),
        Noun("ServiceOrders", "I4", "ServiceOrders.xsd", "ServiceOrder",
             source="IEC 61968-6; CIM Work::Work (service)",
             description="service orders (CIM Work at a customer's service: connect, disconnect, meter work)",
             later_editions=((2015, "2015/ServiceOrders.xsd"),)),
        # ---- I5 network extension planning (CIM InfWork).
        Noun("Projects", "I5", "Projects.xsd", "Project",
             source="IEC 61968-1 I5 project definition; CIM InfWork::Project",
             description="network extension projects: budget, business case, sub-projects and the work they "
                         "hold (CIM Project)"),
        Noun("Designs", "I5", "Designs.xsd", "Design",
             source="IEC 61968-1 I5 network calculations; CIM InfWork::Design",
             description="designs of network work compared before one is built: estimate or as-built, cost, "
                         "price, locations (CIM Design)"),
        # ---- I6 customer support (61968-8). A trouble ticket is closed when resolved or cancelled when
        # reported in error, and kept.
        Noun("CustomerAccounts", "I6", "CustomerAccounts.xsd", "CustomerAccount",
             source="IEC 61968-8; CIM Customers::CustomerAccount",
             description="customer accounts: the unit of billing, its holder, agreements and billing cycle "
                         "(CIM CustomerAccount)"),
        Noun("TroubleTickets", "I6", "TroubleTickets.xsd", "TroubleTicket",
             source="IEC 61968-8; CIM Customers::TroubleTicket",
             transactions=("create", "change", "cancel", "close"),
             description="customers' reports of trouble (lights out, wire down) and what became of them "
                         "(CIM TroubleTicket)"),
        # ---- I7 meter reading and control: more of 61968-9. An unknown usage point answers 2.12.
        Noun("MeterServiceRequests", "I7", "MeterServiceRequests.xsd", "MeterServiceWork",
             source="IEC 61968-9; CIM Metering::MeterServiceWork",
             unknown_code="2.4",
             description="requests for work on meters at usage points: install, remove, exchange, investigate "
                         "(61968-9, CIM MeterServiceWork)"),
        Noun("UsagePoints", "I7", "UsagePoints.xsd", "UsagePoint",
             source="IEC 61968-9; CIM Metering::UsagePoint",
             unknown_code="2.12",
             description="usage points: where a product is delivered and measured, whatever meter is there "
                         "(CIM UsagePoint)"),
        # ---- I8 supply and delivery planning: ESMP (IEC 62325-351) documents in the 61968 frame. A
        # market document is revised by a higher revisionNumber or withdrawn, and kept.
        Noun("LoadForecasts", "I8", "LoadForecasts.xsd", "LoadForecast",
             source="IEC 62325-451-6 (ESMP); GL_MarketDocument, type A65",
             transactions=("create", "change", "cancel"),
             description="forecasts of an area's load by horizon and interval (ESMP GL_MarketDocument, A65)"),
        Noun("EnergySchedules", "I8", "EnergySchedules.xsd", "EnergySchedule",
             source="IEC 62325-451-2 (ESMP); Schedule_MarketDocument",
             transactions=("create", "change", "cancel"),
             description="schedules of energy production, consumption and exchange between areas "
                         "(ESMP Schedule_MarketDocument)"),
        # ---- I10 external market operations. Prices are published by the market: queried and told of.
        Noun("Bids", "I10", "Bids.xsd", "Bid",
             source="IEC 62325-451-7 (ESMP); ReserveBid_MarketDocument, type A37",
             transactions=("create", "change", "cancel"),
             description="bids of balancing capacity and energy to the market operator "
                         "(ESMP ReserveBid_MarketDocument, A37)"),
        Noun("MarketPrices", "I10", "MarketPrices.xsd", "MarketPrice",
             source="IEC 62325-451-3 (ESMP); Publication_MarketDocument, type A44",
             roles=("Get", "Receive"),
             transactions=("create", "change"),
             description="prices published by the market operator per area and interval "
                         "(ESMP Publication_MarketDocument, A44)"),
        # ---- I11 regulatory and compliance.
        Noun("ComplianceEvents", "I11", "ComplianceEvents.xsd", "ComplianceEvent",
             source="CIM ComplianceEvent (an ActivityRecord)",
             transactions=("create", "change", "close"),
             description="regulatory or contract compliance issues and the deadlines they are measured "
                         "against (CIM ComplianceEvent)"),
        Noun("UnavailabilityReports", "I11", "UnavailabilityReports.xsd", "UnavailabilityReport",
             source="IEC 62325-451-6 (ESMP); Unavailability_MarketDocument",
             transactions=("create", "change", "cancel"),
             description="reports of generation and transmission unavailability for the transparency "
                         "platform (ESMP Unavailability_MarketDocument)"),
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


__all__ = ["Noun", "Service", "Operation", "Edition", "NOUNS", "GENERIC", "INTERFACES", "DEFAULT_TRANSACTIONS",
           "SIGNED_INTERFACES", "get", "services", "service", "verb_allowed", "interface_requires_signing"]
