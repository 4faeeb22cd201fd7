"""`soapbus certs`: the test PKI."""
from __future__ import annotations

from pathlib import Path

import click


@click.group()
def certs() -> None:
    """Test certificates (for tests and demos only, never for production)."""


@certs.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Regenerate everything, even files that exist.")
def init(directory: Path, force: bool) -> None:
    """Create a test CA, a server, MDMS/OMS/ECDSA clients, an expired, an untrusted and a self-signed certificate,
    and TLS certificates: a server (localhost, 127.0.0.1, ::1) and clients for the Sources MDMS and OMS."""
    from ..security import pki

    try:
        made = pki.init(directory, force=force)
    except OSError as exc:
        raise click.ClickException(f"cannot write the test PKI into {directory}: {exc}") from None
    for name in ("ca", "server", "mdms", "oms", "ecdsa", "expired", "untrusted", "selfsigned", "tls_server",
                 "tls_mdms", "tls_oms"):
        ident = getattr(made, name)
        click.echo(f"{name:11s} {ident.cert}  {ident.key}")
    click.echo("These are test certificates: their private keys are not secret. Never use them in production.")
