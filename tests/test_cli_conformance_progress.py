"""`soapbus conformance`: time per target after a suite, --var names checked, serve-mock saying what it waits for."""
from __future__ import annotations

import re
import subprocess
import sys
import threading
import uuid

import pytest
from click.testing import CliRunner

from soapbus.cli import cli
from soapbus.client import Client

from .helpers import meter_readings, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = start_server(tmp_path_factory.mktemp("progress"))
    yield proc
    proc.stop()


def test_a_run_reports_the_time_spent_per_target(server, tmp_path):
    result = CliRunner().invoke(cli, ["conformance", "run", "--target", f"{server.url}/soap/ExecuteMeterReadings",
                                      "--target", f"{server.url}/soap/GetMeterReadings", "--suite", "envelope",
                                      "--report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    found = re.search(rf"{re.escape(server.url)}: (\d+) answer\(s\) in [\d.]+ s, slowest \d+ ms", result.output)
    assert found and int(found.group(1)) >= 4


@pytest.mark.parametrize("args, expected", [
    (("--suite", "envelope", "--var", "mird=1"), "'mird' is not a variable of the suites run (did you mean mrid?)"),
    (("--var", "meterr=MTR-1"), "'meterr' is not a variable of the suites run (did you mean meter?)"),
])
def test_an_unknown_var_is_refused_before_anything_is_sent(tmp_path, args, expected):
    result = CliRunner().invoke(cli, ["conformance", "run", "--target", "http://127.0.0.1:9/nothing-listens",
                                      "--report", str(tmp_path), *args])
    assert result.exit_code == 2 and expected in result.stderr


def test_a_known_var_is_taken(server, tmp_path):
    result = CliRunner().invoke(cli, ["conformance", "run", "--target", f"{server.url}/soap/ExecuteMeterReadings",
                                      "--target", f"{server.url}/soap/GetMeterReadings", "--suite", "envelope",
                                      "--var", f"mrid=MR-{uuid.uuid4()}", "--report", str(tmp_path)])
    assert result.exit_code == 0, result.output


def test_serve_mock_says_what_it_waits_for_and_what_arrives(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "soapbus", "conformance", "serve-mock", "--report", str(tmp_path),
                             "--timeout", "60"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("waiting up to"):
                break
        assert lines[-1].startswith("waiting up to 60 s for the client to send: create MeterReadings, "
                                    "get MeterReadings"), "".join(lines)
        wsdls = [line.split("WSDL: ", 1)[1].strip() for line in lines if "WSDL: " in line]
        assert any(w.endswith("/soap/Operations?wsdl") for w in wsdls) and len(wsdls) <= 5
        base = re.search(r"listening on (http://\S+)", "".join(lines)).group(1)
        rest = []
        reader = threading.Thread(target=lambda: rest.extend(proc.stdout), daemon=True)
        reader.start()
        client = Client(f"{base}/soap/ExecuteMeterReadings", f"{base}/soap/GetMeterReadings", source="MDMS",
                        raise_on_failed=False)
        client.create("MeterReadings", meter_readings("MR-MOCK-1"))
        client.get("MeterReadings", "MR-MOCK-1")
        proc.wait(60)
        reader.join(10)
    finally:
        proc.kill()
    said = "".join(rest)
    assert "  request 1 arrived: create MeterReadings" in said and "  request 2 arrived: get MeterReadings" in said
    assert "every request the suite asks for has arrived" in said
