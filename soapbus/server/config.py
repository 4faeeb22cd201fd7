"""What a soapbus server is configured with; every field has a working default."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..bus.policy import RetryPolicy
from ..bus.tls import OutboundTls
from ..message.envelope import DEFAULT_MAX_INFLATED
from ..message.xml import DEFAULT_LIMITS
from ..profiles.stream import STREAM_FROM_BYTES
from .guard import SecurityConfig
from .tls import TlsConfig

DEFAULT_PORT = 8061


@dataclass(frozen=True)
class BrokerRequests:
    """The shared request queue every node with --broker consumes (server/broker_requests.py)."""

    queue: str = "soapbus.requests"  # durable; each message a SOAP envelope (or a bare RequestMessage)
    exchange: str = "soapbus.requests"  # the topic exchange the 61968 request topics are published to
    topics: tuple[str, ...] = ("*.REQUESTS.*.*",)  # <Context>.REQUESTS.<Noun>.<verb>, bound to the queue
    prefetch: int = 10  # messages a node holds unacknowledged at once


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    http: bool = True  # listen for plain HTTP on `port`; False: HTTPS only (then `tls` is required)
    tls: TlsConfig | None = None  # the HTTPS listener (server/tls.py), beside or instead of plain HTTP
    data_dir: Path = Path("var")
    database_url: str | None = None  # default: SQLite file soapbus.db in data_dir
    upgrade_db: bool = False  # upgrade a database at an older schema revision instead of refusing it
    source: str = "soapbus"  # our Header/Source on replies and events
    max_body_bytes: int = 8 * 1024 * 1024
    max_inflated_bytes: int = DEFAULT_MAX_INFLATED  # what a Payload/Compressed may inflate to
    max_elements: int = DEFAULT_LIMITS.max_elements  # elements one message (or inflated payload) may have
    max_depth: int = DEFAULT_LIMITS.max_depth  # nesting one message may have
    # a Payload/Compressed inflating to at least this many bytes is read as a stream (profiles/stream.py)
    stream_from_bytes: int = STREAM_FROM_BYTES
    # Header fields a request must carry beyond Verb and Noun (interop profiles require these)
    required_header_fields: tuple[str, ...] = ("MessageID", "Timestamp")
    thread_pool_size: int = 10
    handler_modules: list[str] = field(default_factory=list)  # imported at start-up to register handlers
    rules: tuple[str, ...] = ()  # named event/action rule sets run as middleware (bus/rules.py RULE_SETS); off: ()
    security: SecurityConfig = field(default_factory=SecurityConfig)
    page_size: int = 100  # objects per PARTIAL page of an asynchronous get
    max_items: int = 10_000  # a get matching more answers 3.1
    delivery: RetryPolicy = field(default_factory=RetryPolicy)
    delivery_tls: OutboundTls = field(default_factory=OutboundTls)  # https destinations and amqps (bus/tls.py)
    delivery_interval: float = 0.2  # seconds between outbox polls when idle
    forward_timeout: float = 10.0  # seconds the bus role waits for a backend before answering 5.1
    broker_url: str | None = None  # amqp://...: relay queue:/topic: destinations and events through RabbitMQ
    # With broker_url, requests are also taken from this queue; None: this node takes none from the broker.
    broker_requests: BrokerRequests | None = field(default_factory=BrokerRequests)
    # The HTTP edge (server/connections.py): a whole request must arrive within request_deadline
    # seconds of its first byte (408 otherwise); a connection may sit idle between requests for
    # idle_timeout seconds; at most max_connections are open (None: min(1000, descriptor limit - 128)).
    request_deadline: float = 30.0
    idle_timeout: float = 15.0
    max_connections: int | None = None
    # The operator console at /console/ (server/console.py): loopback callers only, unless a token is
    # set that others then present; it lists the conformance reports under reports_dir (default:
    # <data_dir>/reports).
    console_token: str | None = None
    reports_dir: Path | None = None

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(Path(self.data_dir) / 'soapbus.db').resolve()}"
