"""`soapbus serve`: host every endpoint on Twisted."""
from __future__ import annotations

import logging

import click

from ..bus.delivery import RetryPolicy
from .common import DEFAULT_PORT, data_option, database_option, server_config
from .security_options import security_config, security_options


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535),
              help="TCP port (0 picks a free one).")
@data_option
@database_option
@click.option("--source", default="soapbus", show_default=True, help="Header/Source this system puts on replies.")
@click.option("--max-body", "max_body_bytes", default=8 * 1024 * 1024, show_default=True, type=click.IntRange(1024),
              help="Largest request body accepted, in bytes.")
@click.option("--handlers", "handler_modules", multiple=True, metavar="MODULE",
              help="Python module that registers business handlers on import (repeatable).")
@click.option("--page-size", default=100, show_default=True, type=click.IntRange(1),
              help="Objects per PARTIAL page of an asynchronous get.")
@click.option("--max-items", default=10_000, show_default=True, type=click.IntRange(1),
              help="A get matching more objects answers 3.1.")
@click.option("--delivery-attempts", default=8, show_default=True, type=click.IntRange(1),
              help="Attempts before an outbound message becomes a dead letter.")
@click.option("--delivery-base-delay", default=0.5, show_default=True, type=click.FloatRange(0.01),
              help="Seconds before the second delivery attempt; doubled each time, with jitter.")
@security_options
@click.option("--log-level", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
def serve(host, port, data_dir, database_url, source, max_body_bytes, handler_modules, page_size, max_items,
          delivery_attempts, delivery_base_delay, log_level, **security):
    """Start the SOAP endpoints (SQLite in the data folder unless --database is given).

    I1 and I9 require WS-Security signed requests and sign their answers: give the server a
    key (--server-key/--server-cert) and trust anchors (--trust-ca or --pin), or --certs DIR.
    """
    from ..server import run

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = server_config(data_dir, database_url, host=host, port=port, source=source,
                           max_body_bytes=max_body_bytes, handler_modules=list(handler_modules),
                           page_size=page_size, max_items=max_items,
                           delivery=RetryPolicy(max_attempts=delivery_attempts, base_delay=delivery_base_delay),
                           security=security_config(**security))

    def announce(running):
        click.echo(f"soapbus listening on {running.url}")
        click.echo(f"  discovery page:  {running.url}/")
        click.echo(f"  endpoints.json:  {running.url}/endpoints.json")
        for service in sorted({s.name for s in _services()}):
            click.echo(f"  WSDL: {running.url}/wsdl/{service}.wsdl")
        click.echo(f"  database: {config.resolved_database_url()}")
        sec = config.security
        click.echo(f"  signing required on: {', '.join(sorted(sec.signed_interfaces)) if not sec.require_signing_everywhere else 'every interface'}"
                   f"; server key: {'yes' if sec.key else 'NONE'}; trust: {'yes' if sec.trust else 'NONE'}")

    from sqlalchemy.exc import SQLAlchemyError
    from twisted.internet.error import CannotListenError

    try:
        run(config, on_ready=announce)
    except ImportError as exc:
        raise click.ClickException(f"cannot import a handler module: {exc}") from None
    except (CannotListenError, OSError) as exc:
        reason = getattr(exc, "socketError", None) or exc
        raise click.ClickException(f"cannot listen on {host}:{port}: {reason}") from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot open the database {config.resolved_database_url()}: "
                                   f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}") from None


def _services():
    from ..profiles import services

    return services()
