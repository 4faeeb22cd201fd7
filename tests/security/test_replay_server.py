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
