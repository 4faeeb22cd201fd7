"""The message journal: exact bytes in, summaries and conversations out."""
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from soapbus.message import Header
from soapbus.store import JournalEntry

# tests/ may be a package (relative import) or a plain directory on sys.path (absolute import).
try:
    from .store_fixtures import (  # noqa: F401
        clock, clocked_store, open_store, pg_schema_prefix, store, store_target)
except ImportError:
    from store_fixtures import (  # noqa: F401
        clock, clocked_store, open_store, pg_schema_prefix, store, store_target)

# Not valid UTF-8, with a NUL: the journal must keep bytes, not text.
RAW_REQUEST = b"<?xml version='1.0' encoding='ISO-8859-1'?>\n<RequestMessage>caf\xe9\x00</RequestMessage>"
RAW_REPLY = b"<ResponseMessage><Result>OK</Result></ResponseMessage>"


def request_header(message_id="m-1", correlation_id="c-1") -> Header:
    return Header(verb="create", noun="MeterReadings", source="CIS", message_id=message_id,
                  correlation_id=correlation_id)


def write_exchange(store, message_id="m-1", correlation_id="c-1") -> tuple[int, int]:
    """A request in and the reply out, as the server journals them."""
    with store.unit_of_work() as uow:
        request_id = uow.journal("in", RAW_REQUEST, header=request_header(message_id, correlation_id),
                                 kind="RequestMessage", peer="10.0.0.7", outcome="processed")
        reply_header = Header(verb="reply", noun="MeterReadings", source="MDMS", message_id=f"r-{message_id}",
                              correlation_id=correlation_id)
        reply_id = uow.journal("out", RAW_REPLY, header=reply_header, kind="ResponseMessage", peer="10.0.0.7",
                               outcome="replied", reply_code="0.0", related_id=request_id)
    return request_id, reply_id


def test_entry_keeps_exact_bytes_and_header_fields(clocked_store, clock):
    request_id, _ = write_exchange(clocked_store)
    entry = clocked_store.journal_get(request_id)
    assert entry == JournalEntry(
        id=request_id, received_at=clock.current, direction="in", kind="RequestMessage", verb="create",
        noun="MeterReadings", message_id="m-1", correlation_id="c-1", source="CIS", peer="10.0.0.7",
        outcome="processed", reply_code=None, reason=None, size=len(RAW_REQUEST), related_id=None,
        raw=RAW_REQUEST)


def test_reply_points_at_the_request_it_answers(store):
    request_id, reply_id = write_exchange(store)
    reply = store.journal_get(reply_id)
    assert (reply.related_id, reply.reply_code, reply.outcome, reply.raw) == (request_id, "0.0", "replied", RAW_REPLY)


def test_unparsed_message_without_header(store):
    with store.unit_of_work() as uow:
        entry_id = uow.journal("in", b"not xml", header=None, kind="unparsed", peer="10.0.0.9",
                               outcome="rejected", reply_code="1.8", reason="not well-formed")
    entry = store.journal_get(entry_id)
    assert (entry.verb, entry.noun, entry.message_id, entry.source) == (None, None, None, None)
    assert (entry.kind, entry.reply_code, entry.reason, entry.size) == ("unparsed", "1.8", "not well-formed", 7)


def test_list_is_newest_first_without_raw_and_filters(clocked_store, clock):
    ids = []
    for n in range(3):
        ids.extend(write_exchange(clocked_store, message_id=f"m-{n}", correlation_id=f"c-{n}"))
        clock.advance(seconds=1)
    listed = clocked_store.journal_list()
    assert [e.id for e in listed] == sorted(ids, reverse=True)
    assert all(e.raw is None for e in listed)
    assert [e.id for e in clocked_store.journal_list(limit=2)] == sorted(ids, reverse=True)[:2]
    assert {e.direction for e in clocked_store.journal_list(direction="out")} == {"out"}
    assert [e.message_id for e in clocked_store.journal_list(direction="in", outcome="processed")] == \
        ["m-2", "m-1", "m-0"]
    assert clocked_store.journal_list(outcome="duplicate") == []


def test_lookup_by_message_id_and_correlation_id_returns_raw_oldest_first(store):
    request_id, reply_id = write_exchange(store, message_id="m-1", correlation_id="c-1")
    write_exchange(store, message_id="m-2", correlation_id="c-2")
    by_message = store.journal_by_message_id("m-1")
    assert [(e.id, e.raw) for e in by_message] == [(request_id, RAW_REQUEST)]
    conversation = store.journal_by_correlation_id("c-1")
    assert [(e.id, e.raw) for e in conversation] == [(request_id, RAW_REQUEST), (reply_id, RAW_REPLY)]
    assert store.journal_by_message_id("nobody") == []


def test_missing_entry_is_none(store):
    assert store.journal_get(424242) is None


@pytest.mark.parametrize("direction, kind, raw, error", [
    ("sideways", "RequestMessage", b"<x/>", ValueError),
    ("in", "Telegram", b"<x/>", ValueError),
    ("in", "RequestMessage", "<x/>", TypeError),
])
def test_invalid_entries_are_refused(store, direction, kind, raw, error):
    with store.unit_of_work() as uow:
        with pytest.raises(error):
            uow.journal(direction, raw, header=None, kind=kind, peer=None, outcome="rejected")


def test_related_id_must_name_an_existing_entry(store):
    # Proves foreign keys are enforced, which SQLite only does when switched on per connection.
    with pytest.raises(IntegrityError):
        with store.unit_of_work() as uow:
            uow.journal("out", RAW_REPLY, header=None, kind="ResponseMessage", peer=None, outcome="replied",
                        related_id=999_999)
    assert store.journal_list() == []


@pytest.mark.parametrize("limit", [0, -1, 2.5, True])
def test_list_limit_must_be_positive(store, limit):
    with pytest.raises(ValueError):
        store.journal_list(limit=limit)


def test_received_at_follows_the_clock(clocked_store, clock):
    with clocked_store.unit_of_work() as uow:
        first = uow.journal("in", b"<a/>", header=None, kind="unparsed", peer=None, outcome="rejected")
        clock.advance(minutes=5)
        second = uow.journal("in", b"<b/>", header=None, kind="unparsed", peer=None, outcome="rejected")
    assert clocked_store.journal_get(second).received_at - clocked_store.journal_get(first).received_at == \
        timedelta(minutes=5)
