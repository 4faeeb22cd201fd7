"""`soapbus serve` options that configure message security, turned into a SecurityConfig."""
from __future__ import annotations

from pathlib import Path

import click

PEM = click.Path(exists=True, dir_okay=False, path_type=Path)


def security_options(fn):
    for option in reversed([
        click.option("--certs", "certs_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
                     help="A folder made by `soapbus certs init`: server.pem/server.key and ca.pem are used."),
        click.option("--server-cert", type=PEM, help="This server's certificate (PEM), for signing answers."),
        click.option("--server-key", type=PEM, help="This server's private key (PEM)."),
        click.option("--trust-ca", type=PEM, help="CA bundle (PEM) that signers' certificates must chain to."),
        click.option("--pin", "pins", type=PEM, multiple=True, help="Trust exactly this certificate (repeatable)."),
        click.option("--known-cert", "known_certs", type=PEM, multiple=True,
                     help="A partner's certificate, so that signatures naming it by IssuerSerial or "
                          "SubjectKeyIdentifier (no certificate in the message) can be checked (repeatable)."),
        click.option("--bind", "bindings", multiple=True, metavar="SUBJECT=SOURCE[,SOURCE...]",
                     help="Which Sources a certificate subject (CN or RFC 4514) may claim (repeatable). "
                          "Default: the certificate CN must equal Header/Source."),
        click.option("--require-signing", is_flag=True, help="Require signed requests on every interface, "
                                                             "not only I1 and I9."),
        click.option("--mode-62325", "services_62325", multiple=True, metavar="SERVICE",
                     help="Serve this service with IEC 62325-504 enveloped signatures (repeatable)."),
        click.option("--allow-sha1", is_flag=True, help="Accept SHA-1 signatures and digests (legacy partners)."),
        click.option("--timestamp-ttl", type=click.FloatRange(1), default=300.0, show_default=True,
                     help="Longest wsu:Timestamp lifetime accepted, seconds."),
        click.option("--require-signed-header", is_flag=True,
                     help="Require the 61968 Header to be inside what the signature covers."),
    ]):
        fn = option(fn)
    return fn


def _parse_bindings(bindings) -> dict | None:
    if not bindings:
        return None
    table: dict[str, set[str]] = {}
    for item in bindings:
        subject, sep, sources = item.rpartition("=")
        if not sep or not subject or not sources:
            raise click.BadParameter(f"{item!r}: write SUBJECT=SOURCE[,SOURCE...]", param_hint="--bind")
        table.setdefault(subject, set()).update(s.strip() for s in sources.split(",") if s.strip())
    return {subject: frozenset(sources) for subject, sources in table.items()}


def security_config(certs_dir, server_cert, server_key, trust_ca, pins, known_certs, bindings, require_signing,
                    services_62325, allow_sha1, timestamp_ttl, require_signed_header):
    from ..profiles import services
    from ..security import Policy, SigningKey, TrustStore
    from ..server.guard import SecurityConfig

    if certs_dir is not None:
        server_cert = server_cert or certs_dir / "server.pem"
        server_key = server_key or certs_dir / "server.key"
        trust_ca = trust_ca or certs_dir / "ca.pem"
    if bool(server_cert) != bool(server_key):
        raise click.UsageError("--server-cert and --server-key go together")
    known = {s.name for s in services()}
    for name in services_62325:
        if name not in known:
            raise click.BadParameter(f"no service named {name!r}; see /endpoints.json", param_hint="--mode-62325")
    try:
        key = SigningKey.load(server_key, server_cert) if server_key else None
        trust = None
        if trust_ca:
            trust = TrustStore.from_ca_bundle(trust_ca, known=list(known_certs))
        elif pins:
            trust = TrustStore.pinned([*pins, *known_certs])
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"cannot load the certificates or key: {exc}") from None
    policy = Policy(ttl=timestamp_ttl, allow_sha1=allow_sha1, require_signed_61968_header=require_signed_header)
    return SecurityConfig(key=key, trust=trust, policy=policy, require_signing_everywhere=require_signing,
                          binding=_parse_bindings(bindings), mode_62325=frozenset(services_62325))
