"""`soapbus subscriptions`, `soapbus routes`, `soapbus outbox`: the bus's tables, from the shell."""
from __future__ import annotations

import click

from .common import data_option, database_option, open_store

STYLE = click.Choice(["generic", "typed"])


def _echo_rows(header: tuple[str, ...], rows) -> None:
    click.echo("\t".join(header))
    for row in rows:
        click.echo("\t".join("" if v is None else str(v) for v in row))


@click.group()
def subscriptions() -> None:
    """Who receives which events (publish/subscribe)."""


@subscriptions.command("add")
@click.argument("endpoint")
@click.option("--noun", default=None, help="Only this noun (default: any).")
@click.option("--verb", default=None, help="Only this event verb, e.g. created (default: any).")
@click.option("--context", default=None, help="Only this Header/Context, e.g. PRODUCTION (default: any).")
@click.option("--signed", is_flag=True, help="Sign the events sent to this subscriber.")
@click.option("--style", type=STYLE, default="generic", show_default=True,
              help="generic: the subscriber's PublishEvent; typed: its Receive<Noun> operations.")
@data_option
@database_option
def subscriptions_add(endpoint, noun, verb, context, signed, style, data_dir, database_url):
    """Subscribe ENDPOINT to events: an http(s) URL, or queue:NAME / topic:NAME on the broker."""
    from ..store import DuplicateSubscription

    _check_url(endpoint, broker_ok=True)
    store = open_store(data_dir, database_url)
    try:
        sub = store.subscription_add(endpoint, noun=noun, verb=verb, context=context, signed=signed, style=style)
    except DuplicateSubscription:
        raise click.ClickException("that subscription exists already (same endpoint, noun, verb and context)") \
            from None
    click.echo(f"subscription {sub.id}: {endpoint} <- {noun or '*'} {verb or '*'} {context or '*'}")


@subscriptions.command("list")
@data_option
@database_option
def subscriptions_list(data_dir, database_url):
    store = open_store(data_dir, database_url)
    _echo_rows(("id", "endpoint", "noun", "verb", "context", "signed", "style"),
               [(s.id, s.endpoint, s.noun, s.verb, s.context, s.signed, s.style) for s in store.subscription_list()])


@subscriptions.command("remove")
@click.argument("subscription_id", type=int)
@data_option
@database_option
def subscriptions_remove(subscription_id, data_dir, database_url):
    store = open_store(data_dir, database_url)
    if not store.subscription_remove(subscription_id):
        raise click.ClickException(f"no subscription {subscription_id}")
    click.echo(f"subscription {subscription_id} removed")


@click.group()
def outbox() -> None:
    """Messages waiting to be delivered, and dead letters."""


@outbox.command("status")
@data_option
@database_option
def outbox_status(data_dir, database_url):
    """How many messages are pending, delivered and dead."""
    store = open_store(data_dir, database_url)
    counts = store.outbox_counts()
    click.echo("  ".join(f"{k}={counts.get(k, 0)}" for k in ("pending", "delivered", "dead", "closed")))


@outbox.command("dead")
@data_option
@database_option
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10000))
def outbox_dead(data_dir, database_url, limit):
    """List dead letters (messages that could not be delivered after every retry)."""
    store = open_store(data_dir, database_url)
    _echo_rows(("id", "destination", "kind", "noun", "verb", "MessageID", "attempts", "cause", "last_status",
                "last_error"),
               [(d.id, d.destination, d.kind, d.noun, d.verb, d.message_id, d.attempts, d.dead_cause, d.last_status,
                 d.last_error)
                for d in store.dead_letters(limit=limit)])


@outbox.command("show")
@click.argument("item_id", type=int)
@data_option
@database_option
def outbox_show(item_id, data_dir, database_url):
    """One outbox message in full."""
    store = open_store(data_dir, database_url)
    item = store.outbox_get(item_id)
    if item is None:
        raise click.ClickException(f"no outbox message {item_id}")
    click.echo(f"#{item.id} {item.status} {item.kind} to {item.destination} ({item.soap_action}) "
               f"attempts={item.attempts} last={item.last_status} {item.last_error or ''}")
    click.echo(item.body.decode("utf-8", "replace"))


