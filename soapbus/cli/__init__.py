"""The `soapbus` command: serve, call, journal, certs."""
from __future__ import annotations

import click

from .. import __version__
from .bus import outbox, routes, subscriptions
from .call import call
from .certs import certs
from .conformance import conformance
from .db import db
from .journal import journal
from .profiles import profiles
from .sample import sample
from .serve import serve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="soapbus")
def cli() -> None:
    """IEC 61968-100 over SOAP: host endpoints, call them, read the journal."""


cli.add_command(serve)
cli.add_command(call)
cli.add_command(sample)
cli.add_command(certs)
cli.add_command(subscriptions)
cli.add_command(outbox)
cli.add_command(routes)
cli.add_command(journal)
cli.add_command(conformance)
cli.add_command(db)
cli.add_command(profiles)


def main() -> None:
    cli.main(prog_name="soapbus")


__all__ = ["cli", "main"]
