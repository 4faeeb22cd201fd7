"""Starting the foreign endpoints on loopback, and pointing soapbus's harness at them.

The servers import nothing of soapbus; this module is the test plumbing between the two. Each
endpoint (kind x defective/correct) starts on first use and stops when the module's tests end.

    def test_x(foreign):
        vendor = foreign("der", defective=True)
        result = run_harness(vendor, ["envelope"])
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lxml import etree

from .der_spyne import DEFECTS as DER_DEFECTS
from .der_spyne import DERGroupsVendor
from .interop2011 import InteropMDMS
from .workrequests2015 import WorkRequests2015

PAYLOADS = Path(__file__).resolve().parent / "payloads"
SEEDED_METER = "8a1f2c3d-0b6e-4c5a-9d7f-2011a0000001"  # the meter of payloads/seeded-readings-2011.xml
KINDS = ("der", "interop2011", "workrequests2015")
SUITES = {  # the suites each is run with: those about what it offers, and async-events, which none offers
    "der": ["envelope", "verbs", "robustness", "async-events"],
    "interop2011": ["envelope", "verbs", "robustness", "ondemand-read", "outage", "async-events"],
    "workrequests2015": ["envelope", "verbs", "robustness", "work-requests", "async-events"],
}
JUDGED = ("pass", "fail")  # verdicts that judge the target; any other says why a check could not


@dataclass
class Endpoint:
    kind: str  # der | interop2011 | workrequests2015
    defective: bool
    server: object
    targets: list[str]  # what --target takes: endpoint URLs (their ?wsdl) or WSDL URLs
    endpoint: str | None = None  # what --endpoint / Client(endpoint=) must say; None: the WSDL's address is right
    payloads: dict[str, Path] = field(default_factory=dict)  # --payload NOUN=FILE the runs need

    @property
    def label(self) -> str:
        return f"{self.kind} ({'defective' if self.defective else 'correct twin'})"


def start(kind: str, defective: bool, public: Path) -> Endpoint:
    if kind == "der":
        der = DERGroupsVendor(DER_DEFECTS if defective else ())
        return Endpoint(kind, defective, der, [der.url])
    if kind == "interop2011":
        mdms = InteropMDMS(public, defective)
        mdms.seed(etree.parse(str(PAYLOADS / "seeded-readings-2011.xml")).getroot())
        # the public profile keys readings by meter: the suites' ${mrid} must go to Meter/mRID
        return Endpoint(kind, defective, mdms, [mdms.wsdl], mdms.endpoint,
                        {"MeterReadings": PAYLOADS / "MeterReadings-public-2011.xml"})
    if kind == "workrequests2015":
        wms = WorkRequests2015(public, defective)
        return Endpoint(kind, defective, wms, list(wms.targets))
    raise ValueError(f"no foreign endpoint {kind!r}: one of {', '.join(KINDS)}")


class Started:
    """Each endpoint started once, on first use; all stopped together."""

    def __init__(self, public: Path):
        self.public = public
        self._endpoints: dict[tuple[str, bool], Endpoint] = {}

    def __call__(self, kind: str, defective: bool) -> Endpoint:
        key = (kind, defective)
        if key not in self._endpoints:
            self._endpoints[key] = start(kind, defective, self.public)
        return self._endpoints[key]

    def stop_all(self) -> None:
        for endpoint in self._endpoints.values():
            endpoint.server.stop()


@pytest.fixture(scope="module")
def foreign(public_dir):
    started = Started(public_dir)
    yield started
    started.stop_all()


# ---------------------------------------------------------------- the harness, pointed at one of them

def run_harness(vendor: Endpoint, suites: list[str], **options):
    """`soapbus conformance run --target ... [--endpoint URL] [--payload NOUN=FILE]` as the Python call."""
    from soapbus.conformance import run

    if vendor.endpoint:
        options["endpoints"] = [vendor.endpoint]
    if vendor.payloads:
        options["payloads"] = {noun: str(path) for noun, path in vendor.payloads.items()}
    return run(list(vendor.targets), suites, **options)


def cli_arguments(vendor: Endpoint) -> list[str]:
    args = [arg for target in vendor.targets for arg in ("--target", target)]
    if vendor.endpoint:
        args += ["--endpoint", vendor.endpoint]
    for noun, path in vendor.payloads.items():
        args += ["--payload", f"{noun}={path}"]
    return args


def verdicts(result) -> dict[str, str]:
    return {c.id: c.verdict for c in result.checks}


def judged(result) -> set[str]:
    return {cid for cid, verdict in verdicts(result).items() if verdict in JUDGED}


def summary(result) -> str:
    """One line for assertion messages and the docs table: judged, failed (with why), and the rest by verdict."""
    failed = {c.id: c.reason for c in result.checks if c.verdict == "fail"}
    others: dict[str, list[str]] = {}
    for c in result.checks:
        if c.verdict not in JUDGED:
            others.setdefault(c.verdict, []).append(f"{c.id} ({c.reason})")
    return f"judged {len(judged(result))}, failed {failed}, " + ", ".join(f"{v}: {ids}" for v, ids in others.items())
