"""`soapbus serve`: host every endpoint on Twisted."""
from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import click

from ..bus.policy import RetryPolicy, parse_destination_budget, parse_duration
from ..bus.rules import RULE_SETS
from .common import DEFAULT_PORT, data_option, database_option, server_config
from .security_options import security_config, security_options
from .tls_options import serve_tls_options, take_serve_tls
from .broker_options import broker_request_options, take_broker_requests


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535),
              help="TCP port (0 picks a free one).")
@data_option
@database_option
@click.option("--upgrade-db", is_flag=True,
              help="Upgrade a database at an older schema revision (as `soapbus db upgrade`) instead of refusing it.")
@click.option("--source", default="soapbus", show_default=True, help="Header/Source this system puts on replies.")
@click.option("--max-body", "max_body_bytes", default=8 * 1024 * 1024, show_default=True, type=click.IntRange(1024),
              help="Largest request body accepted, in bytes.")
@click.option("--max-inflated", "max_inflated_bytes", default=32 * 1024 * 1024, show_default=True,
              type=click.IntRange(1024), help="Bytes a Payload/Compressed may inflate to (3.1 beyond).")
@click.option("--max-elements", default=100_000, show_default=True, type=click.IntRange(100),
              help="Elements one message may hold (3.1 beyond), counted before its tree is built.")
@click.option("--stream-from", "stream_from_bytes", default=4 * 1024 * 1024, show_default=True,
              type=click.IntRange(0),
              help="A Payload/Compressed that inflates to this many bytes or more is validated and stored as a "
                   "stream, never held as one tree (raise --max-inflated and --max-elements for large ones).")
@click.option("--max-depth", default=100, show_default=True, type=click.IntRange(16, 250),
              help="Nesting depth one message may have (1.8 beyond).")
@click.option("--handlers", "handler_modules", multiple=True, metavar="MODULE",
              help="Python module that registers business handlers on import, from the current directory or "
                   "the installed packages (repeatable); see docs/handlers.md.")
@click.option("--rules", "rule_sets", multiple=True, type=click.Choice(sorted(RULE_SETS)),
              help="Switch on a named set of event/action rules, run as middleware (repeatable); "
                   "`outage`: a meter's last gasp opens an OutageRecord, its restoration closes it. Off by default.")
@click.option("--page-size", default=100, show_default=True, type=click.IntRange(1),
              help="Objects per PARTIAL page of an asynchronous get.")
@click.option("--max-items", default=10_000, show_default=True, type=click.IntRange(1),
              help="A get matching more objects answers 3.1.")
@click.option("--delivery-budget", default="24h", show_default=True, metavar="DURATION",
              help="How long an outbound message is retried before it becomes a dead letter "
                   "(seconds, or a number ending in s, m, h or d).")
@click.option("--destination-budget", "destination_budgets", multiple=True, metavar="PREFIX=DURATION",
              help="The retry budget of destinations starting with PREFIX (repeatable; the longest prefix wins).")
@click.option("--delivery-base-delay", default=0.5, show_default=True, type=click.FloatRange(0.01),
              help="Seconds: the first retry's backoff ceiling, doubled after each attempt (full jitter).")
@click.option("--delivery-max-delay", default=300.0, show_default=True, type=click.FloatRange(0.1),
              help="Seconds: the backoff ceiling's cap.")
@click.option("--delivery-timeout", default=10.0, show_default=True, type=click.FloatRange(0.1),
              help="Seconds one delivery attempt may take (connect, send, answer).")
@click.option("--delivery-concurrency", default=8, show_default=True, type=click.IntRange(1, 1000),
              help="Messages in flight to one destination at once.")
@click.option("--delivery-lease", default=10.0, show_default=True, type=click.FloatRange(2.0),
              help="Seconds after which another node takes over the messages of a node that died.")
@click.option("--dead-letter-probe", "probe_every", default=60.0, show_default=True, type=click.FloatRange(0.1),
              help="Seconds between two tries of one expired dead letter per destination; when one gets "
                   "through, the destination's other expired dead letters are queued again.")
