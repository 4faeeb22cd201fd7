"""`soapbus journal`: what came in and went out."""
from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from .common import data_option, database_option, open_store


@click.group()
def journal() -> None:
    """List and show journaled messages."""


COLUMNS = ("id", "time", "dir", "kind", "verb", "noun", "MessageID", "CorrelationID", "outcome", "code")


@journal.command("list")
@data_option
@database_option
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--direction", type=click.Choice(["in", "out"]), default=None)
@click.option("--outcome", default=None, help="e.g. processed, rejected, duplicate, replied")
def list_(data_dir, database_url, limit, direction, outcome):
    """Newest messages first."""
    store = open_store(data_dir, database_url)
    entries = store.journal_list(limit=limit, direction=direction, outcome=outcome)
    rows = [(str(e.id), e.received_at.isoformat(timespec="seconds"), e.direction, e.kind or "", e.verb or "",
             e.noun or "", e.message_id or "", e.correlation_id or "", e.outcome or "", e.reply_code or "")
            for e in entries]
    console = Console()
    if not console.is_terminal:  # piped: whole values, tab-separated, for grep and cut
        click.echo("\t".join(COLUMNS))
        for row in rows:
            click.echo("\t".join(row))
        return
    table = Table(*COLUMNS)
    for row in rows:
        table.add_row(*row)
    console.print(table)


@journal.command("show")
@data_option
@database_option
@click.option("--message-id", default=None, help="Show the messages with this MessageID.")
@click.option("--correlation-id", default=None, help="Show every message of this conversation.")
@click.option("--id", "entry_id", type=int, default=None, help="Show one journal entry by its id.")
def show(data_dir, database_url, message_id, correlation_id, entry_id):
    """Show messages in full, raw bytes included."""
    if sum(x is not None for x in (message_id, correlation_id, entry_id)) != 1:
        raise click.UsageError("give exactly one of --message-id, --correlation-id, --id")
    store = open_store(data_dir, database_url)
    if entry_id is not None:
        found = [e for e in [store.journal_get(entry_id)] if e is not None]
    elif message_id is not None:
        found = store.journal_by_message_id(message_id)
    else:
        # A conversation is every message carrying the id, plus the request whose MessageID it echoes.
        by_id = {e.id: e for e in store.journal_by_correlation_id(correlation_id)}
        by_id.update({e.id: e for e in store.journal_by_message_id(correlation_id)})
        found = [by_id[k] for k in sorted(by_id)]
    if not found:
        raise click.ClickException("no journal entry matches")
    for e in found:
        click.echo(f"--- #{e.id} {e.direction} {e.kind} {e.verb or ''} {e.noun or ''} "
                   f"at {e.received_at.isoformat()} from {e.peer or '?'}: {e.outcome} {e.reply_code or ''}")
        click.echo(f"    MessageID={e.message_id} CorrelationID={e.correlation_id} Source={e.source}")
        if e.reason:
            click.echo(f"    reason: {e.reason}")
        click.echo(e.raw.decode("utf-8", "replace"))
