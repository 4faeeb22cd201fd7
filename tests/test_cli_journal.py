"""`soapbus journal` against a live server's database: list (repeated answers filled in), show (readable),
prune (claims kept), and --data found the same way by every command."""
from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner

from soapbus import message as m
from soapbus.cli import cli
from soapbus.cli.common import default_data_dir

from .conftest import ROOT
from .helpers import header, meter_readings, start_server, typed_envelope


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = start_server(tmp_path_factory.mktemp("journal"))
    yield proc
    proc.stop()


def journal(server, *args):
    return CliRunner().invoke(cli, ["journal", *args, "--data", str(server.data_dir)], catch_exceptions=False)


def send_twice(server) -> str:
    message_id = f"journal-{uuid.uuid4()}"
    msg = m.RequestMessage(header("create", "MeterReadings", message_id=message_id), None,
                           m.Payload(documents=[meter_readings(f"MR-{uuid.uuid4()}")]))
    body = typed_envelope("CreateMeterReadings", "MeterReadings", msg)
    assert server.post("ExecuteMeterReadings", body).ok and server.post("ExecuteMeterReadings", body).ok
    return message_id


def test_a_repeated_answer_is_listed_with_its_header_and_code(server):
    message_id = send_twice(server)
    listed = journal(server, "list", "--limit", "4")
    rows = [line.split("\t") for line in listed.stdout.splitlines()[1:]]
    answers = [r for r in rows if r[2] == "out" and r[7] == message_id]
    assert len(answers) == 2, listed.stdout  # the first answer and its repeat, both with their CorrelationID
    assert all(r[4:6] == ["reply", "MeterReadings"] and r[9] == "0.0" and r[6] for r in answers)
    filtered = journal(server, "list", "--outcome", "duplicate", "--noun", "MeterReadings")
    assert [line.split("\t")[6] for line in filtered.stdout.splitlines()[1:]][0] == message_id


def test_show_prints_the_message_indented_and_raw_on_request(server):
    message_id = send_twice(server)
    shown = journal(server, "show", "--message-id", message_id)
    assert shown.exit_code == 0
    assert "\n        <m:Verb>create</m:Verb>\n" in shown.stdout and "signature: unsigned" in shown.stdout
    raw = journal(server, "show", "--message-id", message_id, "--raw")
    assert "<m:Verb>create</m:Verb><m:Noun>MeterReadings</m:Noun>" in raw.stdout  # the bytes, on one line


def test_prune_deletes_old_entries_and_keeps_the_claims(server):
    message_id = send_twice(server)
    kept = journal(server, "prune", "--older-than", "30d")
    assert kept.exit_code == 0 and kept.stdout.startswith("deleted 0 journal entries")
    pruned = journal(server, "prune", "--older-than", "0.001s")
    assert pruned.exit_code == 0 and int(pruned.stdout.split()[1]) >= 4
    assert journal(server, "show", "--message-id", message_id).exit_code == 1  # gone from the journal ...
    msg = m.RequestMessage(header("create", "MeterReadings", message_id=message_id), None,
                           m.Payload(documents=[meter_readings("MR-other")]))
    server.post("ExecuteMeterReadings", typed_envelope("CreateMeterReadings", "MeterReadings", msg))
    again = journal(server, "list", "--limit", "2")
    assert "\tduplicate\t" in again.stdout  # ... but a late re-delivery still does not act twice
    bad = journal(server, "prune", "--older-than", "a while")
    assert bad.exit_code == 2 and "is not a duration" in bad.stderr


def test_data_resolves_from_the_environment_then_the_checkout(monkeypatch, tmp_path):
    monkeypatch.setenv("SOAPBUS_DATA", str(tmp_path / "elsewhere"))
    assert default_data_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("SOAPBUS_DATA")
    assert default_data_dir() == ROOT / "var"  # run from this checkout, wherever the shell stands
    monkeypatch.chdir(tmp_path)
    missing = CliRunner().invoke(cli, ["journal", "list", "--data", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "start the server once (`scripts/serve`" in missing.stderr
