"""The soapbus server: Spyne services on Twisted, the processing pipeline, the built-in CIM store.

`start()` wires everything onto a running reactor and is what tests and embedding DMSs use;
`run()` is the blocking entry point behind `soapbus serve`.
"""
from __future__ import annotations

import logging
from pathlib import Path
from dataclasses import dataclass

from ..bus.delivery import DeliveryEngine
from ..message.xml import ParseLimits
from ..store import SchemaNotCurrent, Store
from .config import ServerConfig
from .connections import EdgeLimits, default_max_connections, listening_factory
from .guard import Guard, SecurityConfig
from ..handlers import HandlerRegistry, HandlerRequest, HandlerResult, registry
from .console import ConsoleSettings
from .health import DatabaseWatch
from .metrics import Metrics
from .patterns import PatternConfig
from .pipeline import Processor
from .plugins import PluginError, handler_table
from .workers import Supervisor, WorkerListeners, WorkersError, reserve

log = logging.getLogger(__name__)


@dataclass
class Running:
    config: ServerConfig
    store: Store
    processor: Processor
    port: object | None  # twisted IListeningPort of plain HTTP; None with HTTP switched off
    delivery: DeliveryEngine
    edge: EdgeLimits  # the request deadline, idle timeout and connection limit it listens with
    database: DatabaseWatch | None = None  # whether the database answers and the schema exists
    tls_port: object | None = None  # IListeningPort of HTTPS (server/tls.py), when TLS is configured

    @property
    def http_url(self) -> str | None:
        return f"http://{self._authority(self.port)}" if self.port is not None else None

    @property
    def https_url(self) -> str | None:
        return f"https://{self._authority(self.tls_port)}" if self.tls_port is not None else None

    @property
    def url(self) -> str:
        """The plain HTTP URL, or the HTTPS one when HTTP is switched off."""
        return self.http_url or self.https_url

    def _authority(self, port) -> str:
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        return f"{host}:{port.getHost().port}"


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
                     stream_from=config.stream_from_bytes,
                     parse_limits=ParseLimits(max_elements=config.max_elements, max_depth=config.max_depth))


def edge_limits(config: ServerConfig) -> EdgeLimits:
    return EdgeLimits(request_deadline=config.request_deadline, idle_timeout=config.idle_timeout,
                      max_connections=config.max_connections or default_max_connections())


def start(config: ServerConfig, reactor=None, handlers: HandlerRegistry | None = None,
          listeners: WorkerListeners | None = None) -> Running:
    """listeners: the sockets a worker of `serve --workers` adopts instead of listening itself."""
    if reactor is None:
        from twisted.internet import reactor  # noqa: PLC0415 - the global reactor only when none is given
    from .site import build_site

    tls_options, outbound_tls = _tls_settings(config)  # certificate files read before anything starts
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
    metrics = Metrics()  # /metrics: counted and timed from outside the pipeline (server/metrics.py)
    metrics.instrument(processor, guard)
    console = ConsoleSettings(config.console_token, config.reports_dir or Path(config.data_dir) / "reports")
    site = build_site(reactor, threadpool, processor, config.max_body_bytes, guard, database,
                      metrics=metrics, console=console)
    edge = edge_limits(config)
    if listeners is not None:
        site.worker_label = str(listeners.index).encode("ascii")
    port, tls_port = _listen(reactor, config, listening_factory(site, edge, reactor), tls_options, listeners)
    broker = _broker(reactor, threadpool, store, config, outbound_tls)
    if broker is not None and config.broker_requests is not None:  # every node shares the request queue
        from .broker_requests import take_requests

        take_requests(reactor, threadpool, broker, processor, guard, config.broker_requests, config.max_body_bytes,
                      database.is_ready)
    delivery = DeliveryEngine(reactor, threadpool, store, config.delivery, signer=guard.outbound_signer(),
                              interval=config.delivery_interval, available=database.is_ready, broker=broker,
                              tls_policy=outbound_tls)
    processor.delivery = delivery  # forwarded requests are tried at once, on the reactor
    processor.forward_timeout = config.forward_timeout
    metrics.watch_delivery(delivery)
    delivery.start()
    database.start(reactor, threadpool)
    return Running(config, store, processor, port, delivery, edge, database, tls_port)


class StartupError(Exception):
    """A configuration the server cannot start with; the message says what and what to do."""


