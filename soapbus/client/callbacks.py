"""The client's callback listener: where asynchronous replies and subscribed events arrive.

A request sent with AsyncReplyFlag and ReplyAddress is acknowledged at once (0.3); its real
answer comes later as one or more `reply` messages POSTed to the ReplyAddress: PARTIAL while
more follow, then OK or FAILED. The listener collects them by CorrelationID and completes a
`concurrent.futures.Future` with the whole sequence (`asyncio.wrap_future` makes it
awaitable). Deliveries are at least once, so repeats (same MessageID) are acknowledged and
dropped. Every POST is answered with a ResponseMessage, which the sender's delivery worker
takes as delivered.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from .. import message as m
from ..message import MessageError, codes, soap
from .data import document_data
from .http_server import BackgroundHTTPServer



@dataclass
class AsyncResult:
    """Every reply of one asynchronous conversation, in arrival order."""

    replies: list[m.ResponseMessage] = field(default_factory=list)

    @property
    def result(self) -> str:
        return self.replies[-1].reply.result

    @property
    def errors(self) -> list[m.Error]:
        return [e for r in self.replies for e in r.reply.errors]

    @property
    def payload(self) -> list:
        return [doc for r in self.replies if r.payload is not None for doc in r.payload.expanded_documents()]

    @property
    def data(self) -> list:
        return [document_data(doc) for doc in self.payload]


class CallbackListener:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, path: str = "/soapbus/callback", verifier=None):
        self.path = path
        self.verifier = verifier  # a soapbus.security.Verifier when replies must be signed
        self._conversations: dict[str, tuple[Future, AsyncResult]] = {}
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self.events: list[m.EventMessage] = []
        self.duplicates = 0
        self._http = BackgroundHTTPServer(host, port, lambda path, body, headers: self.receive(body),
                                          name="soapbus-callbacks")

    @property
    def url(self) -> str:
        host, port = self._http.address
        return f"http://{host}:{port}{self.path}"

    def start(self) -> "CallbackListener":
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> "CallbackListener":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def expect(self, correlation_id: str) -> Future:
        """A Future completed when the conversation's final (not PARTIAL) reply arrives."""
        with self._lock:
            entry = self._conversations.get(correlation_id)
            if entry is None:
                entry = self._conversations[correlation_id] = (Future(), AsyncResult())
            return entry[0]

    # ------------------------------------------------------------ receiving

    def receive(self, body: bytes) -> tuple[int, bytes]:
        """Take one POSTed envelope; returns the HTTP status and the answer to send."""
        try:
            unwrapped = soap.unwrap(body)
            element = self._verified(body) if self.verifier is not None else unwrapped.message
            msg = m.parse(element)
        except MessageError as exc:
            return 500, soap.to_bytes(soap.fault("soapenv:Client", f"{exc.code}: {exc.reason}"))
        except Exception as exc:  # a verification failure: refuse, do not crash the listener
            return 500, soap.to_bytes(soap.fault("soapenv:Client", f"refused: {exc}"))
        if isinstance(msg, m.FaultMessage) or not msg.header.message_id:
            return 500, soap.to_bytes(soap.fault("soapenv:Client", "1.5: a callback needs Header/MessageID"))
        with self._lock:
            repeated = msg.header.message_id in self._seen
            self._seen.add(msg.header.message_id)
            if repeated:
                self.duplicates += 1
            elif isinstance(msg, m.ResponseMessage):
                self._record_reply(msg)
            elif isinstance(msg, m.EventMessage):
                self.events.append(msg)
        ack = m.reply_to(msg.header, m.ok())
        return 200, soap.to_bytes(soap.envelope(m.to_element(ack)))

    def _record_reply(self, reply: m.ResponseMessage) -> None:
        correlation = reply.header.correlation_id or ""
        entry = self._conversations.get(correlation)
        if entry is None:
            entry = self._conversations[correlation] = (Future(), AsyncResult())
        future, collected = entry
        collected.replies.append(reply)
        if reply.reply.result != codes.PARTIAL and not future.done():
            future.set_result(collected)

    def _verified(self, body: bytes):
        verified = self.verifier.verify(body)
        if verified.message is None:
            raise MessageError("1.8", "the signed Body holds no single message")
        return verified.message


__all__ = ["CallbackListener", "AsyncResult"]
