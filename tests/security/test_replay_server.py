"""Over HTTP, against a live server: a captured signed request sent again with its SignatureValue
written anew is refused as a replay (wsse:InvalidSecurity), and journaled as rejected.

The requests carry no 61968 Nonce, so the signature memory in the server's database is what
refuses them; before it was keyed on the canonical SignedInfo, the rewritten copy passed it and
reached the pipeline (which answered it as a duplicate). A fresh signature of the same Body is
the positive control.
"""
from __future__ import annotations

import copy

import pytest
from lxml import etree

from soapbus import message as m
from soapbus.message import namespaces, soap
from soapbus.security import sign_envelope
from soapbus.store import Store

from ..helpers import fault_of, header, response_message, start_server, typed_envelope
from .support import base64_rewrapped, base64_spare_bits_set, ecdsa_negated_s, with_signature_value

CTL = namespaces.profile_ns("Controls")


@pytest.fixture(scope="module")
def server(tmp_path_factory, test_pki):
    proc = start_server(tmp_path_factory.mktemp("replay"), extra_args=[
        "--server-key", str(test_pki.server.key), "--server-cert", str(test_pki.server.cert),
        "--trust-ca", str(test_pki.ca.cert)])
    yield proc
    proc.stop()


def _create_controls(source: str) -> tuple[str, etree._Element]:
    """A CreateControls request (I9: signing required) without a ReplayDetection Nonce."""
    doc = etree.Element(f"{{{CTL}}}Controls", nsmap={None: CTL})
    control = etree.SubElement(doc, f"{{{CTL}}}Control")
    mrid = m.new_message_id()
    etree.SubElement(control, f"{{{CTL}}}mRID").text = mrid
    etree.SubElement(control, f"{{{CTL}}}controlType").text = "breakerOpen"
    psr = etree.SubElement(control, f"{{{CTL}}}PowerSystemResource")
    etree.SubElement(psr, f"{{{CTL}}}mRID").text = "BREAKER-7"
    request = m.RequestMessage(header("create", "Controls", source=source), None, m.Payload(documents=[doc]))
    assert request.header.replay_detection is None
    return mrid, etree.fromstring(typed_envelope("CreateControls", "Controls", request))


def _last_inbound(server):
    store = Store(server.database_url)
    try:
        return store.journal_list(limit=1, direction="in")[0]
    finally:
        store.close()


@pytest.mark.parametrize("signer, source, rewrite", [
    ("ecdsa", "SCADA", ecdsa_negated_s),
    ("ecdsa", "SCADA", base64_spare_bits_set),
    ("mdms", "MDMS", base64_spare_bits_set),
    ("mdms", "MDMS", base64_rewrapped),
], ids=["ecdsa-n-minus-s", "ecdsa-base64-spare-bits", "rsa-base64-spare-bits", "rsa-base64-rewrapped"])
def test_a_replay_with_the_signature_value_rewritten_is_refused(server, keys, signer, source, rewrite):
    key = getattr(keys, signer)
    _, unsigned = _create_controls(source)
    data = soap.to_bytes(sign_envelope(copy.deepcopy(unsigned), key))
    first = response_message(server.post("ExecuteControls", data))
    assert first.reply.result == "OK"

    replayed = server.post("ExecuteControls", with_signature_value(data, rewrite))
    assert replayed.status_code == 500, replayed.text
    fault = fault_of(replayed)
    assert fault.code == "wsse:InvalidSecurity" and "already accepted once" in fault.reason, fault.reason
    last = _last_inbound(server)
    assert (last.outcome, last.reply_code) == ("rejected", "wsse:InvalidSecurity")

    # The control: the same Body under a fresh signature (new Timestamp) is a message of its own;
    # its MessageID was processed already, so it gets the first answer again.
    fresh = server.post("ExecuteControls", soap.to_bytes(sign_envelope(unsigned, key)))
    again = response_message(fresh)
    assert again.reply.result == "OK" and again.header.message_id == first.header.message_id


def test_copies_of_one_signed_request_sent_at_once_act_once(server, keys):
    """Six copies of one signed create, sent together: the replay memory is written inside each
    copy's own transaction, so exactly one commits; the others are refused as replays."""
    from concurrent.futures import ThreadPoolExecutor

    mrid, unsigned = _create_controls("MDMS")
    data = soap.to_bytes(sign_envelope(unsigned, keys.mdms))
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: server.post("ExecuteControls", data), range(6)))
    oks = [a for a in answers if a.status_code == 200 and response_message(a).reply.result == "OK"]
    refused = [fault_of(a) for a in answers if a.status_code == 500]
    assert len(oks) == 1, [a.text[:300] for a in answers]
    assert len(refused) == 5 and all(f.code == "wsse:InvalidSecurity" and "already accepted once" in f.reason
                                     for f in refused)
    store = Store(server.database_url)
    try:
        with store.unit_of_work() as uow:
            assert uow.object_get("Controls", mrid) is not None
        latest = store.journal_list(limit=6, direction="in")  # the six copies, each journaled
    finally:
        store.close()
    assert sorted((e.outcome, e.reply_code) for e in latest) == \
        [("processed", "0.0")] + [("rejected", "wsse:InvalidSecurity")] * 5
    assert [e.message_id for e in latest if e.outcome == "processed"] == [unsigned.findtext(".//{*}MessageID")]


def test_the_replay_memory_is_written_in_the_requests_own_transaction(tmp_path, keys, trust):
    """In process, SQLite's own trace of one signed request: one transaction holds the memory of
    its signature, the idempotency claim, the object and both journal rows (no transaction of
    the memory's own before it)."""
    from sqlalchemy import event

    from soapbus.profiles import services
    from soapbus.server import build_processor, spyne_app
    from soapbus.server.config import ServerConfig
    from soapbus.server.guard import Guard, SecurityConfig
    from soapbus.server.inbound import ArrivedRequest, SoapEndpoint

    config = ServerConfig(data_dir=tmp_path)
    store = Store(config.resolved_database_url())
    store.create_schema()
    processor = build_processor(config, store)
    guard = Guard(SecurityConfig(key=keys.server, trust=trust), replay_memory=store)
    service = next(s for s in services() if s.name == "ExecuteControls")
    endpoint = SoapEndpoint(service, spyne_app.build(service, processor), processor, guard, 10**7)
    statements: list[str] = []

    @event.listens_for(store.engine, "connect")
    def trace(dbapi_connection, _record):
        dbapi_connection.set_trace_callback(statements.append)

    store.engine.dispose()
    mrid, unsigned = _create_controls("MDMS")
    data = soap.to_bytes(sign_envelope(unsigned, keys.mdms))
    outcome = endpoint.answer(ArrivedRequest(data, "text/xml", False, "127.0.0.1"))
    assert outcome.status == 200 and b">OK<" in outcome.body
    writes = [s.split()[0] + " " + s.split()[2] if s.startswith("INSERT") else s.split()[0]
              for s in statements if s.split()[0] in ("BEGIN", "COMMIT", "ROLLBACK", "INSERT")]
    assert writes.count("BEGIN") == 1 and writes.count("COMMIT") == 1, writes
    memory_at = writes.index("INSERT replay_memory")
    assert writes[0] == "BEGIN" and writes[-1] == "COMMIT" and memory_at == 1, writes
    assert writes.count("INSERT journal") == 2 and "INSERT cim_object" in writes, writes
    # and what it committed is what refuses the copy
    again = endpoint.answer(ArrivedRequest(data, "text/xml", False, "127.0.0.1"))
    assert again.status == 500 and b"already accepted once" in again.body
    store.close()
