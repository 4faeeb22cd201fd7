"""What a soapbus server is configured with; every field has a working default."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..bus.delivery import RetryPolicy
from .guard import SecurityConfig

DEFAULT_PORT = 8061


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    data_dir: Path = Path("var")
    database_url: str | None = None  # default: SQLite file soapbus.db in data_dir
    source: str = "soapbus"  # our Header/Source on replies and events
    max_body_bytes: int = 8 * 1024 * 1024
    # Header fields a request must carry beyond Verb and Noun (interop profiles require these)
    required_header_fields: tuple[str, ...] = ("MessageID", "Timestamp")
    thread_pool_size: int = 10
    handler_modules: list[str] = field(default_factory=list)  # imported at start-up to register handlers
    security: SecurityConfig = field(default_factory=SecurityConfig)
    page_size: int = 100  # objects per PARTIAL page of an asynchronous get
    max_items: int = 10_000  # a get matching more answers 3.1
    delivery: RetryPolicy = field(default_factory=RetryPolicy)
    delivery_interval: float = 0.2  # seconds between outbox polls when idle

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(Path(self.data_dir) / 'soapbus.db').resolve()}"
