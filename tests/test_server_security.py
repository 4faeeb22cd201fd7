"""WS-Security on the live server: I9 signed both ways, refusals that process nothing, interop with stock zeep."""
from __future__ import annotations

import copy
from datetime import timedelta

import pytest
import xmlsec
from lxml import etree
from zeep.wsse import Compose
from zeep.wsse.signature import BinarySignature, verify_envelope
from zeep.wsse.utils import WSU, get_security_header, get_timestamp

from soapbus import message as m
from soapbus.client import Client, SecurityError
from soapbus.message import namespaces, soap
from soapbus.security import SigningKey, TrustStore, Verifier, pki, sign_62325, sign_envelope, verify_62325
from soapbus.store import Store

from .helpers import fault_of, header, meter_readings, response_message, start_server, typed_envelope

CTL = namespaces.profile_ns("Controls")


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory):
    return pki.init(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def server(tmp_path_factory, test_pki):
    proc = start_server(tmp_path_factory.mktemp("secure"), extra_args=[
        "--server-key", str(test_pki.server.key), "--server-cert", str(test_pki.server.cert),
        "--trust-ca", str(test_pki.ca.cert), "--mode-62325", "ExecuteSwitchingPlans",
        "--known-cert", str(test_pki.mdms.cert)])
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def keys(test_pki):
    return {name: SigningKey.load(getattr(test_pki, name).key, getattr(test_pki, name).cert)
            for name in ("mdms", "oms", "ecdsa", "expired", "untrusted", "selfsigned", "server")}


@pytest.fixture(scope="module")
def trust(test_pki):
    return TrustStore.from_ca_bundle(test_pki.ca.cert)


def controls(mrid: str, control_type: str = "breakerOpen") -> etree._Element:
    doc = etree.Element(f"{{{CTL}}}Controls", nsmap={None: CTL})
    ctl = etree.SubElement(doc, f"{{{CTL}}}Control")
    etree.SubElement(ctl, f"{{{CTL}}}mRID").text = mrid
    etree.SubElement(ctl, f"{{{CTL}}}controlType").text = control_type
    psr = etree.SubElement(ctl, f"{{{CTL}}}PowerSystemResource")
    etree.SubElement(psr, f"{{{CTL}}}mRID").text = "BREAKER-7"
    return doc


def create_controls(mrid: str, source: str = "MDMS", **kw):
    req = m.RequestMessage(header("create", "Controls", source=source, **kw), None,
                           m.Payload(documents=[controls(mrid)]))
    return req, etree.fromstring(typed_envelope("CreateControls", "Controls", req))


def objects(server, noun="Controls"):
    store = Store(server.database_url)
    try:
        with store.unit_of_work() as uow:
            return {o.key for o in uow.object_list(noun)}
    finally:
        store.close()


def post(server, envelope) -> object:
    data = envelope if isinstance(envelope, bytes) else soap.to_bytes(envelope)
    return server.post("ExecuteControls", data)


def test_signed_i9_round_trip_with_the_client(server, keys, trust):
    client = Client(f"{server.url}/soap/ExecuteControls", f"{server.url}/soap/GetControls", source="MDMS",
                    signing_key=keys["mdms"], trust=trust)
    mrid = m.new_message_id()
    assert client.create("Controls", controls(mrid)).result == "OK"
    assert client.get("Controls", mrid).data[0]["Control"][0]["mRID"] == mrid
    assert mrid in objects(server)


def test_ecdsa_signed_request(server, keys, trust):
    client = Client(f"{server.url}/soap/ExecuteControls", source="SCADA", signing_key=keys["ecdsa"], trust=trust)
    assert client.create("Controls", controls(m.new_message_id())).result == "OK"


@pytest.mark.parametrize("reference", ["issuer_serial", "ski"])
def test_reference_to_a_known_certificate(server, keys, trust, reference):
    client = Client(f"{server.url}/soap/ExecuteControls", source="MDMS", signing_key=keys["mdms"], trust=trust,
                    key_reference=reference)
    assert client.create("Controls", controls(m.new_message_id())).result == "OK"
    # OMS's certificate was not made known to the server: named only by reference, it cannot be checked
    unknown = Client(f"{server.url}/soap/ExecuteControls", source="OMS", signing_key=keys["oms"], trust=trust,
                     key_reference=reference)
    from soapbus.client import SoapFaultError

    with pytest.raises(SoapFaultError) as err:
        unknown.create("Controls", controls(m.new_message_id()))
    assert err.value.code == "wsse:InvalidSecurityToken"


def test_the_answer_is_signed_by_the_server_and_verifies_in_stock_zeep(server, keys, test_pki, trust):
    _, env = create_controls(m.new_message_id())
    resp = post(server, sign_envelope(env, keys["mdms"]))
    assert resp.status_code == 200, resp.text
    answer = etree.fromstring(resp.content)
    verify_envelope(copy.deepcopy(answer), str(test_pki.server.cert))  # stock zeep: raises if it fails
    assert Verifier(trust).verify(resp.content).subject_names[0] == "soapbus-server"


class ZeepTimestamp:
    """zeep never writes a wsu:Timestamp; composed before its signature, the Timestamp gets signed."""

    def apply(self, env, headers):
        now = m.now()
        get_security_header(env).append(WSU.Timestamp(
            WSU.Created(get_timestamp(now, zulu_timestamp=True)),
            WSU.Expires(get_timestamp(now + timedelta(minutes=5), zulu_timestamp=True))))
        return env, headers

    def verify(self, env):
        return env


def test_a_request_signed_by_stock_zeep_is_accepted(server, test_pki):
    mrid = m.new_message_id()
    _, env = create_controls(mrid)
    signer = BinarySignature(str(test_pki.mdms.key), str(test_pki.mdms.cert),
                             signature_method=xmlsec.Transform.RSA_SHA256, digest_method=xmlsec.Transform.SHA256)
    Compose([ZeepTimestamp(), signer]).apply(env, {})
    resp = post(server, env)
    assert response_message(resp).reply.result == "OK", resp.text
    assert mrid in objects(server)


def _refused(server, envelope, code: str, says: str):
    before = objects(server)
    resp = post(server, envelope)
    assert resp.status_code == 500, resp.text
    fault = fault_of(resp)
    assert fault.code == code and says in fault.reason, fault.reason
    assert objects(server) == before  # nothing processed
    store = Store(server.database_url)
    try:
        last = store.journal_list(limit=1, direction="in")[0]
        assert last.outcome == "rejected" and last.reply_code == code
    finally:
        store.close()


def test_unsigned_request_on_i9_is_refused(server):
    _, env = create_controls(m.new_message_id())
    _refused(server, env, "wsse:InvalidSecurity", "I9 requires a WS-Security signed request")


def test_valid_certificate_for_another_source_is_refused(server, keys):
    _, env = create_controls(m.new_message_id(), source="MDMS")
    _refused(server, sign_envelope(env, keys["oms"]), "wsse:FailedAuthentication", "claims Source 'MDMS'")


@pytest.mark.parametrize("name, code", [("expired", "wsse:InvalidSecurityToken"),
                                        ("untrusted", "wsse:InvalidSecurityToken"),
                                        ("selfsigned", "wsse:InvalidSecurityToken")])
def test_certificates_not_to_be_trusted(server, keys, name, code):
    _, env = create_controls(m.new_message_id())
    before = objects(server)
    resp = post(server, sign_envelope(env, keys[name]))
    fault = fault_of(resp)
    assert resp.status_code == 500 and fault.code.startswith("wsse:"), resp.text
    assert objects(server) == before


def test_tampered_body_is_refused(server, keys):
    mrid = m.new_message_id()
    _, env = create_controls(mrid)
    signed = soap.to_bytes(sign_envelope(env, keys["mdms"]))
    _refused(server, signed.replace(mrid.encode(), b"TAMPERED-" + mrid[9:].encode()), "wsse:FailedCheck", "")


def test_replayed_message_is_refused_and_acts_once(server, keys):
    mrid = m.new_message_id()
    _, env = create_controls(mrid)
    signed = soap.to_bytes(sign_envelope(env, keys["mdms"]))
    assert response_message(post(server, signed)).reply.result == "OK"
    _refused(server, signed, "wsse:InvalidSecurity", "replay")


def test_replayed_nonce_under_a_fresh_signature_is_refused(server, keys):
    nonce = m.ReplayDetection(m.new_message_id(), m.now())
    _, first = create_controls(m.new_message_id(), replay_detection=nonce)
    assert response_message(post(server, sign_envelope(first, keys["mdms"]))).reply.result == "OK"
    _, second = create_controls(m.new_message_id(), replay_detection=nonce)
    _refused(server, sign_envelope(second, keys["mdms"]), "wsse:InvalidSecurity", "Nonce")


def test_redelivery_with_a_fresh_signature_gets_the_first_answer(server, keys):
    req, env = create_controls(m.new_message_id())
    first = response_message(post(server, sign_envelope(copy.deepcopy(env), keys["mdms"])))
    again = response_message(post(server, sign_envelope(env, keys["mdms"])))
    assert again.header.message_id == first.header.message_id  # the same reply, signed afresh
    assert again.reply.result == "OK"


def test_client_refuses_an_answer_it_cannot_verify(server, keys, test_pki):
    other_ca = TrustStore.pinned([test_pki.oms.cert])  # trusts OMS only, not the server
    client = Client(f"{server.url}/soap/ExecuteControls", source="MDMS", signing_key=keys["mdms"], trust=other_ca)
    with pytest.raises(SecurityError) as err:
        client.create("Controls", controls(m.new_message_id()))
    assert "did not verify" in str(err.value)


def test_unsigned_fault_reaches_the_signing_client_as_a_fault(server, keys, trust):
    from soapbus.client import SoapFaultError

    client = Client(f"{server.url}/soap/ExecuteControls", source="OMS", signing_key=keys["mdms"], trust=trust)
    with pytest.raises(SoapFaultError) as err:  # signed by MDMS, claims OMS: refused, fault unsigned
        client.create("Controls", controls(m.new_message_id()))
    assert err.value.code == "wsse:FailedAuthentication"


def test_i7_accepts_unsigned_and_signed_and_signs_answers_to_signed(server, keys, trust):
    plain = Client(f"{server.url}/soap/ExecuteMeterReadings", source="MDMS")
    assert plain.create("MeterReadings", meter_readings(m.new_message_id())).result == "OK"
    signed = Client(f"{server.url}/soap/ExecuteMeterReadings", source="MDMS", signing_key=keys["mdms"], trust=trust)
    assert signed.create("MeterReadings", meter_readings(m.new_message_id())).result == "OK"


def test_62325_mode_endpoint(server, keys, trust):
    sp = namespaces.profile_ns("SwitchingPlans")
    doc = etree.Element(f"{{{sp}}}SwitchingPlans", nsmap={None: sp})
    plan = etree.SubElement(doc, f"{{{sp}}}SwitchingPlan")
    mrid = m.new_message_id()
    etree.SubElement(plan, f"{{{sp}}}mRID").text = mrid
    req = m.RequestMessage(header("create", "SwitchingPlans", source="MDMS"), None, m.Payload(documents=[doc]))
    ns = namespaces.noun_message_ns("SwitchingPlans")
    message = m.to_element(req, wrapper=f"{{{ns}}}CreateSwitchingPlans", part_ns=ns)
    body = soap.to_bytes(soap.envelope(sign_62325(message, keys["mdms"])))
    resp = server.post("ExecuteSwitchingPlans", body)
    assert resp.status_code == 200, resp.text
    answer = soap.unwrap(resp.content).message
    verified = verify_62325(answer, trust)
    assert verified.subject_names[0] == "soapbus-server"
    assert m.parse(verified.message, "ResponseMessage").reply.result == "OK"
    # the same endpoint refuses an unsigned message
    unsigned = server.post("ExecuteSwitchingPlans", soap.to_bytes(soap.envelope(
        m.to_element(req, wrapper=f"{{{ns}}}CreateSwitchingPlans", part_ns=ns))))
    assert unsigned.status_code == 500 and fault_of(unsigned).code.startswith("wsse:")


def test_verb_not_offered_for_the_noun_on_the_generic_service(server, keys):
    """Controls offer no change (an armed command is cancelled and issued anew): 2.9, even signed."""
    req = m.RequestMessage(header("change", "Controls", source="MDMS"), None,
                           m.Payload(documents=[controls(m.new_message_id())]))
    env = sign_envelope(soap.envelope(m.to_element(req)), keys["mdms"])
    reply = response_message(server.post("Operations", soap.to_bytes(env)))
    assert reply.reply.errors[0].code == "2.9" and "Controls" in reply.reply.errors[0].reason
