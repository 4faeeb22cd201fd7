"""pytest plugin: run conformance suites inside an integrator's own pytest run.

    pytest --soapbus-target http://dms:8061/soap/ExecuteMeterReadings --soapbus-suite envelope

adds one test item per check of the chosen suites (all shipped server suites by default);
the suites run once, when the first item runs, and each item reports its check's verdict:
pass; fail or error (with the rule, its source and the evidence); blocked, not applicable or
skipped as a pytest skip whose reason starts with the verdict. One more item,
`soapbus-conformance::min-checks`, fails when fewer checks than `--soapbus-min-checks` (default 1)
were judged, so that a run that judged nothing is not green. The `soapbus_conformance` fixture
runs suites from a test: `soapbus_conformance(["envelope"])` returns the RunResult.

Loaded by its entry point once installed, or with `-p soapbus.conformance.pytest_plugin`, or
`pytest_plugins = ["soapbus.conformance.pytest_plugin"]` in a conftest.py.
"""
from __future__ import annotations

import pytest

from .api import load_suites, run
from .errors import ConformanceError
from .context import PREREQUISITE
from .model import ERROR, FAIL, JUDGED


def pytest_addoption(parser):
    group = parser.getgroup("soapbus", "soapbus IEC 61968-100 conformance")
    group.addoption("--soapbus-target", action="append", default=[], metavar="URL|WSDL",
                    help="endpoint URL or WSDL of the system under test (repeatable); enables the conformance items")
    group.addoption("--soapbus-suite", action="append", default=[], metavar="NAME|PATH",
                    help="conformance suite by name or YAML path (repeatable; default: every shipped server suite)")
    group.addoption("--soapbus-client-cert", default=None, help="PEM certificate the harness signs with")
    group.addoption("--soapbus-client-key", default=None, help="PEM private key of --soapbus-client-cert")
    group.addoption("--soapbus-trust", default=None, help="PEM CA bundle the target's answers must chain to")
    group.addoption("--soapbus-source", default="soapbus-conformance", help="Header/Source of the harness's messages")
    group.addoption("--soapbus-callback-host", default=None, metavar="HOST:PORT",
                    help="where the harness listens for asynchronous replies and events")
    group.addoption("--soapbus-subscribed", action="store_true", default=False,
                    help="the callback listener is subscribed to the target's events (out of band)")
    group.addoption("--soapbus-var", action="append", default=[], metavar="NAME=VALUE", help="override a suite variable")
    group.addoption("--soapbus-report", default=None, metavar="DIR", help="also write junit.xml and report.html here")
    group.addoption("--soapbus-payload", action="append", default=[], metavar="NOUN=FILE",
                    help="a document of NOUN to send where a suite needs an object of it (repeatable)")
    group.addoption("--soapbus-min-checks", type=int, default=1, metavar="N",
                    help="fail the min-checks item when fewer checks than this were judged (default 1)")


def _options(config) -> dict:
    variables = {}
    for pair in config.getoption("soapbus_var"):
        name, sep, value = pair.partition("=")
        if not sep:
            raise pytest.UsageError(f"--soapbus-var {pair!r}: write NAME=VALUE")
        variables[name.strip()] = value
    payloads = {}
    for pair in config.getoption("soapbus_payload"):
        noun, sep, file = pair.partition("=")
        if not sep or not noun.strip():
            raise pytest.UsageError(f"--soapbus-payload {pair!r}: write NOUN=FILE")
        payloads[noun.strip()] = file
    return dict(payloads=payloads, min_checks=config.getoption("soapbus_min_checks"),client_cert=config.getoption("soapbus_client_cert"), client_key=config.getoption("soapbus_client_key"),
                trust=config.getoption("soapbus_trust"), source=config.getoption("soapbus_source"),
                callback_host=config.getoption("soapbus_callback_host"),
                subscribed=config.getoption("soapbus_subscribed"), variables=variables)


class _SharedRun:
    """The suites run once, for all the items; a harness problem becomes every item's failure."""

    def __init__(self, config, suites):
        self.config = config
        self.suites = suites
        self._result = None
        self._problem = None

    def result(self):
        if self._result is None and self._problem is None:
            try:
                self._result = run(self.config.getoption("soapbus_target"), self.suites, **_options(self.config))
                report = self.config.getoption("soapbus_report")
                if report:
                    from .reports import write_reports

                    write_reports(self._result, report)
            except ConformanceError as exc:
                self._problem = str(exc)
        if self._problem is not None:
            raise ConformanceFailure(f"the conformance run could not start: {self._problem}")
        return self._result


class ConformanceFailure(Exception):
    pass


class ConformanceItem(pytest.Item):
    def __init__(self, *, suite: str, check_id: str, shared: _SharedRun, **kw):
        super().__init__(**kw)
        self.suite = suite
        self.check_id = check_id
        self.shared = shared

    def runtest(self):
        try:
            check = self.shared.result().check(self.check_id)
        except KeyError:
            pytest.skip(f"not applicable: the run had no {self.check_id} to judge")
        self.user_properties.extend([("rule", check.spec.rule), ("source", check.spec.source)])
        if check.verdict not in (*JUDGED, ERROR):
            pytest.skip(f"{check.verdict}: {check.reason}")
        if check.verdict in (FAIL, ERROR):
            lines = [f"{check.id} {check.verdict.upper()}: {check.spec.rule}", f"source: {check.spec.source}"]
            for outcome in check.outcomes:
                if outcome.verdict in (FAIL, ERROR):
                    lines.append(f"  {outcome.message}")
                    for key in ("xpath", "expected", "found"):
                        if key in outcome.evidence:
                            lines.append(f"      {key}: {outcome.evidence[key]!r}")
            raise ConformanceFailure("\n".join(lines))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ConformanceFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.suite, None, f"soapbus conformance {self.check_id}"


class MinChecksItem(pytest.Item):
    """Fails when the run judged fewer checks than --soapbus-min-checks: nothing failing is not a pass."""

    def __init__(self, *, shared: _SharedRun, **kw):
        super().__init__(**kw)
        self.shared = shared

    def runtest(self):
        result = self.shared.result()
        if result.judged < result.min_checks:
            raise ConformanceFailure(result.conclusion())

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ConformanceFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return "soapbus conformance", None, "soapbus conformance: enough checks judged"


def pytest_collection_modifyitems(session, config, items):
    if not config.getoption("soapbus_target"):
        return
    try:
        suites = load_suites(config.getoption("soapbus_suite") or None)
    except ConformanceError as exc:
        raise pytest.UsageError(str(exc)) from None
    shared = _SharedRun(config, suites)
    items.append(ConformanceItem.from_parent(session, name=f"soapbus-conformance::prerequisites::{PREREQUISITE.id}",
                                             suite="prerequisites", check_id=PREREQUISITE.id, shared=shared))
    for suite in suites:
        for check_id in suite.checks:
            items.append(ConformanceItem.from_parent(session, name=f"soapbus-conformance::{suite.name}::{check_id}",
                                                     suite=suite.name, check_id=check_id, shared=shared))
    items.append(MinChecksItem.from_parent(session, name="soapbus-conformance::min-checks", shared=shared))


@pytest.fixture
def soapbus_conformance(request):
    """A function that runs suites: soapbus_conformance(suites=None, targets=None, **run_options) -> RunResult."""
    config = request.config

    def run_suites(suites=None, targets=None, **kw):
        chosen = targets or config.getoption("soapbus_target")
        if not chosen:
            pytest.skip("no --soapbus-target given")
        options = {**_options(config), **kw}
        return run(chosen, suites or config.getoption("soapbus_suite") or None, **options)

    return run_suites
