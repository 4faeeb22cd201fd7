"""The harness's key material: the client key it signs with, the trust it verifies answers against,
and a throw-away certificate nobody trusts, for the wrong-certificate check."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ..security import SigningKey, TrustStore
from .errors import KeyMaterialError


@dataclass
class KeyMaterial:
    client: SigningKey | None = None
    trust: TrustStore | None = None
    _wrong: SigningKey | None = field(default=None, repr=False)

    @classmethod
    def load(cls, client_cert=None, client_key=None, trust=None, password: str | None = None) -> "KeyMaterial":
        if bool(client_cert) != bool(client_key):
            raise KeyMaterialError("--client-cert and --client-key go together")
        material = cls()
        if client_key:
            for label, path in (("client certificate", client_cert), ("client key", client_key)):
                if isinstance(path, (str, Path)) and not str(path).lstrip().startswith("-----") and not Path(path).is_file():
                    raise KeyMaterialError(f"the {label} {path} does not exist")
            try:
                material.client = SigningKey.load(client_key, client_cert, password)
            except (ValueError, TypeError, OSError) as exc:
                raise KeyMaterialError(f"cannot load the client key and certificate: {exc}") from None
        if trust:
            if isinstance(trust, (str, Path)) and not str(trust).lstrip().startswith("-----") and not Path(trust).is_file():
                raise KeyMaterialError(f"the trust bundle {trust} does not exist")
            try:
                material.trust = TrustStore.from_ca_bundle(trust)
            except (ValueError, TypeError, OSError) as exc:
                raise KeyMaterialError(f"cannot load the trust bundle {trust}: {exc}") from None
        return material

    @property
    def client_name(self) -> str:
        if self.client is None:
            return "harness"
        names = self.client.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(names[0].value) if names else "harness"

    def wrong_certificate(self) -> SigningKey:
        """A self-signed certificate under the client's own name: right name, no trust behind it."""
        if self._wrong is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "soapbus conformance (untrusted)"),
                              x509.NameAttribute(NameOID.COMMON_NAME, self.client_name)])
            now = dt.datetime.now(dt.timezone.utc)
            cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                    .serial_number(x509.random_serial_number())
                    .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
                    .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                    .sign(key, hashes.SHA256()))
            key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
            self._wrong = SigningKey.load(key_pem, cert.public_bytes(serialization.Encoding.PEM))
        return self._wrong


__all__ = ["KeyMaterial"]
