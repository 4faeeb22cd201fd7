"""TLS options: `serve`'s HTTPS listener and deliveries, and the client side of `call` and `conformance run`."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import click

from ..bus.tls import OutboundTls
from ..server.tls import DEFAULT_TLS_PORT, TlsConfig

PEM = click.Path(exists=True, dir_okay=False, path_type=Path)

_SERVE_KEYS = ("tls_port", "tls_cert", "tls_key", "tls_client_ca", "tls_require_client_cert", "tls_client_identity",
               "no_http", "delivery_tls_ca", "delivery_tls_cert", "delivery_tls_key", "destination_tls")
_CLIENT_KEYS = ("tls_ca", "tls_cert", "tls_key", "insecure")


def serve_tls_options(fn):
    for option in reversed([
        click.option("--tls-cert", type=PEM, help="Serve HTTPS with this certificate (PEM; intermediates after it)."),
        click.option("--tls-key", type=PEM, help="The private key of --tls-cert (PEM, unencrypted)."),
        click.option("--tls-port", default=DEFAULT_TLS_PORT, show_default=True, type=click.IntRange(0, 65535),
                     help="HTTPS port (0 picks a free one)."),
        click.option("--tls-client-ca", type=PEM,
                     help="Ask HTTPS clients for a certificate issued by these CAs (PEM bundle) and verify it; its "
                          "subject is journaled and bound to Header/Source like a signer's (--bind)."),
        click.option("--tls-require-client-cert", is_flag=True,
                     help="Mutual TLS: refuse the handshake of a client without a certificate --tls-client-ca issued."),
        click.option("--tls-client-identity", type=click.Choice(["bind", "record"]), default="bind",
                     show_default=True,
                     help="bind: a client certificate must be bound to the message's Source (as signers are, "
                          "--bind); record: only journaled (a gateway's certificate)."),
        click.option("--no-http", is_flag=True, help="Do not listen for plain HTTP (HTTPS only; needs --tls-cert)."),
        click.option("--delivery-tls-ca", type=PEM,
                     help="CA bundle the certificates of https destinations (ReplyAddresses, subscribers, backends) "
                          "must chain to [default: the system's trust store]."),
        click.option("--delivery-tls-cert", type=PEM,
                     help="Client certificate (PEM) presented to https destinations that demand mutual TLS."),
        click.option("--delivery-tls-key", type=PEM, help="The private key of --delivery-tls-cert."),
        click.option("--destination-tls", multiple=True, metavar="https://HOST[:PORT]=ca=FILE,cert=FILE,key=FILE",
                     help="TLS for one destination origin (or amqps://HOST[:PORT] for the broker), overriding the "
                          "--delivery-tls-* defaults; any of ca, cert, key (repeatable)."),
    ]):
        fn = option(fn)
    return fn


@dataclass(frozen=True)
class ServeTls:
    """What the TLS options of `serve` ask for."""

    http: bool  # plain HTTP on --port as well
    tls: TlsConfig | None  # the HTTPS listener
    delivery_tls: OutboundTls
    bind_tls_clients: bool

    def describe(self) -> str | None:
        return self.tls.describe() if self.tls is not None else None


def take_serve_tls(options: dict) -> ServeTls:
    """Pop the TLS options out of `serve`'s keyword arguments (the rest are the security options)."""
    from ..bus.tls import DestinationTls, OutboundTlsError, parse_destination_tls
    from ..server.tls import TlsConfigError

    given = {key: options.pop(key) for key in _SERVE_KEYS}
    if bool(given["tls_cert"]) != bool(given["tls_key"]):
        raise click.UsageError("--tls-cert and --tls-key go together")
    if not given["tls_cert"]:
        for key in ("tls_client_ca", "tls_require_client_cert", "no_http"):
            if given[key]:
                raise click.UsageError(f"--{key.replace('_', '-')} needs HTTPS: give --tls-cert and --tls-key")
    try:
        tls = (TlsConfig(given["tls_cert"], given["tls_key"], given["tls_port"], given["tls_client_ca"],
                         given["tls_require_client_cert"]) if given["tls_cert"] else None)
        default = DestinationTls(given["delivery_tls_ca"], given["delivery_tls_cert"], given["delivery_tls_key"])
        origins = tuple(parse_destination_tls(text) for text in given["destination_tls"])
    except (TlsConfigError, OutboundTlsError) as exc:
        raise click.UsageError(str(exc)) from None
    return ServeTls(http=not given["no_http"], tls=tls, delivery_tls=OutboundTls(default, origins),
                    bind_tls_clients=given["tls_client_identity"] == "bind")


def client_tls_options(fn):
    for option in reversed([
        click.option("--tls-ca", type=PEM,
                     help="CA bundle (PEM) the https server's certificate must chain to [default: the system's]."),
        click.option("--tls-cert", type=PEM, help="Client certificate (PEM) for servers that demand mutual TLS."),
        click.option("--tls-key", type=PEM, help="The private key of --tls-cert (when not in the same file)."),
        click.option("--insecure", is_flag=True,
                     help="Do not verify the https server's certificate (test endpoints only; warned loudly)."),
    ]):
        fn = option(fn)
    return fn


def take_client_tls(options: dict):
    """Pop the client TLS options out of a command's keyword arguments: a ClientTls, or None."""
    from ..client.tls import INSECURE_WARNING, ClientTls, InsecureTls, TlsSetupError

    given = {key: options.pop(key) for key in _CLIENT_KEYS}
    if not any(given.values()):
        return None
    if given["insecure"]:
        click.secho(f"WARNING: --insecure: {INSECURE_WARNING}", err=True, fg="red", bold=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureTls)  # said above, once
            return ClientTls(*(str(given[key]) if given[key] else None for key in ("tls_ca", "tls_cert", "tls_key")),
                             insecure=given["insecure"])
    except TlsSetupError as exc:
        raise click.UsageError(str(exc)) from None


__all__ = ["serve_tls_options", "take_serve_tls", "ServeTls", "client_tls_options", "take_client_tls"]