@click.option("--forward-timeout", default=10.0, show_default=True, type=click.FloatRange(0.1),
              help="Seconds the bus role waits for a backend before answering the caller 5.1.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 256),
              help="Server processes sharing the port(s), each using one core; a supervisor restarts one that "
                   "dies (see docs/deployment.md). On SQLite or PostgreSQL.")
@click.option("--thread-pool", "thread_pool_size", default=10, show_default=True, type=click.IntRange(2, 1000),
              help="Threads for request processing and database work.")
@click.option("--broker", "broker_url", default=None, metavar="AMQP_URL",
              help="RabbitMQ (amqp://user:password@host:5672/vhost): past-tense events go to the topic exchange "
                   "soapbus.events, ReplyAddresses queue:NAME and topic:NAME are served, and requests are taken from "
                   "the shared queue of --broker-requests.")
@click.option("--request-deadline", default=30.0, show_default=True, type=click.FloatRange(0.1),
              help="Seconds a request (line, headers and body) may take to arrive from its first byte; "
                   "later ones are answered 408 and their connection closed.")
@click.option("--idle-timeout", default=15.0, show_default=True, type=click.FloatRange(0.1),
              help="Seconds a connection may sit without a request (before the first, between kept-alive ones).")
@click.option("--max-connections", default=None, type=click.IntRange(1),
              help="Open client connections at most; past it a new one takes the place of the one idle or "
                   "still sending its request the longest, or is closed at once when all are being answered "
                   "[default: min(1000, the descriptor limit - 128)].")