@outbox.command("replay")
@click.argument("item_id", type=int, required=False)
@click.option("--destination", default=None, metavar="URL",
              help="Every dead letter to this destination (an http(s) URL, queue:NAME or topic:NAME).")
@click.option("--all", "replay_all", is_flag=True, help="Every dead letter.")
@data_option
@database_option
def outbox_replay(item_id, destination, replay_all, data_dir, database_url):
    """Put dead letters back in the queue with a new retry budget (a running server sends them).

    One by its id, every one to a --destination, or --all of them. Dead letters whose budget ran
    out are also queued again by the server itself once their destination accepts a delivery."""
    if sum((item_id is not None, destination is not None, replay_all)) != 1:
        raise click.UsageError("give one of: a dead letter id, --destination URL, or --all")
    store = open_store(data_dir, database_url)
    if item_id is not None:
        if not store.dead_letter_replay(item_id):
            item = store.outbox_get(item_id)
            state = f"it is {item.status}" if item is not None else "there is no outbox message with that id"
            raise click.ClickException(f"no dead letter {item_id}: {state}; `soapbus outbox dead` lists them")
        click.echo(f"dead letter {item_id} queued again")
        return
    queued = store.dead_letter_replay_to(destination)
    if destination is not None and not queued:
        raise click.ClickException(f"no dead letter to {destination}; `soapbus outbox dead` lists them")
    click.echo(f"{queued} dead letter(s) queued again")


@outbox.command("purge")
@click.argument("item_id", type=int, required=False)
@click.option("--all", "purge_all", is_flag=True, help="Purge every dead letter.")
@data_option
@database_option
def outbox_purge(item_id, purge_all, data_dir, database_url):
    """Delete one dead letter, or all of them with --all."""
    if (item_id is None) == (not purge_all):
        raise click.UsageError("give a dead letter id, or --all")
    store = open_store(data_dir, database_url)
    removed = store.dead_letter_purge(item_id)
    if item_id is not None and not removed:
        raise click.ClickException(f"no dead letter {item_id}")
    click.echo(f"{removed} dead letter(s) purged")


def _check_url(url: str, broker_ok: bool = False) -> None:
    schemes = ("http://", "https://", "queue:", "topic:") if broker_ok else ("http://", "https://")
    if not url.startswith(schemes) or url in schemes:
        kinds = "an http(s) URL, queue:NAME or topic:NAME (with serve --broker)" if broker_ok else "an http(s) URL"
        raise click.BadParameter(f"{url!r} is not {kinds}", param_hint="ENDPOINT")


@click.group()
def routes() -> None:
    """Where requests are forwarded (the bus role)."""


@routes.command("add")
@click.argument("noun")
@click.argument("endpoint")
@click.option("--verb", default=None, help="Only this verb (default: any).")
@click.option("--context", default=None, help="Only this Header/Context (default: any).")
@click.option("--signed", is_flag=True, help="Sign the forwarded requests.")
@click.option("--style", type=STYLE, default="generic", show_default=True,
              help="generic: the backend's Request operation; typed: its <Verb><Noun> operations.")
@data_option
@database_option
def routes_add(noun, endpoint, verb, context, signed, style, data_dir, database_url):
    """Forward requests for NOUN to ENDPOINT (an http(s) URL)."""
    from ..store import DuplicateRoute

    _check_url(endpoint)
    store = open_store(data_dir, database_url)
    try:
        route = store.route_add(noun, endpoint, verb=verb, context=context, signed=signed, style=style)
    except DuplicateRoute:
        raise click.ClickException("a route for that noun, verb and context exists already") from None
    click.echo(f"route {route.id}: {noun} {verb or '*'} {context or '*'} -> {endpoint}")


@routes.command("list")
@data_option
@database_option
def routes_list(data_dir, database_url):
    store = open_store(data_dir, database_url)
    _echo_rows(("id", "noun", "verb", "context", "endpoint", "style", "signed"),
               [(r.id, r.noun, r.verb, r.context, r.endpoint, r.style, r.signed) for r in store.route_list()])


@routes.command("remove")
@click.argument("route_id", type=int)
@data_option
@database_option
def routes_remove(route_id, data_dir, database_url):
    store = open_store(data_dir, database_url)
    if not store.route_remove(route_id):
        raise click.ClickException(f"no route {route_id}")
    click.echo(f"route {route_id} removed")
