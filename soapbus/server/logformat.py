"""`soapbus serve --log-format json`: one JSON object per log line, with the MessageID and CorrelationID
of the request being processed when the line was logged.

The WSGI front opens a request scope (`request_scope`) around each SOAP request and binds the
message's ids as soon as it has read the Header (`bind`); every line logged in that thread until
the request ends carries them (null outside a request: start-up, the delivery worker's rounds).
The scope is a contextvar, so a thread of the pool never hands one request's ids to the next.
"""
from __future__ import annotations

import contextvars
import json
import logging
from contextlib import contextmanager
from datetime import datetime, timezone

_ids: contextvars.ContextVar[tuple[str | None, str | None]] = contextvars.ContextVar(
    "soapbus_message_ids", default=(None, None))

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_FORMATS = ("text", "json")


@contextmanager
def request_scope():
    token = _ids.set((None, None))
    try:
        yield
    finally:
        _ids.reset(token)


def bind(header) -> None:
    """The ids of the message being processed; CorrelationID falls back to the request's own MessageID,
    as the answer's will."""
    if header is None:
        return
    _ids.set((header.message_id, header.correlation_id or header.message_id))


def current_ids() -> tuple[str | None, str | None]:
    return _ids.get()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message_id, correlation_id = _ids.get()
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "message_id": message_id,
            "correlation_id": correlation_id,
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(level: str, log_format: str) -> None:
    """The root logger's one handler on stderr, in the format asked for."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


__all__ = ["JsonFormatter", "request_scope", "bind", "current_ids", "configure", "LOG_FORMATS"]