@security_options
@serve_tls_options
@broker_request_options
@click.option("--log-level", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
# -- operating it: log format, the console, metrics (issue 12)
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one JSON object per line, with the MessageID and CorrelationID of the request it is about.")
@click.option("--console-token", envvar="SOAPBUS_CONSOLE_TOKEN", default=None, metavar="TOKEN",
              help="Let callers on other machines use the console (/console/) when they present TOKEN "
                   "[default: none; the console answers this machine only]. Also $SOAPBUS_CONSOLE_TOKEN.")
@click.option("--reports", "reports_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              metavar="DIR", help="Conformance report folders the console lists [default: DATA/reports].")
def serve(host, port, data_dir, database_url, upgrade_db, source, max_body_bytes, max_inflated_bytes, max_elements,
          stream_from_bytes, max_depth,
          handler_modules, rule_sets, page_size, max_items,
          delivery_budget, destination_budgets, delivery_base_delay, delivery_max_delay, delivery_timeout,
          delivery_concurrency, delivery_lease, probe_every, forward_timeout, workers, thread_pool_size, broker_url, request_deadline, idle_timeout, max_connections, log_level,
          log_format, console_token, reports_dir, **security):
    """Start the SOAP endpoints (SQLite in the data folder unless --database is given).

    I1 and I9 require WS-Security signed requests and sign their answers: give the server a
    key (--server-key/--server-cert) and trust anchors (--trust-ca or --pin), or --certs DIR.
    """
    from ..server import StartupError, WorkersError, run, run_workers

    from ..server import logformat

    logformat.configure(log_level, log_format)
    if handler_modules and os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # --handlers mydms.handlers finds the module where the command is run
    listening = take_serve_tls(security)  # HTTPS, mutual TLS and deliveries' TLS; the rest is security
    broker_requests = take_broker_requests(security, broker_url)  # the shared request queue of --broker
    security_settings = dataclasses.replace(security_config(**security), bind_tls_clients=listening.bind_tls_clients)
    config = server_config(data_dir, database_url, upgrade_db=upgrade_db, host=host, port=port, source=source,
                           max_body_bytes=max_body_bytes, max_inflated_bytes=max_inflated_bytes,
                           max_elements=max_elements, max_depth=max_depth, stream_from_bytes=stream_from_bytes,
                           handler_modules=list(handler_modules),
                           rules=tuple(rule_sets),
                           page_size=page_size, max_items=max_items,
                           delivery=_retry_policy(delivery_budget, destination_budgets, delivery_base_delay,
                                                  delivery_max_delay, delivery_timeout, delivery_concurrency,
                                                  delivery_lease, probe_every),
                           forward_timeout=forward_timeout, thread_pool_size=thread_pool_size, broker_url=broker_url,
                           broker_requests=broker_requests,
                           request_deadline=request_deadline, idle_timeout=idle_timeout, max_connections=max_connections,
                           http=listening.http, tls=listening.tls, delivery_tls=listening.delivery_tls,
                           security=security_settings, console_token=console_token, reports_dir=reports_dir)

    def announce(running):
        if running.http_url is not None:
            click.echo(f"soapbus listening on {running.http_url}")
        if running.https_url is not None:  # the pages below are served on both, each naming its own scheme
            click.echo(f"soapbus listening on {running.https_url} ({listening.describe()})")
        click.echo(f"  handlers: {_handlers_line(running.processor.registry, config.handler_modules)}")
        click.echo(f"  discovery page:  {running.url}/")
        click.echo(f"  endpoints.json:  {running.url}/endpoints.json")
        for service in sorted({s.name for s in _services()}):
            click.echo(f"  WSDL: {running.url}/wsdl/{service}.wsdl")
        click.echo(f"  database: {config.resolved_database_url()}")
        click.echo(f"  health: {running.url}/health/live  {running.url}/health/ready")
        click.echo(f"  console: {running.url}/console/ ({'this machine, or with the console token' if console_token else 'this machine only'}); "
                   f"metrics: {running.url}/metrics")
        not_ready = running.database.not_ready_reason() if running.database is not None else None
        if not_ready:  # serving anyway; the schema is created when the database answers
            click.echo(f"  database NOT READY: {not_ready} ({running.database.detail()}); "
                       "until then SOAP requests are answered 5.2 with Retry-After")
        edge = running.edge
        click.echo(f"  connections: at most {edge.max_connections}; a request must arrive within "
                   f"{edge.request_deadline:g} s; idle ones close after {edge.idle_timeout:g} s")
        sec = config.security
        click.echo(f"  signing required on: {', '.join(sorted(sec.signed_interfaces)) if not sec.require_signing_everywhere else 'every interface'}"
                   f"; server key: {'yes' if sec.key else 'NONE'}; trust: {'yes' if sec.trust else 'NONE'}")

    from sqlalchemy.exc import SQLAlchemyError
    from twisted.internet.error import CannotListenError

    def announce_worker(index: int, pid: int, restarted: bool) -> None:
        click.echo(f"  worker {index} of {workers} {'restarted' if restarted else 'serving'} (pid {pid})")

    try:
        if workers > 1:
            status = run_workers(config, workers, on_ready=announce, on_worker=announce_worker)
            if status:
                raise click.ClickException(f"stopped: a worker kept failing at start-up (see the lines above)")
        else:
            run(config, on_ready=announce)
    except WorkersError as exc:
        raise click.ClickException(str(exc)) from None
    except ImportError as exc:
        raise click.ClickException(f"cannot import a handler module: {exc}") from None
    except StartupError as exc:
        raise click.ClickException(str(exc)) from None
    except (CannotListenError, OSError) as exc:
        reason = getattr(exc, "socketError", None) or exc
        raise click.ClickException(f"cannot listen on {host}:{port}: {reason}") from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot open the database {config.resolved_database_url()}: "
                                   f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}") from None


def _handlers_line(table, modules) -> str:
    """Who answers what: the DMS's registrations and middleware, the built-in store for the rest."""
    own = [f"{r.noun} {r.verb}" for r in table.registrations]
    middleware = ", ".join(str(m) for m in table.middleware) or "none"
    source = f" from {', '.join(modules)}" if modules else ""
    return (f"{len(own)} registered{source}{': ' + ', '.join(own) if own else ''}; middleware: {middleware}; "
            "everything else: the built-in CIM store")


def _retry_policy(budget: str, destination_budgets, base_delay: float, max_delay: float, timeout: float,
                  concurrency: int, lease: float, probe_every: float) -> RetryPolicy:
    try:
        seconds = parse_duration(budget)
        per_destination = tuple(parse_destination_budget(text) for text in destination_budgets)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return RetryPolicy(budget=seconds, base_delay=base_delay, max_delay=max(max_delay, base_delay), timeout=timeout,
                       per_destination=concurrency, lease_seconds=lease, renew_every=lease / 3, probe_every=probe_every,
                       destination_budgets=per_destination)


def _services():
    from ..profiles import services

    return services()
