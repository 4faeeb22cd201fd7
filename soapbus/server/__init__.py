"""The soapbus server: Spyne services on Twisted, the processing pipeline, the built-in CIM store.

`start()` wires everything onto a running reactor and is what tests and embedding DMSs use;
`run()` is the blocking entry point behind `soapbus serve`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from ..bus.delivery import DeliveryEngine
from ..message.xml import ParseLimits
from ..store import SchemaNotCurrent, Store
from .config import ServerConfig
from .connections import EdgeLimits, default_max_connections, listening_factory
from .guard import Guard, SecurityConfig
from ..handlers import HandlerRegistry, HandlerRequest, HandlerResult, registry
from .health import DatabaseWatch
from .patterns import PatternConfig
from .pipeline import Processor
from .plugins import PluginError, handler_table

log = logging.getLogger(__name__)


@dataclass
class Running:
    config: ServerConfig
    store: Store
    processor: Processor
    port: object  # twisted IListeningPort
    delivery: DeliveryEngine
    edge: EdgeLimits  # the request deadline, idle timeout and connection limit it listens with
    database: DatabaseWatch | None = None  # whether the database answers and the schema exists

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port.getHost().port}"


def build_processor(config: ServerConfig, store: Store, handlers: HandlerRegistry | None = None) -> Processor:
    """The pipeline with its handler table: the DMS's modules imported (StartupError naming what is
    wrong), their tables given to the store to create, the rule sets switched on, the built-in store."""
    try:
        table = handler_table(config.handler_modules, config.rules, config.source, handlers)
    except PluginError as exc:
        raise StartupError(str(exc)) from None
    for tables in table.tables:
        store.add_tables(tables)
    pattern_config = PatternConfig(page_size=config.page_size, max_items=config.max_items,
                                   signed_interfaces=config.security.signed_interfaces)
    return Processor(store, table, source=config.source, required_header_fields=config.required_header_fields,
                     pattern_config=pattern_config, max_inflated=config.max_inflated_bytes,
                     parse_limits=ParseLimits(max_elements=config.max_elements, max_depth=config.max_depth))


def edge_limits(config: ServerConfig) -> EdgeLimits:
    return EdgeLimits(request_deadline=config.request_deadline, idle_timeout=config.idle_timeout,
                      max_connections=config.max_connections or default_max_connections())


def start(config: ServerConfig, reactor=None, handlers: HandlerRegistry | None = None) -> Running:
    if reactor is None:
        from twisted.internet import reactor  # noqa: PLC0415 - the global reactor only when none is given
    from .site import build_site

    store = _open_store(config)
    processor = build_processor(config, store, handlers)  # before the schema is made: it holds the DMS's tables
    database = DatabaseWatch(store, upgrade=config.upgrade_db)
    try:
        database.open()  # a database that does not answer yet leaves it not ready; serving starts anyway
    except SchemaNotCurrent as exc:
        raise StartupError(str(exc)) from None
    threadpool = reactor.getThreadPool()
    threadpool.adjustPoolsize(maxthreads=config.thread_pool_size)
    guard = Guard(config.security, replay_memory=store)
    for problem in guard.check_ready():
        log.warning("signed interfaces %s will refuse requests: %s",
                    ", ".join(sorted(config.security.signed_interfaces)), problem)
    site = build_site(reactor, threadpool, processor, config.max_body_bytes, guard, database)
    edge = edge_limits(config)
    port = reactor.listenTCP(config.port, listening_factory(site, edge, reactor), interface=config.host)
    broker = _broker(reactor, threadpool, store, config)
    delivery = DeliveryEngine(reactor, threadpool, store, config.delivery, signer=guard.outbound_signer(),
                              interval=config.delivery_interval, available=database.is_ready, broker=broker)
    processor.delivery = delivery  # forwarded requests are tried at once, on the reactor
    processor.forward_timeout = config.forward_timeout
    delivery.start()
    database.start(reactor, threadpool)
    return Running(config, store, processor, port, delivery, edge, database)


class StartupError(Exception):
    """A configuration the server cannot start with; the message says what and what to do."""


def _broker(reactor, threadpool, store: Store, config: ServerConfig):
    """The RabbitMQ relay of --broker (connecting in the background), or None."""
    if not config.broker_url:
        return None
    from ..bus.broker import BrokerRelay, keep_events_subscribed

    try:
        relay = BrokerRelay(reactor, config.broker_url, timeout=config.delivery.timeout)
    except ValueError as exc:
        raise StartupError(f"--broker: {exc}") from None
    relay.start()
    keep_events_subscribed(reactor, threadpool, store)
    return relay


def _open_store(config: ServerConfig) -> Store:
    """The Store, its data folder made; no database round trip (DatabaseWatch.open does that)."""
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"cannot create the data folder {config.data_dir}: {exc.strerror or exc}; "
                           "give --data a folder this user may create or write") from None
    url = config.resolved_database_url()
    try:
        return Store(url)
    except OSError as exc:  # SQLite: the folder of the database file cannot be made
        raise StartupError(f"cannot create the folder of the database file {url}: {exc.strerror or exc}") from None
    except ValueError as exc:  # an unsupported or unshareable database URL
        raise StartupError(f"cannot use the database {url}: {exc}") from None


def run(config: ServerConfig, on_ready=None) -> None:
    from twisted.internet import reactor

    running = start(config, reactor)
    if on_ready is not None:
        on_ready(running)
    reactor.run()


__all__ = ["ServerConfig", "SecurityConfig", "start", "run", "Running", "StartupError", "DatabaseWatch",
           "HandlerRegistry", "HandlerRequest", "HandlerResult", "registry", "build_processor"]
