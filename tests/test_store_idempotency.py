"""Processed-message claims: one MessageID from one Source acts once, even under concurrency."""
import threading

import pytest

from soapbus.store import UnknownClaim

# tests/ may be a package (relative import) or a plain directory on sys.path (absolute import).
try:
    from .store_fixtures import (  # noqa: F401
        BackgroundUnit, open_store, pg_schema_prefix, run_in_threads, store, store_target)
except ImportError:
    from store_fixtures import (  # noqa: F401
        BackgroundUnit, open_store, pg_schema_prefix, run_in_threads, store, store_target)


class Abort(Exception):
    """Raised inside a unit of work to make it roll back."""


def test_first_claim_wins_and_the_transaction_goes_on(store):
    with store.unit_of_work() as uow:
        assert uow.claim("CIS", "m-1") is True
        assert uow.claim("CIS", "m-1") is False
        # The refused insert must not have poisoned the transaction (PostgreSQL would abort it).
        journal_id = uow.journal("in", b"<x/>", header=None, kind="unparsed", peer=None, outcome="duplicate")
    assert store.journal_get(journal_id).outcome == "duplicate"
    with store.unit_of_work() as uow:
        assert uow.claim("CIS", "m-1") is False


def test_claims_are_per_source(store):
    with store.unit_of_work() as uow:
        assert uow.claim("CIS", "m-1") is True
        assert uow.claim("OMS", "m-1") is True
        assert uow.claim("CIS", "m-2") is True


def test_missing_source_counts_as_one_source(store):
    with store.unit_of_work() as uow:
        assert uow.claim(None, "m-1") is True
        assert uow.claim(None, "m-1") is False
        assert uow.claim("", "m-1") is False


def test_a_rolled_back_claim_can_be_made_again(store):
    with pytest.raises(Abort):
        with store.unit_of_work() as uow:
            assert uow.claim("CIS", "m-1") is True
            raise Abort
    with store.unit_of_work() as uow:
        assert uow.claim("CIS", "m-1") is True


def test_reply_is_kept_for_duplicates(store):
    with store.unit_of_work() as uow:
        uow.claim("CIS", "m-1")
        reply_id = uow.journal("out", b"<reply/>", header=None, kind="ResponseMessage", peer=None, outcome="replied")
        uow.set_reply("CIS", "m-1", b"<reply/>", reply_id)
        assert uow.stored_reply("CIS", "m-1") == b"<reply/>"
    assert store.stored_reply("CIS", "m-1") == b"<reply/>"
    assert store.stored_reply("OMS", "m-1") is None
    assert store.stored_reply("CIS", "m-2") is None


def test_claim_without_reply_has_none(store):
    with store.unit_of_work() as uow:
        uow.claim(None, "m-1")
    assert store.stored_reply(None, "m-1") is None


def test_reply_for_an_unclaimed_message_is_refused(store):
    with store.unit_of_work() as uow:
        with pytest.raises(UnknownClaim):
            uow.set_reply("CIS", "never-claimed", b"<reply/>", None)


@pytest.mark.parametrize("message_id", ["", None])
def test_message_without_id_cannot_be_claimed(store, message_id):
    with store.unit_of_work() as uow:
        with pytest.raises(ValueError, match="MessageID"):
            uow.claim("CIS", message_id)


def test_concurrent_claims_exactly_one_wins(store):
    def deliver(copy: int):
        def process() -> bool:
            with store.unit_of_work() as uow:
                won = uow.claim("CIS", "m-1")
                if won:
                    uow.set_reply("CIS", "m-1", f"reply from copy {copy}".encode(), None)
                return won
        return process

    copies = 10
    results = run_in_threads([deliver(n) for n in range(copies)])
    assert results.count(True) == 1
    winner = results.index(True)
    assert store.stored_reply("CIS", "m-1") == f"reply from copy {winner}".encode()


@pytest.mark.parametrize("first_commits", [True, False], ids=["first-commits", "first-rolls-back"])
def test_second_claim_waits_for_the_first_transaction_to_end(store, first_commits):
    claimed = threading.Event()
    release = threading.Event()

    def first() -> bool:
        with store.unit_of_work() as uow:
            won = uow.claim("CIS", "m-1")
            uow.set_reply("CIS", "m-1", b"<first reply/>", None)
            claimed.set()
            release.wait(30)
            if not first_commits:
                raise Abort
        return won

    def second() -> tuple[bool, bytes | None]:
        with store.unit_of_work() as uow:
            return uow.claim("CIS", "m-1"), uow.stored_reply("CIS", "m-1")

    first_unit = BackgroundUnit(first).start()
    assert claimed.wait(30)
    second_unit = BackgroundUnit(second).start()
    assert second_unit.still_running_after(0.5), "the second claim did not wait for the open first one"
    release.set()
    if first_commits:
        assert first_unit.join() is True
        assert second_unit.join() == (False, b"<first reply/>")
    else:
        with pytest.raises(Abort):
            first_unit.join()
        assert second_unit.join() == (True, None)


def test_reads_outside_a_unit_see_only_committed_data_and_do_not_wait(store):
    written = threading.Event()
    release = threading.Event()

    def writer() -> None:
        with store.unit_of_work() as uow:
            uow.claim("CIS", "m-1")
            uow.set_reply("CIS", "m-1", b"<reply/>", None)
            written.set()
            release.wait(30)

    unit = BackgroundUnit(writer).start()
    try:
        assert written.wait(30)
        for _ in range(3):  # pooled read connections are reused: none may keep a stale snapshot
            assert store.stored_reply("CIS", "m-1") is None
            assert store.journal_list() == []
    finally:
        release.set()
    unit.join()
    assert store.stored_reply("CIS", "m-1") == b"<reply/>"
