"""The `soapbus` command as a person uses it: real processes, real server, real database."""
from __future__ import annotations

import subprocess
import sys

import pytest
from lxml import etree

from soapbus import message as m

from .helpers import meter_readings, start_server


def soapbus(*args, check=False):
    return subprocess.run([sys.executable, "-m", "soapbus", *args], capture_output=True, text=True, timeout=60,
                          check=check)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = start_server(tmp_path_factory.mktemp("cli"))
    yield proc
    proc.stop()


def test_call_from_flags_create_then_get(server, tmp_path):
    mrid = m.new_message_id()
    payload = tmp_path / "mr.xml"
    payload.write_bytes(etree.tostring(meter_readings(mrid)))
    done = soapbus("call", f"{server.url}/soap/ExecuteMeterReadings", "--verb", "create", "--noun", "MeterReadings",
                   "--payload", str(payload), "--source", "MDMS")
    assert done.returncode == 0, done.stderr
    assert "<m:Result>OK</m:Result>" in done.stdout and done.stderr.startswith("OK")
    got = soapbus("call", f"{server.url}/soap/GetMeterReadings", "--verb", "get", "--noun", "MeterReadings",
                  "--id", mrid)
    assert got.returncode == 0 and mrid in got.stdout
    missing = soapbus("call", f"{server.url}/soap/GetMeterReadings", "--verb", "get", "--noun", "MeterReadings",
                      "--id", "nope")
    assert missing.returncode == 1 and "FAILED (2.4" in missing.stderr


def test_call_with_a_message_file(server, tmp_path):
    req = m.RequestMessage(m.Header("get", "MeterReadings", correlation_id="file-conv"), m.Request())
    path = tmp_path / "get.xml"
    path.write_bytes(m.to_bytes(req))
    done = soapbus("call", f"{server.url}/wsdl/Operations.wsdl", "--file", str(path))
    assert done.returncode == 0, done.stderr
    assert "CorrelationID=file-conv" in done.stderr


def test_journal_list_and_show(server):
    listed = soapbus("journal", "list", "--data", str(server.data_dir), "--limit", "5")
    assert listed.returncode == 0 and "MeterReadings" in listed.stdout
    mrid = m.new_message_id()
    from soapbus.client import Client

    result = Client(f"{server.url}/soap/ExecuteMeterReadings").create("MeterReadings", meter_readings(mrid))
    shown = soapbus("journal", "show", "--data", str(server.data_dir), "--correlation-id", result.correlation_id)
    assert shown.returncode == 0
    assert shown.stdout.count("--- #") == 2 and mrid in shown.stdout  # the request and our reply


@pytest.mark.parametrize("args, says", [
    (["call", "http://127.0.0.1:9/soap/X"], "give either --file, or --verb and --noun"),
    (["call", "http://127.0.0.1:9/soap/X", "--verb", "get"], "--verb and --noun go together"),
    (["call", "http://127.0.0.1:9/soap/X", "--verb", "get", "--noun", "MeterReadings"],
     "no server answers at http://127.0.0.1:9/soap/X: is `scripts/serve` running?"),
    (["journal", "list", "--data", "/nonexistent/soapbus"], "no soapbus database at"),
    (["journal", "show", "--data", "/tmp"], "give exactly one of"),
    (["journal", "list", "--database", "postgresql+psycopg://nobody@127.0.0.1:1/x"], "cannot open the database"),
])
def test_errors_a_person_can_act_on(args, says):
    done = soapbus(*args)
    assert done.returncode != 0
    assert says in done.stderr
    assert "Traceback" not in done.stderr


def test_call_with_a_file_that_is_not_xml(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("not xml at all")
    done = soapbus("call", "http://127.0.0.1:9/soap/X", "--file", str(bad))
    assert done.returncode != 0 and "not well-formed" in done.stderr and "Traceback" not in done.stderr


def test_serve_with_an_unsupported_database(tmp_path):
    # An unreachable database is no reason to refuse to start (tests/test_db_outage.py); a URL
    # soapbus cannot use at all is.
    done = soapbus("serve", "--port", "0", "--data", str(tmp_path), "--database", "mysql://nobody@127.0.0.1:1/x")
    assert done.returncode != 0 and "cannot use the database mysql://nobody@127.0.0.1:1/x: unsupported database 'mysql'" \
        in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_refuses_a_busy_port(server):
    port = server.url.rsplit(":", 1)[1]
    done = soapbus("serve", "--port", port, "--data", str(server.data_dir))
    assert done.returncode != 0 and f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
