"""Journal rows of repeated answers carry their columns (verb, noun, IDs, reply code), like the first."""
from __future__ import annotations

import pytest

from soapbus import message as m
from soapbus.store import Store

from .helpers import generic_envelope, header, meter_readings, server_on


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    with server_on(request.param, tmp_path_factory.mktemp(f"journal-{request.param}"), "journalcols") as proc:
        yield proc


def test_a_repeated_answer_is_journaled_with_its_header_and_code(server):
    msg = m.RequestMessage(header("create", "MeterReadings"), None,
                           m.Payload(documents=[meter_readings(m.new_message_id())]))
    body = generic_envelope(msg)
    first, again = server.post("Operations", body), server.post("Operations", body)
    assert first.content == again.content and b"<m:Result>OK</m:Result>" in first.content
    store = Store(server.database_url)
    try:
        rows = store.journal_by_correlation_id(msg.header.message_id)
        ins = [r for r in store.journal_by_message_id(msg.header.message_id) if r.direction == "in"]
    finally:
        store.close()
    answers = [r for r in rows if r.direction == "out"]
    assert [r.reason for r in answers] == [None, "repeat of the earlier reply"], rows
    assert {(r.verb, r.noun, r.reply_code, r.source) for r in answers} == {("reply", "MeterReadings", "0.0", "soapbus")}
    assert answers[0].message_id == answers[1].message_id  # the same answer, byte for byte
    assert [r.outcome for r in ins] == ["processed", "duplicate"]
