"""`soapbus conformance run / list / serve-mock`, and the mock endpoint judging a vendor's client."""
from __future__ import annotations

import threading
import time

import pytest
import requests
from click.testing import CliRunner
from lxml import etree

from soapbus import message as m
from soapbus.cli import cli
from soapbus.client import Client
from soapbus.conformance.mock import serve_mock
from soapbus.message import soap

from ..helpers import meter_readings, typed_envelope
from .conftest import free_port


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_list_prints_every_suite_and_check():
    out = invoke("conformance", "list")
    assert out.exit_code == 0
    for text in ("envelope (server)", "client (client)", "robustness.duplicate-once", "source: IEC 61968-100 Ed.1"):
        assert text in out.output


def test_run_against_soapbus_exits_0_and_writes_reports(server, tmp_path):
    out = invoke("conformance", "run", "--target", f"{server.url}/soap/ExecuteMeterReadings",
                 "--target", f"{server.url}/soap/GetMeterReadings?wsdl", "--suite", "envelope",
                 "--suite", "robustness", "--report", str(tmp_path / "r"))
    assert out.exit_code == 0, out.output
    assert "envelope.correlation-echo" in out.output and "0 fail" in out.output
    assert (tmp_path / "r" / "junit.xml").exists() and (tmp_path / "r" / "report.html").exists()


@pytest.mark.parametrize("args, says", [
    (["--suite", "nope"], "unknown suite 'nope'"),
    (["--payload", "MeterReadings"], "write NOUN=FILE"),
    (["--payload", "MeterReadings=/no/such.xml"], "no file /no/such.xml"),
    (["--client-cert", "/no/such.pem", "--client-key", "/no/such.key"], "does not exist"),
    (["--client-cert", "/no/such.pem"], "--client-cert and --client-key go together"),
    (["--callback-host", "nowhere"], "HOST:PORT"),
])
def test_run_refuses_bad_input_without_a_traceback(server, tmp_path, args, says):
    out = invoke("conformance", "run", "--target", f"{server.url}/soap/GetMeterReadings", *args,
                 "--report", str(tmp_path / "r"))
    assert out.exit_code == 2 and says in out.output and "Traceback" not in out.output


def test_run_against_an_unreachable_target(tmp_path):
    out = invoke("conformance", "run", "--target", f"http://127.0.0.1:{free_port()}/soap/X", "--report",
                 str(tmp_path / "r"))
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert "cannot fetch the WSDL" in out.output or "cannot read" in out.output


def test_run_with_a_bad_certificate_file(server, tmp_path):
    bad, key = tmp_path / "bad.pem", tmp_path / "bad.key"
    bad.write_text("not a certificate")
    key.write_text("not a key")
    out = invoke("conformance", "run", "--target", f"{server.url}/soap/GetMeterReadings", "--client-cert", str(bad),
                 "--client-key", str(key), "--report", str(tmp_path / "r"))
    assert out.exit_code == 2 and "cannot load the client key and certificate" in out.output


def test_run_fails_with_exit_1_against_a_broken_endpoint(mutant_proxy, tmp_path):
    from . import mutants

    with mutant_proxy.acting(on_response=mutants.no_correlation_echo) as proxy:
        out = invoke("conformance", "run", "--target", f"{proxy.url}/soap/ExecuteMeterReadings", "--target",
                     f"{proxy.url}/soap/GetMeterReadings", "--suite", "envelope", "--report", str(tmp_path / "r"))
    assert out.exit_code == 1 and "FAIL" in out.output
    html = (tmp_path / "r" / "report.html").read_text()
    assert "What the vendor must fix" in html and "A reply&#39;s CorrelationID is the request&#39;s" in html  # escaped


def test_mock_judges_soapbus_client_as_the_vendor_client():
    mock = serve_mock("client")
    try:
        vendor = Client(f"{mock.url}/soap/ExecuteMeterReadings", f"{mock.url}/soap/GetMeterReadings", source="MDMS")
        assert vendor.create("MeterReadings", meter_readings(m.new_message_id())).result == "OK"
        got = vendor.get("MeterReadings", "any")
        assert got.result == "OK" and got.data[0]["MeterReading"][0]["mRID"]
        mock.wait(5)
    finally:
        mock.stop()
    result = mock.result()
    verdicts = {c.id: c.verdict for c in result.checks}
    assert verdicts.pop("client.signed") == "skipped"  # no --trust given
    assert set(verdicts.values()) == {"pass"}, {c.id: c.reason for c in result.checks}


def test_mock_catches_a_sloppy_client():
    """A client that reuses its MessageID, sends a naive Timestamp, and never sends the get."""
    mock = serve_mock("client")
    try:
        header = m.Header(verb="create", noun="MeterReadings", source="MDMS", message_id="not-a-uuid")
        req = m.RequestMessage(header, None, m.Payload(documents=[meter_readings(m.new_message_id())]))
        body = typed_envelope("CreateMeterReadings", "MeterReadings", req)
        body = body.replace(b"<m:Source>", b"<m:Timestamp>2026-01-01T10:00:00</m:Timestamp><m:Source>")
        for _ in range(2):
            requests.post(f"{mock.url}/soap/ExecuteMeterReadings", data=body, timeout=10,
                          headers={"Content-Type": "text/xml"})
    finally:
        mock.stop()
    result = mock.result()
    assert result.failing_ids() == {"client.requests-arrived", "client.fresh-message-id", "client.timestamp-zone"}


def test_serve_mock_command(tmp_path):
    port = free_port()
    runner_out = {}

    def serve():
        runner_out["result"] = CliRunner().invoke(cli, ["conformance", "serve-mock", "--port", str(port),
                                                        "--timeout", "20", "--report", str(tmp_path / "r")])

    thread = threading.Thread(target=serve)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/soap/GetMeterReadings?wsdl", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    vendor = Client(f"{base}/soap/ExecuteMeterReadings", f"{base}/soap/GetMeterReadings", source="MDMS")
    vendor.create("MeterReadings", meter_readings(m.new_message_id()))
    vendor.get("MeterReadings", "x")
    thread.join(30)
    out = runner_out["result"]
    assert out.exit_code == 0, out.output
    assert "mock endpoint listening on" in out.output and "client.request-schema" in out.output
    junit = etree.parse(str(tmp_path / "r" / "junit.xml")).getroot()
    assert len(junit.findall(".//testcase")) == 7
