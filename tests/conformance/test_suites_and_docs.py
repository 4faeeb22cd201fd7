"""Suite files: every shipped one loads, bad ones are refused with the place and the reason; the doc's list
of suites and checks is the one generated from the files."""
from __future__ import annotations

from pathlib import Path

import pytest

from soapbus.conformance import SuiteError, load_suite, shipped_names
from soapbus.conformance.doc import block_of, checks_markdown
from soapbus.conformance.suites import parse

DOC = Path(__file__).resolve().parents[2] / "docs" / "conformance.md"


def test_shipped_suites_load_and_every_check_has_rule_and_source():
    names = shipped_names()
    assert names[:5] == ["envelope", "verbs", "robustness", "security", "async-events"]
    assert {"ondemand-read", "scheduled-read", "outage", "disconnect-reconnect", "work-requests", "client"} <= set(names)
    ids = []
    for name in names:
        suite = load_suite(name)
        for check in suite.checks.values():
            assert check.rule and check.source
            ids.append(check.id)
    assert len(ids) == len(set(ids))


def test_the_docs_list_matches_the_suite_files():
    block = block_of(DOC.read_text(encoding="utf-8"))
    assert block is not None, "docs/conformance.md lacks the generated block's markers"
    assert block == checks_markdown(), "run: python -m soapbus.conformance.doc docs/conformance.md"


BASE = {"name": "t", "checks": [{"id": "t.ok", "rule": "r", "source": "s"}],
        "steps": [{"id": "a", "send": {"verb": "get", "noun": "X"}, "expect": [{"check": "t.ok", "result": "OK"}]}]}


def _with(**changes):
    import copy

    data = copy.deepcopy(BASE)
    data.update(changes)
    return data


@pytest.mark.parametrize("data, says", [
    ([1, 2], "a suite is a YAML mapping"),
    (_with(name=None), "name is missing"),
    (_with(colour="red"), "unknown key(s) colour"),
    (_with(role="both"), "role must be one of"),
    (_with(steps=[{"id": "a", "send": {"verb": "get", "noun": "X"}, "expect": [{"check": "t.ok", "resutl": "OK"}]}]),
     "unknown key(s) resutl"),
    (_with(steps=[{"id": "a", "send": {"verb": "get", "noun": "X"}, "expect": [{"check": "t.nope", "result": "OK"}]}]),
     "check 't.nope' is not declared"),
    (_with(steps=[{"id": "a", "teleport": {}}]), "unknown key(s) teleport"),
    (_with(steps=[{"id": "a", "send": {"verb": "get", "noun": "X"}, "raw": {"to": "get X"}}]), "exactly one action"),
    (_with(steps=[{"id": "a-b", "send": {"verb": "get", "noun": "X"}, "expect": [{"check": "t.ok", "result": "OK"}]}]),
     "must be letters, digits and '_'"),
    (_with(steps=[{"id": "a", "send": {"verb": "get", "noun": "X", "speed": 3}}]), "unknown key(s) speed"),
    (_with(steps=[{"id": "a", "send": {"verb": "get", "noun": "X"}, "expect": [{"check": "t.ok", "result": "OK",
                                                                               "exists": True}]}]),
     "result does not take exists"),
    (_with(steps=[{"id": "a", "send": {"verb": "get", "noun": "X"}}]), "declared but no step asserts them"),
    (_with(needs={"magic": True}), "unknown key(s) magic"),
])
def test_bad_suites_are_refused_with_the_reason(data, says):
    with pytest.raises(SuiteError) as err:
        parse(data, "bad.yaml")
    assert says in str(err.value)


def test_bad_yaml_and_unknown_names(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nsteps: [\n")
    with pytest.raises(SuiteError, match=r"broken.yaml: not valid YAML at line \d+"):
        load_suite(str(broken))
    with pytest.raises(SuiteError, match="unknown suite 'nope'; shipped suites: envelope"):
        load_suite("nope")
    with pytest.raises(SuiteError, match="no suite file at"):
        load_suite(str(tmp_path / "missing.yaml"))


def test_a_user_suite_with_its_own_template_runs(server, tmp_path):
    from soapbus.conformance import run

    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "mine.xml").write_text(
        '<MeterReadings xmlns="http://iec.ch/TC57/2011/MeterReadings#"><MeterReading><mRID>${mrid}</mRID>'
        '<Readings><value>${value}</value><ReadingType ref="0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0"/></Readings>'
        '</MeterReading></MeterReadings>')
    (tmp_path / "mine.yaml").write_text("""
name: mine
vars: {mrid: "${uuid()}", value: "<&>"}
checks:
  - {id: mine.create, rule: create answers OK, source: here}
  - {id: mine.echo, rule: get returns the value as sent, source: here}
  - {id: mine.broken, rule: a step reading an unknown variable is a harness error, source: here}
steps:
  - id: create
    send: {verb: create, noun: MeterReadings, payload: {template: mine.xml}}
    expect: [{check: mine.create, result: OK}]
  - id: read
    send: {verb: get, noun: MeterReadings, request: {ids: ["${mrid}"]}, header: {CorrelationID: "${steps.create.request.MessageID}"}}
    expect: [{check: mine.echo, xpath: "string(//p:value)", equals: "<&>"}]
  - id: broken
    send: {verb: get, noun: MeterReadings, request: {ids: ["${nowhere}"]}}
    expect: [{check: mine.broken, result: OK}]
""")
    result = run([f"{server.url}/soap/ExecuteMeterReadings", f"{server.url}/soap/GetMeterReadings"],
                 [str(tmp_path / "mine.yaml")])
    verdicts = {c.id: c.verdict for c in result.checks}
    assert verdicts["mine.create"] == "pass" and verdicts["mine.echo"] == "pass"  # the value went in escaped
    assert verdicts["mine.broken"] == "error" and "no variable 'nowhere'" in result.check("mine.broken").reason
