"""Fixtures for the harness's self-proof: real soapbus servers, a test PKI, a subscribed listener port."""
from __future__ import annotations

import json
import socket
import urllib.request

import pytest

from soapbus.profiles import services
from soapbus.security import SigningKey, pki

from ..helpers import start_server
from .mutants import Proxy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_urls(base: str) -> list[str]:
    """Every endpoint of a soapbus server, as a vendor would hand them over (no /endpoints.json)."""
    return [f"{base}/soap/{s.name}" for s in services()]


def subscribe(server_url: str, endpoint: str, **filters) -> dict:
    """soapbus's own admin API: how the tests subscribe the harness's listener out of band."""
    body = json.dumps({"endpoint": endpoint, **filters}).encode()
    req = urllib.request.Request(f"{server_url}/admin/subscriptions", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def unsubscribe(server_url: str, sub_id) -> None:
    req = urllib.request.Request(f"{server_url}/admin/subscriptions/{sub_id}", method="DELETE")
    urllib.request.urlopen(req, timeout=10).close()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    # the outage suite judges soapbus's outage rules, which run only when switched on
    proc = start_server(tmp_path_factory.mktemp("conformance"), extra_args=["--page-size", "3", "--rules", "outage"])
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def mutant_proxy(server):
    """A proxy in front of `server`, made a mutant per test with `mutant_proxy.acting(...)`."""
    proxy = Proxy(server.url)
    yield proxy
    proxy.close()


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory):
    return pki.init(tmp_path_factory.mktemp("conformance-pki"))


@pytest.fixture(scope="session")
def signed_server(tmp_path_factory, test_pki):
    proc = start_server(tmp_path_factory.mktemp("conformance-signed"), extra_args=[
        "--server-key", str(test_pki.server.key), "--server-cert", str(test_pki.server.cert),
        "--trust-ca", str(test_pki.ca.cert)])
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def signed_mutant_proxy(signed_server):
    """A proxy in front of `signed_server`, made a mutant per test with `signed_mutant_proxy.acting(...)`."""
    proxy = Proxy(signed_server.url)
    yield proxy
    proxy.close()


@pytest.fixture(scope="session")
def server_key(test_pki):
    return SigningKey.load(test_pki.server.key, test_pki.server.cert)


@pytest.fixture(scope="session")
def security_options(test_pki):
    """The harness signs as MDMS (its certificate's name is the Source the server binds it to)."""
    return dict(client_cert=test_pki.mdms.cert, client_key=test_pki.mdms.key, trust=test_pki.ca.cert,
                source="MDMS")
