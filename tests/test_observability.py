"""/metrics, --log-format json and --handlers from the current folder, against a live server."""
from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from soapbus import message as m
from soapbus.message import soap
from soapbus.security import SigningKey, sign_envelope

from .conftest import ROOT
from .helpers import ServerProcess, header, meter_readings, typed_envelope

CERTS = ROOT / "certs"
HANDLERS = '''
import logging
from soapbus.handlers import ok, registry

log = logging.getLogger("obs_handlers")

@registry.handles("EndDeviceEvents", "closed")
def closed(request):
    log.warning("closing event seen for %d document(s)", len(request.documents))
    return ok()
'''


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`soapbus serve` started the way a user does: the console script, in the folder holding the handlers."""
    folder = tmp_path_factory.mktemp("observability")
    (folder / "obs_handlers.py").write_text(HANDLERS)
    command = [str(Path(sys.executable).parent / "soapbus"), "serve", "--port", "0", "--data", str(folder / "var"),
               "--certs", str(CERTS), "--log-format", "json", "--handlers", "obs_handlers",
               "--delivery-budget", "1", "--delivery-base-delay", "0.05", "--delivery-max-delay", "0.2"]
    proc = subprocess.Popen(command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    url = None
    deadline = time.monotonic() + 60
    while url is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        lines.append(line)
        found = re.search(r"listening on (http://\S+)", line)
        url = found.group(1) if found else None
    assert url, "soapbus serve did not start:\n" + "".join(lines)
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    running = ServerProcess(url, folder, f"sqlite:///{folder / 'var' / 'soapbus.db'}", proc, lines)
    yield running
    running.stop()


def scrape(server) -> dict[tuple, float]:
    response = requests.get(f"{server.url}/metrics", timeout=10)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain; version=")
    values = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def requests_count(values, **labels) -> float:
    key = ("soapbus_requests_total", tuple(sorted(labels.items())))
    return values.get(key, 0.0)


def test_requests_are_counted_by_interface_noun_verb_code_and_outcome(server):
    mrid = f"MR-{uuid.uuid4()}"
    created = m.RequestMessage(header("create", "MeterReadings"), None, m.Payload(documents=[meter_readings(mrid)]))
    unknown = m.RequestMessage(header("get", "MeterReadings"), m.Request(ids=[m.ID("nothing-here")]))
    before = scrape(server)
    assert server.post("ExecuteMeterReadings", typed_envelope("CreateMeterReadings", "MeterReadings", created)).ok
    server.post("GetMeterReadings", typed_envelope("GetMeterReadings", "MeterReadings", unknown))
    server.post("GetMeterReadings", b"<not-xml")
    after = scrape(server)
    ok = dict(interface="I7", noun="MeterReadings", verb="create", code="0.0", outcome="processed")
    failed = dict(interface="I7", noun="MeterReadings", verb="get", code="2.4", outcome="processed")
    unparsed = dict(interface="none", noun="none", verb="none", code="1.8", outcome="rejected")  # no Header read
    for labels in (ok, failed, unparsed):
        assert requests_count(after, **labels) - requests_count(before, **labels) == 1, labels
    changed = {k for k in after if k[0] == "soapbus_requests_total" and after[k] != before.get(k, 0.0)}
    assert len(changed) == 3  # nothing else moved


def test_stage_histograms_cover_every_stage(server):
    key = SigningKey.load(CERTS / "client-oms.key", CERTS / "client-oms.pem")
    plan = m.RequestMessage(header("get", "SwitchingPlans", source="OMS"), m.Request())
    envelope = sign_envelope(m.parse_bytes(typed_envelope("GetSwitchingPlans", "SwitchingPlans", plan)), key)
    assert server.post("GetSwitchingPlans", soap.to_bytes(envelope)).status_code == 200
    values = scrape(server)
    for stage in ("parse", "verify", "handle", "commit", "sign"):
        count = values[("soapbus_stage_seconds_count", (("stage", stage),))]
        total = values[("soapbus_stage_seconds_sum", (("stage", stage),))]
        assert count >= 1 and total > 0, stage
    assert not [k for k in values if k[0].endswith("_created")]


def test_a_replayed_signature_is_counted(server):
    key = SigningKey.load(CERTS / "client-oms.key", CERTS / "client-oms.pem")
    plan = m.RequestMessage(header("get", "SwitchingPlans", source="OMS"), m.Request())
    body = soap.to_bytes(sign_envelope(m.parse_bytes(typed_envelope("GetSwitchingPlans", "SwitchingPlans", plan)), key))
    before = scrape(server).get(("soapbus_replay_refusals_total", ()), 0)
    first, second = server.post("GetSwitchingPlans", body), server.post("GetSwitchingPlans", body)
    assert first.status_code == 200 and second.status_code == 500 and b"replay" in second.content
    assert scrape(server)[("soapbus_replay_refusals_total", ())] == before + 1


def test_outbox_depth_deliveries_and_dead_letters(server):
    port = _free_port()  # nobody listens: every attempt fails until the 1 s budget makes it a dead letter
    subscriber = f"http://127.0.0.1:{port}/events"
    assert requests.post(f"{server.url}/admin/subscriptions", json={"endpoint": subscriber, "noun": "EndDeviceEvents"},
                         timeout=10).status_code == 201
    ede = m.parse_bytes(b'<EndDeviceEvents xmlns="http://iec.ch/TC57/2011/EndDeviceEvents#"><EndDeviceEvent>'
                        b'<mRID>EDE-OBS-1</mRID><createdDateTime>2026-11-26T10:00:00Z</createdDateTime>'
                        b'<EndDeviceEventType ref="3.26.0.185"/></EndDeviceEvent></EndDeviceEvents>')
    msg = m.RequestMessage(header("create", "EndDeviceEvents"), None, m.Payload(documents=[ede]))
    assert server.post("ExecuteEndDeviceEvents", typed_envelope("CreateEndDeviceEvents", "EndDeviceEvents", msg)).ok
    destination = (("destination", f"http://127.0.0.1:{port}"), ("outcome", "dead"))
    deadline, values = time.monotonic() + 20, {}
    while time.monotonic() < deadline:
        values = scrape(server)
        if values.get(("soapbus_deliveries_total", destination), 0) >= 1:
            break
        time.sleep(0.2)
    assert values[("soapbus_deliveries_total", destination)] == 1
    assert values[("soapbus_deliveries_total", (("destination", f"http://127.0.0.1:{port}"), ("outcome", "retry")))] >= 1
    assert values[("soapbus_dead_letters", ())] >= 1
    assert values[("soapbus_outbox_messages", (("status", "dead"),))] >= 1
    assert values[("soapbus_database_up", ())] == 1


def test_json_log_lines_carry_the_message_ids_and_handlers_load_from_the_folder(server):
    ede = m.parse_bytes(b'<EndDeviceEvents xmlns="http://iec.ch/TC57/2011/EndDeviceEvents#"><EndDeviceEvent>'
                        b'<mRID>EDE-OBS-2</mRID><createdDateTime>2026-11-26T10:00:00Z</createdDateTime>'
                        b'<EndDeviceEventType ref="3.26.0.185"/></EndDeviceEvent></EndDeviceEvents>')
    sent = header("closed", "EndDeviceEvents", correlation_id=f"conv-{uuid.uuid4()}")
    event = m.EventMessage(sent, m.Payload(documents=[ede]))
    answer = server.post("ReceiveEndDeviceEvents", typed_envelope("ClosedEndDeviceEvents", "EndDeviceEvents", event))
    assert answer.status_code == 200 and b"<m:Result>OK</m:Result>" in answer.content  # the module's handler ran
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "closing event seen" not in server.log_text():
        time.sleep(0.1)
    logged = [json.loads(line) for line in server.output if line.startswith("{")]
    [seen] = [line for line in logged if line["message"] == "closing event seen for 1 document(s)"]
    assert seen["message_id"] == sent.message_id and seen["correlation_id"] == sent.correlation_id
    assert seen["logger"] == "obs_handlers" and seen["level"] == "WARNING"
    assert all(set(line) >= {"time", "level", "logger", "message", "message_id", "correlation_id"} for line in logged)
    outside = [line for line in logged if line["message_id"] is None]  # lines of no request carry none
    assert outside and all(line["message"] != seen["message"] for line in outside)
