"""`soapbus journal`: what came in and went out, found, shown readable, and pruned."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import click
from rich.console import Console
from rich.table import Table

from .common import data_option, database_option, open_store


@click.group()
def journal() -> None:
    """List, show and prune journaled messages."""


COLUMNS = ("id", "time", "dir", "kind", "verb", "noun", "MessageID", "CorrelationID", "outcome", "code")


@journal.command("list")
@data_option
@database_option
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--direction", type=click.Choice(["in", "out"]), default=None)
@click.option("--outcome", default=None, help="e.g. processed, rejected, duplicate, replied")
@click.option("--noun", default=None)
@click.option("--verb", default=None)
@click.option("--source", default=None, help="Header/Source.")
@click.option("--code", "reply_code", default=None, help="Reply code, e.g. 2.4.")
def list_(data_dir, database_url, limit, direction, outcome, noun, verb, source, reply_code):
    """Newest messages first (every filter given must match)."""
    from ..store import JournalQuery

    store = open_store(data_dir, database_url)
    entries = store.journal_search(JournalQuery(direction=direction, outcome=outcome, noun=noun, verb=verb,
                                                source=source, reply_code=reply_code, limit=limit))
    rows = [_row(store, e) for e in entries]
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


def _row(store, e) -> tuple[str, ...]:
    verb, noun, message_id, correlation_id = e.verb, e.noun, e.message_id, e.correlation_id
    code = e.reply_code
    if message_id is None and e.kind in ("ResponseMessage", "EventMessage", "RequestMessage"):
        # An answer journaled as bytes only (a repeated earlier reply, a backend's answer passed on):
        # its own Header and Reply say what it is.
        msg = _message_of(store.journal_get(e.id))
        if msg is not None:
            h = msg.header
            verb, noun, message_id, correlation_id = h.verb, h.noun, h.message_id, h.correlation_id
            reply = getattr(msg, "reply", None)
            code = code or (reply.errors[0].code if reply is not None and reply.errors else None)
    return (str(e.id), e.received_at.isoformat(timespec="seconds"), e.direction, e.kind or "", verb or "",
            noun or "", message_id or "", correlation_id or "", e.outcome or "", code or "")


def _message_of(entry):
    from .. import message as m
    from ..message import MessageError, shapes, soap

    if entry is None or not entry.raw:
        return None
    try:
        return m.parse(shapes.standard(soap.unwrap(entry.raw).operation))
    except (MessageError, AttributeError):
        return None


@journal.command("show")
@data_option
@database_option
@click.option("--message-id", default=None, help="Show the messages with this MessageID.")
@click.option("--correlation-id", default=None, help="Show every message of this conversation.")
@click.option("--id", "entry_id", type=int, default=None, help="Show one journal entry by its id.")
@click.option("--raw", is_flag=True, help="Print each message's bytes exactly as they were sent, not indented.")
def show(data_dir, database_url, message_id, correlation_id, entry_id, raw):
    """Show messages in full: what they were and what became of them, then the XML, indented."""
    from ..server.console_views import pretty_xml, signature_status

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
        click.echo(f"    signature: {signature_status(e)[1]}")
        if e.reason:
            click.echo(f"    reason: {e.reason}")
        if e.related_id:
            click.echo(f"    answers #{e.related_id}")
        click.echo(e.raw.decode("utf-8", "replace") if raw else pretty_xml(e.raw).rstrip("\n"))


@journal.command("prune")
@data_option
@database_option
@click.option("--older-than", "older_than", required=True, metavar="DURATION",
              help="Delete entries received longer ago than this (seconds, or a number ending in s, m, h or d: 30d).")
def prune(data_dir, database_url, older_than):
    """Delete old journal entries. The duplicate-detection claims stay, so a late re-delivery of a
    pruned message is still answered with its recorded reply instead of acting twice."""
    from ..bus.policy import parse_duration

    try:
        seconds = parse_duration(older_than)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None
    before = datetime.now(timezone.utc) - timedelta(seconds=seconds)
    store = open_store(data_dir, database_url)
    removed = store.journal_prune(before)
    click.echo(f"deleted {removed} journal entr{'y' if removed == 1 else 'ies'} received before "
               f"{before.isoformat(timespec='seconds')}")
