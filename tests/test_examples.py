"""docs/examples: a ready request for every served noun and verb, each posted to a live server.

The files are written by `soapbus sample --all docs/examples`; a noun added to the table without
its examples fails here until they are regenerated.
"""
from __future__ import annotations

import warnings

import pytest
import requests

from soapbus import message as m
from soapbus.cli.sample import expected_answer
from soapbus.profiles.examples import request_for, served_examples
from soapbus.client import Client, SoapFaultError
from soapbus.profiles import NOUNS, validate_documents
from soapbus.security import SigningKey, TrustStore

from .conftest import ROOT
from .helpers import start_server

EXAMPLES = ROOT / "docs" / "examples"
CERTS = ROOT / "certs"


def _read(example) -> m.Message:
    return m.parse(m.parse_bytes((EXAMPLES / example.file_name).read_bytes()))


def test_every_served_noun_and_verb_has_an_example_of_it():
    examples = served_examples()
    assert {e.noun for e in examples} == set(NOUNS)
    index = (EXAMPLES / "README.md").read_text()
    missing = [e.file_name for e in examples if not (EXAMPLES / e.file_name).is_file()]
    assert not missing, f"run `soapbus sample --all docs/examples`: missing {missing[:5]}"
    for example in examples:
        msg = _read(example)
        assert (msg.header.verb, msg.header.noun) == (example.verb, example.noun)
        assert msg.header.message_id is None and msg.header.source is None  # filled in by `soapbus call`
        assert f"| {example.noun} | {example.verb} | /soap/{example.service} | [{example.file_name}]" in index
        if msg.payload is not None:  # valid against the noun's profile, as the server will judge it
            assert validate_documents(example.noun, msg.payload.documents) == []
        else:
            assert [i.value for i in msg.request.ids] == [i.value for i in request_for(example).request.ids]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = start_server(tmp_path_factory.mktemp("examples"), extra_args=["--certs", str(CERTS)])
    yield proc
    proc.stop()


def test_each_example_posted_in_order_gets_its_documented_answer(server):
    key = SigningKey.load(CERTS / "client-oms.key", CERTS / "client-oms.pem")
    trust = TrustStore.from_ca_bundle(CERTS / "ca.pem")
    clients: dict[str, Client] = {}
    answers = {}
    for example in served_examples():
        client = clients.get(example.service)
        if client is None:
            client = clients[example.service] = Client(
                f"{server.url}/soap/{example.service}", source="OMS", raise_on_failed=False,
                signing_key=key if example.signed else None, trust=trust if example.signed else None)
        msg = _read(example)
        msg.header.message_id, msg.header.timestamp, msg.header.source = m.new_message_id(), m.now(), "OMS"
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # signed answers are verified, so no UnverifiedAnswer either
            try:
                result = client.send(msg)
            except SoapFaultError as fault:
                answers[example.file_name] = f"fault {fault}"
                continue
        answers[example.file_name] = " ".join([result.result, *(e.code for e in result.errors if e.code != "0.0")])
    expected = {e.file_name: expected_answer(e) for e in served_examples()}
    assert answers == expected
    # the control: the documented refusals are refusals of the built-in store's, not of the example
    assert answers["SwitchingPlans/executed.xml"] == "FAILED 2.9"
    assert answers["SwitchingPlans/create.xml"] == "OK"


def test_a_signed_interface_refuses_its_example_unsigned(server):
    """The examples of I1/I9 need the signature the README says (--certs): without it, a fault."""
    example = next(e for e in served_examples() if e.noun == "Controls" and e.verb == "create")
    client = Client(f"{server.url}/soap/{example.service}", source="OMS", raise_on_failed=False)
    msg = _read(example)
    msg.header.message_id, msg.header.timestamp, msg.header.source = m.new_message_id(), m.now(), "OMS"
    with pytest.raises(SoapFaultError) as fault:
        client.send(msg)
    assert "requires a WS-Security signed request" in fault.value.reason


def test_endpoints_json_says_which_services_require_signing_and_links_profiles_and_samples(server):
    listing = requests.get(f"{server.url}/endpoints.json", timeout=10).json()
    for entry in listing:
        if entry["service"] == "Operations":  # the generic one: optional, except for the signed nouns
            assert entry["signing"] == "optional"
            assert set(entry["signingRequiredFor"]) == {n.name for n in NOUNS.values() if n.signed_by_default}
            continue
        noun = NOUNS[entry["nouns"][0]]
        assert entry["signing"] == ("required" if noun.interface in ("I1", "I9") else "optional"), entry["service"]
        assert entry["profiles"][0] == f"{server.url}/xsd/{noun.profile_xsd}"
        assert [s["verb"] for s in entry["samples"]] == [op["verb"] for op in entry["operations"]]
    page = requests.get(f"{server.url}/", timeout=10).text
    assert page.count('<td class="signing">required') == sum(1 for e in listing if e["signing"] == "required")


def test_every_sample_link_serves_the_example_file(server):
    listing = requests.get(f"{server.url}/endpoints.json", timeout=10).json()
    links = [(s["url"], s["url"].split("/samples/", 1)[1]) for e in listing for s in e.get("samples", [])]
    assert len(links) == len(served_examples())
    for url, file_name in links:
        served = requests.get(url, timeout=10)
        assert served.status_code == 200 and served.text == (EXAMPLES / file_name).read_text(), file_name
    missing = requests.get(f"{server.url}/samples/MeterReadings/execute.xml", timeout=10)
    assert missing.status_code == 404 and "is not offered with the verb" in missing.text
