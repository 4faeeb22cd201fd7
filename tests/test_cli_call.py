"""`soapbus call` against a live server: signing, the exchange shown, Header options, output forms, exit codes."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid

import pytest
from click.testing import CliRunner
from lxml import etree

from soapbus.cli import cli
from soapbus.profiles.examples import payload_document
from soapbus.store import Store

from .conftest import ROOT
from .helpers import generic_envelope, header, meter_readings, start_server
from soapbus import message as m

CERTS = ROOT / "certs"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = start_server(tmp_path_factory.mktemp("call"), extra_args=["--certs", str(CERTS)])
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("call-files")
    plan = folder / "plan.xml"
    plan.write_bytes(etree.tostring(payload_document("SwitchingPlans", mrid=str(uuid.uuid4()))))
    readings = folder / "mr.xml"
    readings.write_bytes(etree.tostring(meter_readings("MR-CALL-1")))
    broken = folder / "broken.xml"
    broken.write_text("<MeterReadings><MeterReading>")
    generic = folder / "generic-envelope.xml"
    generic.write_bytes(generic_envelope(m.RequestMessage(header("get", "MeterReadings"), m.Request())))
    return {"plan": plan, "readings": readings, "broken": broken, "generic": generic}


def call(*args):
    return CliRunner().invoke(cli, ["call", *map(str, args)], catch_exceptions=False)


def test_a_signed_interface_is_called_signed_and_the_answer_verified(server, files):
    result = call(f"{server.url}/soap/ExecuteSwitchingPlans", "--verb", "create", "--noun", "SwitchingPlans",
                  "--payload", files["plan"], "--certs", CERTS, "--source", "OMS", "-v")
    assert result.exit_code == 0, result.stderr
    shown_request = result.stderr.split("< HTTP", 1)[0]
    assert "> POST " in shown_request and "wsse:Security" in shown_request and "ds:SignatureValue" in shown_request
    assert "< HTTP 200" in result.stderr and "OK (0.0)" in result.stderr
    assert "Signature" in result.stdout  # the server signed its answer ...
    assert "not verified" not in result.stderr  # ... and it was verified against certs/ca.pem


def test_unsigned_on_a_signed_interface_is_a_fault_with_a_hint(server, files):
    result = call(f"{server.url}/soap/ExecuteSwitchingPlans", "--verb", "create", "--noun", "SwitchingPlans",
                  "--payload", files["plan"], "--source", "OMS")
    assert result.exit_code == 4
    assert result.stderr.startswith("SOAP fault ") and "sign the request: --certs DIR" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_signed_answer_without_trust_is_noted(server, files):
    result = call(f"{server.url}/soap/ExecuteSwitchingPlans", "--verb", "create", "--noun", "SwitchingPlans",
                  "--payload", files["plan"], "--cert", CERTS / "client-oms.pem", "--key", CERTS / "client-oms.key")
    # Source defaults to the certificate's CN (OMS), which the server binds it to; a repeat of one plan is 6.1
    assert result.exit_code in (0, 1), result.stderr
    assert "note: the answer from" in result.stderr and "not verified" in result.stderr


def test_header_options_reach_the_server(server, files):
    message_id, correlation_id = f"cli-{uuid.uuid4()}", f"conversation-{uuid.uuid4()}"
    result = call(f"{server.url}/soap/ExecuteMeterReadings", "--verb", "create", "--noun", "MeterReadings",
                  "--payload", files["readings"], "--source", "MDMS", "--message-id", message_id,
                  "--correlation-id", correlation_id, "--context", "TESTING", "--ack-required", "--output", "json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["result"] == "OK" and answer["correlationId"] == correlation_id
    with Store(server.database_url) as store:
        [request] = [e for e in store.journal_by_message_id(message_id) if e.direction == "in"]
    assert request.source == "MDMS" and request.correlation_id == correlation_id
    assert b"<m:Context>TESTING</m:Context>" in request.raw and b"<m:AckRequired>true</m:AckRequired>" in request.raw


def test_json_and_xpath_output(server, files):
    call(f"{server.url}/soap/ExecuteMeterReadings", "--verb", "create", "--noun", "MeterReadings",
         "--payload", files["readings"], "--source", "MDMS")
    url = f"{server.url}/soap/GetMeterReadings"
    as_json = call(url, "--verb", "get", "--noun", "MeterReadings", "--id", "MR-CALL-1", "--output", "json")
    assert as_json.exit_code == 0
    data = json.loads(as_json.stdout)["data"]
    assert data[0]["MeterReading"][0]["mRID"] == "MR-CALL-1"  # a list, as the profile lets it repeat
    values = call(url, "--verb", "get", "--noun", "MeterReadings", "--id", "MR-CALL-1",
                  "--output", "xpath://MeterReading/Readings/value")
    assert values.exit_code == 0 and values.stdout.strip() == "12.5"
    result = call(url, "--verb", "get", "--noun", "MeterReadings", "--id", "MR-CALL-1", "--output", "xpath:count(//Reply/Error)")
    assert result.stdout.strip() == "1"
    bad = call(url, "--verb", "get", "--noun", "MeterReadings", "--output", "xpath:///[")
    assert bad.exit_code == 2 and "is not an XPath expression" in bad.stderr


def test_a_failed_reply_exits_1(server):
    result = call(f"{server.url}/soap/GetMeterReadings", "--verb", "get", "--noun", "MeterReadings",
                  "--id", "no-such-reading")
    assert result.exit_code == 1 and result.stderr.startswith("FAILED (2.4")


@pytest.mark.parametrize("args, expected", [
    (("--verb", "get", "--noun", "meterreadings"), "(did you mean MeterReadings?)"),
    (("--verb", "gett", "--noun", "MeterReadings"), "(did you mean get?)"),
    (("--verb", "create", "--noun", "MeterReadings"), "give --payload FILE (`soapbus sample MeterReadings create`"),
    (("--verb", "create", "--noun", "MeterReadings", "--cert", CERTS / "client-oms.pem"), "--cert and --key go together"),
    (("--verb", "get", "--noun", "MeterReadings", "--certs", CERTS), "say which with --source NAME"),
])
def test_usage_errors_exit_2_with_one_line(server, args, expected):
    result = call(f"{server.url}/soap/GetMeterReadings", *args)
    assert result.exit_code == 2 and expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_malformed_payload_is_a_usage_error_not_a_failed_reply(server, files):
    result = call(f"{server.url}/soap/ExecuteMeterReadings", "--verb", "create", "--noun", "MeterReadings",
                  "--payload", files["broken"])
    assert result.exit_code == 2 and str(files["broken"]) in result.stderr and "Traceback" not in result.stderr


def test_nothing_listening_exits_3_with_a_hint():
    with socket.socket() as sock:  # a port that was free a moment ago and has nobody on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = call(f"http://127.0.0.1:{port}/soap/GetMeterReadings", "--verb", "get", "--noun", "MeterReadings")
    assert result.exit_code == 3
    assert result.stderr.strip() == (f"Error: no server answers at http://127.0.0.1:{port}/soap/GetMeterReadings: "
                                     "is `scripts/serve` running?")


def test_a_generic_envelope_posted_to_a_typed_endpoint_is_a_fault_said_on_stderr(server, files):
    result = call(f"{server.url}/soap/GetMeterReadings", "--file", files["generic"])
    assert result.exit_code == 4
    assert "SOAP fault" in result.stderr and "is not an operation of GetMeterReadings" in result.stderr
    control = call(f"{server.url}/soap/Operations", "--file", files["generic"])  # the generic endpoint takes it
    assert control.exit_code == 0, control.stderr


def test_async_replies_are_received_and_printed(server, files):
    call(f"{server.url}/soap/ExecuteMeterReadings", "--verb", "create", "--noun", "MeterReadings",
         "--payload", files["readings"], "--source", "MDMS")
    result = call(f"{server.url}/soap/GetMeterReadings", "--verb", "get", "--noun", "MeterReadings",
                  "--id", "MR-CALL-1", "--async", "--timeout", "20", "--output", "xpath://MeterReading/mRID")
    assert result.exit_code == 0, result.stderr
    assert "acknowledged: OK (0.3" in result.stderr and "waiting up to 20 s for the replies at http://127.0.0.1:" in result.stderr
    assert result.stdout.strip() == "MR-CALL-1"


def test_the_installed_command_runs_as_a_process(server):
    """The console script itself (not only the click object): exit status and streams as a shell sees them."""
    done = subprocess.run([sys.executable, "-m", "soapbus", "call", f"{server.url}/soap/GetMeterReadings",
                           "--verb", "get", "--noun", "MeterReadings", "--id", "nothing-here"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "FAILED (2.4" in done.stderr and "<m:Result>FAILED</m:Result>" in done.stdout