def _tls_settings(config: ServerConfig):
    """The HTTPS listener's CertificateOptions (None without --tls-cert) and the deliveries' TLS policy."""
    from ..bus.tls import OutboundTlsError, delivery_policy
    from .tls import TlsConfigError, server_options

    if not config.http and config.tls is None:
        raise StartupError("plain HTTP is switched off (--no-http) and no HTTPS is configured: give --tls-cert "
                           "and --tls-key, or drop --no-http")
    try:
        options = server_options(config.tls) if config.tls is not None else None
    except TlsConfigError as exc:
        raise StartupError(str(exc)) from None
    try:
        return options, delivery_policy(config.delivery_tls)
    except OutboundTlsError as exc:
        raise StartupError(f"TLS for deliveries: {exc}") from None


def _listen(reactor, config: ServerConfig, factory, tls_options, listeners: WorkerListeners | None = None):
    """Plain HTTP on config.port and HTTPS on config.tls.port, each as configured, behind the same
    connection limit, request deadline and idle timeout (one `factory`: the limit counts both).
    A worker of `serve --workers` listens on the addresses its supervisor reserved instead."""
    from twisted.internet.error import CannotListenError

    from .tls import tls_listening_factory

    if listeners is not None:
        port = listeners.http.adopt(reactor, factory) if listeners.http is not None else None
        tls_port = (listeners.https.adopt(reactor, tls_listening_factory(tls_options, factory))
                    if listeners.https is not None else None)
        return port, tls_port
    port = reactor.listenTCP(config.port, factory, interface=config.host) if config.http else None
    if tls_options is None:
        return port, None
    try:
        tls_port = reactor.listenTCP(config.tls.port, tls_listening_factory(tls_options, factory),
                                     interface=config.host)
    except CannotListenError as exc:
        if port is not None:
            port.stopListening()
        raise StartupError(f"cannot listen for HTTPS on {config.host}:{config.tls.port}: "
                           f"{exc.socketError or exc}") from None
    return port, tls_port


def _broker(reactor, threadpool, store: Store, config: ServerConfig, tls_policy=None):
    """The RabbitMQ relay of --broker (connecting in the background), or None."""
    if not config.broker_url:
        return None
    from ..bus.broker import BrokerRelay, keep_events_subscribed

    try:
        relay = BrokerRelay(reactor, config.broker_url, timeout=config.delivery.timeout, tls_policy=tls_policy)
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


def run(config: ServerConfig, on_ready=None, listeners: WorkerListeners | None = None) -> None:
    from twisted.internet import reactor

    running = start(config, reactor, listeners=listeners)
    if on_ready is not None:
        on_ready(running)
    reactor.run()


def run_workers(config: ServerConfig, count: int, on_ready=None, on_worker=None) -> int:
    """`serve --workers N` (server/workers.py): the configuration and the database checked once
    (StartupError), the port(s) reserved, N workers forked and kept running; returns the exit status.
    on_ready(running) runs in the first worker when it first listens; on_worker(index, pid, restarted)
    in every worker."""
    import os

    _check_before_forking(config)
    reserved = reserve(config.host, config.port if config.http else None,
                       config.tls.port if config.tls is not None else None)

    def serve_worker(index: int, restarted: bool) -> None:
        listeners = WorkerListeners(reserved.http, reserved.https, index)

        def ready(running):
            if index == 1 and not restarted and on_ready is not None:
                on_ready(running)
            if on_worker is not None:
                on_worker(index, os.getpid(), restarted)
        run(config, ready, listeners)

    return Supervisor(count, serve_worker).run()


def _check_before_forking(config: ServerConfig) -> None:
    """What every worker would refuse, refused once: TLS files, the data folder, the database URL,
    the DMS's handler modules, the schema's revision (the database is not required to answer).
    Nothing is left open: a forked worker must not share a connection or a thread with another."""
    _tls_settings(config)
    store = _open_store(config)
    try:
        build_processor(config, store)
        try:
            DatabaseWatch(store, upgrade=config.upgrade_db).open()
        except SchemaNotCurrent as exc:
            raise StartupError(str(exc)) from None
    finally:
        store.close()


__all__ = ["ServerConfig", "SecurityConfig", "start", "run", "run_workers", "WorkersError", "Running", "StartupError", "DatabaseWatch",
           "HandlerRegistry", "HandlerRequest", "HandlerResult", "registry", "build_processor"]
