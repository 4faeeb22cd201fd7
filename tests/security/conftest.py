import shutil
from dataclasses import dataclass

import pytest

from soapbus.security import Policy, SigningKey, TrustStore, Verifier, pki

from ..conftest import skip_or_fail
from .support import MemoryReplay


@dataclass(frozen=True)
class Keys:
    mdms: SigningKey
    oms: SigningKey
    ecdsa: SigningKey
    server: SigningKey
    expired: SigningKey
    untrusted: SigningKey
    selfsigned: SigningKey
    ca: SigningKey


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory) -> pki.Pki:
    """The test PKI, generated once per session in a temporary directory."""
    return pki.init(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def keys(test_pki) -> Keys:
    def load(ident):
        return SigningKey.load(ident.key, ident.cert)

    return Keys(load(test_pki.mdms), load(test_pki.oms), load(test_pki.ecdsa), load(test_pki.server),
                load(test_pki.expired), load(test_pki.untrusted), load(test_pki.selfsigned), load(test_pki.ca))


@pytest.fixture(scope="session")
def trust(test_pki) -> TrustStore:
    # The client certificates are "known" so IssuerSerial and SKI references can name them.
    return TrustStore.from_ca_bundle(test_pki.ca.cert, known=[test_pki.mdms.cert, test_pki.oms.cert,
                                                               test_pki.ecdsa.cert])


@pytest.fixture
def replay() -> MemoryReplay:
    return MemoryReplay()


@pytest.fixture
def verifier(trust, replay) -> Verifier:
    return Verifier(trust, Policy(require_signed_61968_header=True), replay)


@pytest.fixture(scope="session")
def xmlsec1() -> str:
    path = shutil.which("xmlsec1")
    if path is None:
        skip_or_fail("the xmlsec1 command-line tool is not installed (apt-get install xmlsec1)")
    return path
